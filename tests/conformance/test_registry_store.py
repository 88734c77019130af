"""What the agent registry (notebook 04) relies on from the state API, on both runtimes.

dapr-agents keeps its team index in one key, ``agents:<team>:_index``, changed by every agent
with an ETag-checked first-write save and re-read on conflict. These tests pin the sidecar's side
of that: the exact answers to a refused write, that a refused write is one failed script call in
Redis (what the notebook counts), that concurrent read-modify-write loops lose nothing, and what a
registry key holding another kind of Redis value does (``WRONGTYPE``). Expected texts were taken
from daprd 1.18.2 (the project's reference build) answering the same calls.
"""

from __future__ import annotations

import json
import threading
import uuid

import grpc
import pytest
from dapr.clients.exceptions import DaprGrpcError
from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions

from cookbook.registry import failed_script_writes
from tests.conformance.conftest import Dapr

STORE = "noprefix"  # keyPrefix none, as the registry component
FIRST_WRITE = StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong)
WRONGTYPE = "WRONGTYPE Operation against a key holding the wrong kind of value"
SET_SCRIPT = "ERR Error running script (call to f_d908b9553add63a82e03589b5c6d01a7654ef0f2): @user_script:14: user_script:14"


def team() -> str:
    return f"agents:t{uuid.uuid4().hex[:8]}"


def test_refused_index_writes_answer_as_daprd(dapr: Dapr) -> None:
    key = f"{team()}:_index"
    with dapr.client() as c:
        c.save_state(STORE, key, json.dumps({"agents": ["A"]}), options=FIRST_WRITE)
        with pytest.raises(DaprGrpcError) as created_twice:   # two agents both saw no index
            c.save_state(STORE, key, json.dumps({"agents": ["B"]}), options=FIRST_WRITE)
        with pytest.raises(DaprGrpcError) as stale:           # an agent read version 1, another wrote
            c.save_state(STORE, key, json.dumps({"agents": ["A", "B"]}), etag="7", options=FIRST_WRITE)
    assert created_twice.value.code() == grpc.StatusCode.INTERNAL
    assert created_twice.value.details() == (
        f"failed saving state in state store {STORE}: failed to set key {key}: {SET_SCRIPT}: failed to set key {key}")
    assert stale.value.code() == grpc.StatusCode.ABORTED
    assert stale.value.details() == (
        f"failed saving state in state store {STORE}: possible etag mismatch. error from state store: "
        f"{SET_SCRIPT}: failed to set key {key}")
    assert json.loads(dapr.redis.hget(key, "data")) == {"agents": ["A"]}


def test_each_refused_write_is_one_failed_script_call(dapr: Dapr) -> None:
    """The notebook counts refused writes as Redis sees them: both runtimes send one script call
    per save (daprd EVAL, the local sidecar EVALSHA), failed when the check refuses it."""
    key = f"{team()}:_index"
    with dapr.client() as c:
        c.save_state(STORE, key, "{}", options=FIRST_WRITE)
        dapr.redis.config_resetstat()
        for etag in ("5", "6", None):
            with pytest.raises(DaprGrpcError):
                c.save_state(STORE, key, "{}", etag=etag, options=FIRST_WRITE)
        c.save_state(STORE, key, "{}", etag="1", options=FIRST_WRITE)
    assert failed_script_writes(dapr.redis) == 3
    assert dapr.redis.hget(key, "version") == b"2"


def test_concurrent_etag_loops_lose_no_update(dapr: Dapr) -> None:
    """Eight writers add their name to one index at once, each reading the ETag and saving with
    it, again after a refusal: every name is there once, and the version counts exactly one
    successful write per writer; every refusal the writers saw is a failed script call."""
    key = f"{team()}:_index"
    names = [f"agent{i}" for i in range(8)]
    refusals: list[str] = []
    start = threading.Barrier(len(names))
    dapr.redis.config_resetstat()

    def add(name: str) -> None:
        with dapr.client() as c:
            start.wait()
            for _ in range(200):
                got = c.get_state(STORE, key)
                agents = json.loads(got.data or b'{"agents": []}')["agents"]
                try:
                    c.save_state(STORE, key, json.dumps({"agents": agents + [name]}), etag=got.etag or None,
                                 options=FIRST_WRITE)
                    return
                except DaprGrpcError as exc:
                    refusals.append(exc.code().name)

    threads = [threading.Thread(target=add, args=(n,)) for n in names]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    stored = dapr.redis.hgetall(key)
    assert sorted(json.loads(stored[b"data"])["agents"]) == names
    assert stored[b"version"] == str(len(names)).encode()
    assert set(refusals) <= {"ABORTED", "INTERNAL"}
    assert failed_script_writes(dapr.redis) == len(refusals)


def test_registry_key_holding_a_list_is_wrongtype(dapr: Dapr) -> None:
    key = f"{team()}:_index"
    dapr.redis.rpush(key, "job-1", "job-2")  # another app's queue under a registry key name
    with dapr.client() as c:
        with pytest.raises(DaprGrpcError) as err:
            c.get_state(STORE, key)
        bulk = c.get_bulk_state(STORE, [key]).items
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert err.value.details() == f"fail to get {key} from state store {STORE}: {WRONGTYPE}"
    assert [(i.key, i.data, i.etag, i.error) for i in bulk] == [(key, b"", "", WRONGTYPE)]
    r = dapr.http.get(f"/v1.0/state/{STORE}/{key}")
    assert r.status_code == 500
    assert r.json() == {"errorCode": "ERR_STATE_GET", "message": f"fail to get {key} from state store {STORE}: {WRONGTYPE}"}
    r = dapr.http.post(f"/v1.0/state/{STORE}/bulk", json={"keys": [key]})
    assert r.status_code == 200 and r.json() == [{"key": key, "error": WRONGTYPE}]


def test_save_over_a_list_replaces_it(dapr: Dapr) -> None:
    """The write path does not refuse: the set script deletes a key that is not a hash, so a
    registry write destroys the other app's value without an error."""
    key = f"{team()}:_index"
    dapr.redis.rpush(key, "job-1", "job-2")
    with dapr.client() as c:
        c.save_state(STORE, key, json.dumps({"agents": ["A"]}), options=FIRST_WRITE)
    assert dapr.redis.type(key) == b"hash"
    assert dapr.redis.hgetall(key) == {b"data": b'{"agents": ["A"]}', b"version": b"1", b"first-write": b"0"}


def test_first_use_of_a_script_is_not_a_refused_write(dapr: Dapr) -> None:
    """After ``SCRIPT FLUSH`` (what a Redis restart does to the script cache) the local sidecar's
    first EVALSHA fails with NOSCRIPT and is sent again; the count leaves that out."""
    key = f"{team()}:_index"
    dapr.redis.script_flush()
    dapr.redis.config_resetstat()
    with dapr.client() as c:
        c.save_state(STORE, key, "{}", options=FIRST_WRITE)
        with pytest.raises(DaprGrpcError):
            c.save_state(STORE, key, "{}", etag="9", options=FIRST_WRITE)
    assert failed_script_writes(dapr.redis) == 1
