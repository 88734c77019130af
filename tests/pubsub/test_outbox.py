"""The transactional outbox (``outboxPublishPubsub``/``outboxPublishTopic`` on a state store):
what daprd 1.18.2 saves, publishes (first to ``<namespace><app><topic>outbox``, then to the user
topic) and writes to Redis, checked on both runtimes."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Iterator

import grpc
import httpx
import pytest
from dapr.clients.grpc._request import TransactionalStateOperation

from cookbook.processes import wait_until
from cookbook.redis_server import RedisServer
from tests.conformance.conftest import component
from tests.runtimes import local_only
from tests.stacks import SidecarStack, start_stack

APP = "obapp"
INTERNAL = f"default{APP}testoutbox"
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def resources(folder: Path, server: RedisServer) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    addr = server.address
    (folder / "pubsub.yaml").write_text(component("pubsub", "pubsub.redis", {"redisHost": addr}) + "---\n" + component(
        "shortps", "pubsub.redis", {"redisHost": addr, "processingTimeout": "1000", "redeliverInterval": "300"}))
    docs = [
        component("statestore", "state.redis", {"redisHost": addr, "actorStateStore": "true", "outboxPublishPubsub": "pubsub",
                                                "outboxPublishTopic": "test"}),
        # The user's pubsub does not exist: phase 2 fails, so the outbox row is never deleted.
        component("nopub", "state.redis", {"redisHost": addr, "outboxPublishPubsub": "missing", "outboxPubsub": "pubsub",
                                           "outboxPublishTopic": "stuck"}),
        # An internal pubsub whose processingTimeout (1 s) is not longer than the 1 s state-scan delay.
        component("shortstore", "state.redis", {"redisHost": addr, "outboxPublishPubsub": "pubsub", "outboxPubsub": "shortps",
                                                "outboxPublishTopic": "short"}),
        # The internal pubsub does not exist: the transaction itself fails.
        component("badinternal", "state.redis", {"redisHost": addr, "outboxPublishPubsub": "pubsub", "outboxPubsub": "nope",
                                                 "outboxPublishTopic": "never"}),
    ]
    (folder / "state.yaml").write_text("---\n".join(docs))
    return folder


@pytest.fixture(scope="module")
def stack(dapr_runtime: str) -> Iterator[SidecarStack]:
    st = start_stack(APP, resources, dapr_runtime)
    yield st
    st.stop()


def _events(stack: SidecarStack, topic: str) -> list[dict[str, Any]]:
    out = []
    for _, fields in stack.redis.xrange(topic):
        assert set(fields) == {b"data"}  # published with nil metadata: no metadata field
        out.append(json.loads(fields[b"data"]))
    return out


def _outbox_rows(stack: SidecarStack) -> list[str]:
    return sorted(k.decode() for k in stack.redis.keys("outbox-*"))


def test_projection_is_published_while_the_original_is_saved(stack: SidecarStack) -> None:
    """The python-sdk state_store example: key1 reads ``val1``; the event carries ``val2``."""
    before = stack.redis.xlen("test") if stack.redis.exists("test") else 0
    with stack.client() as d:
        d.execute_state_transaction(store_name="statestore", operations=[
            TransactionalStateOperation(key="key1", data="val1", metadata={"outbox.projection": "false"}),
            TransactionalStateOperation(key="key1", data="val2", metadata={"outbox.projection": "true"}),
        ])
        assert d.get_state(store_name="statestore", key="key1").data == b"val1"
    assert stack.redis.hgetall(f"{APP}||key1") == {b"data": b"val1", b"version": b"1"}
    wait_until(lambda: stack.redis.exists("test") and stack.redis.xlen("test") == before + 1)
    event = _events(stack, "test")[-1]
    assert event["data"] == "val2" and event["datacontenttype"] == "text/plain"
    assert event["id"].startswith("outbox-") and event["topic"] == "test" and event["pubsubname"] == "pubsub"
    assert event["source"] == APP and event["type"] == "com.dapr.event.sent" and event["specversion"] == "1.0"
    assert event["outbox.projection"] == "false"  # the saved operation's metadata, copied into the event
    assert event["traceid"] == event["traceparent"] == event["tracestate"] == ""
    # Phase 1: the same event on the internal topic, with an empty topic, read by the app's group.
    internal = {e["id"]: e for e in _events(stack, INTERNAL)}[event["id"]]
    assert {**internal, "topic": "test"} == event and internal["topic"] == ""
    assert [g["name"] for g in stack.redis.xinfo_groups(INTERNAL)] == [APP.encode()]
    # Phase 2 deletes the outbox row once the event is out.
    wait_until(lambda: f"{event['id']}" not in _outbox_rows(stack))


def test_http_values_metadata_and_trace(stack: SidecarStack) -> None:
    base = f"http://127.0.0.1:{stack.sidecar.http_port}"
    values = {"h1": {"b": 2, "a": [1, 2.5]}, "h2": "str", "h3": 12345678.5, "h4": None, "h5": True, "h6": 100000}
    ops = [{"operation": "upsert", "request": {"key": k, "value": v}} for k, v in values.items()]
    ops[1]["request"]["metadata"] = {"m": "1", "id": "not-the-id", "data": "not-the-data", "topic": "overridden"}
    ops.append({"operation": "delete", "request": {"key": "gone"}})  # deletes publish nothing
    r = httpx.post(f"{base}/v1.0/state/statestore/transaction?metadata.qm=q", json={"operations": ops, "metadata": {"txm": "z"}},
                   headers={"traceparent": TRACEPARENT})
    assert r.status_code == 204, r.text
    expected = {"map[a:[1 2.5] b:2]", "str", "1.23456785e+07", "<nil>", "true", "100000"}  # Go's %v
    wait_until(lambda: expected <= {e["data"] for e in _events(stack, "test")})
    events = {e["data"]: e for e in _events(stack, "test") if e["data"] in expected}
    assert len(events) == 6
    for event in events.values():
        assert event["traceid"] == TRACEPARENT and event["traceparent"] == "" and event["datacontenttype"] == "text/plain"
        assert "txm" not in event  # the body's transaction metadata is not the operation's...
        assert event["qm"] == "q"  # ...but daprd copies the query string's into every operation
    tagged = events["str"]
    assert tagged["m"] == "1" and tagged["id"].startswith("outbox-") and tagged["topic"] == "test"
    internal = {e["id"]: e for e in _events(stack, INTERNAL)}[tagged["id"]]
    assert internal["topic"] == "overridden"  # copied in phase 1, replaced in phase 2
    assert json.loads(stack.redis.hget(f"{APP}||h1", "data")) == {"b": 2, "a": [1, 2.5]}


def test_outbox_row_as_written_with_the_transaction(stack: SidecarStack) -> None:
    """With the user's pubsub missing, phase 2 fails before deleting: the row stays as written."""
    before = set(_outbox_rows(stack))
    with stack.client() as d:
        d.execute_state_transaction(store_name="nopub", operations=[TransactionalStateOperation(key="k", data="v")])
    wait_until(lambda: stack.redis.exists(f"default{APP}stuckoutbox")
               and stack.redis.xinfo_groups(f"default{APP}stuckoutbox")[0]["pending"] == 0
               and stack.redis.xinfo_groups(f"default{APP}stuckoutbox")[0]["last-delivered-id"] != b"0-0", timeout=40)
    (event,) = _events(stack, f"default{APP}stuckoutbox")
    assert event["pubsubname"] == "pubsub" and event["data"] == "v"
    rows = set(_outbox_rows(stack)) - before
    assert rows == {event["id"]}
    row = event["id"]
    assert stack.redis.hgetall(row) == {b"data": b'"0"', b"version": b"1"} and stack.redis.ttl(row) == -1
    assert not stack.redis.exists("stuck")


def test_failed_redis_transaction_still_publishes(stack: SidecarStack) -> None:
    """Redis has no rollback: the outbox row of a transaction that failed on an ETag is written
    anyway, so its event goes out (what daprd 1.18 does on state.redis)."""
    with stack.client() as d:
        d.save_state("statestore", "etagged", "v0")
        with pytest.raises(Exception) as info:
            d.execute_state_transaction(store_name="statestore", operations=[
                TransactionalStateOperation(key="etagged", data="v1", etag="999"),
                TransactionalStateOperation(key="fresh", data="committed-anyway"),
            ])
        assert "error while executing state transaction" in str(info.value)
        assert d.get_state("statestore", "fresh").data == b"committed-anyway"
    wait_until(lambda: {"v1", "committed-anyway"} <= {e["data"] for e in _events(stack, "test")})


def test_internal_publish_failure_fails_the_transaction(stack: SidecarStack) -> None:
    with stack.client() as d:
        with pytest.raises(Exception) as info:
            d.execute_state_transaction(store_name="badinternal", operations=[TransactionalStateOperation(key="bi", data="v")])
        err = info.value
        assert err.code() == grpc.StatusCode.INTERNAL  # type: ignore[attr-defined]
        assert err.details() == "error while publishing outbox message: pubsub 'nope' not found"  # type: ignore[attr-defined]
        assert d.get_state("badinternal", "bi").data == b""
    base = f"http://127.0.0.1:{stack.sidecar.http_port}"
    r = httpx.post(f"{base}/v1.0/state/badinternal/transaction", json={"operations": [
        {"operation": "upsert", "request": {"key": "bi", "value": "v"}}]})
    assert r.status_code == 500
    assert r.json() == {"errorCode": "ERR_PUBLISH_OUTBOX", "message": "error while publishing outbox message: pubsub 'nope' not found",
                        "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "dapr.io",
                                     "metadata": {"appID": APP, "error": "pubsub 'nope' not found"}, "reason": "DAPR_PUBSUB_OUTBOX"}]}


def test_processing_timeout_not_above_the_scan_delay_never_publishes(stack: SidecarStack) -> None:
    """Phase 2 waits 1 s before it looks the row up, inside the component's processingTimeout:
    with 1 s the context has expired, so the message is left pending and redelivered, and the
    event never reaches the user topic (daprd 1.18.2 does the same)."""
    with stack.client() as d:
        d.execute_state_transaction(store_name="shortstore", operations=[TransactionalStateOperation(key="s", data="v")])
    internal = f"default{APP}shortoutbox"

    def redelivered() -> bool:
        if not stack.redis.exists(internal) or not stack.redis.xinfo_groups(internal):
            return False
        pending = stack.redis.xpending_range(internal, APP, min="-", max="+", count=10)
        return len(pending) == 1 and pending[0]["times_delivered"] >= 3

    wait_until(redelivered, timeout=40)
    assert not stack.redis.exists("short")
    (event,) = _events(stack, internal)
    assert stack.redis.exists(event["id"])  # the row stays: nothing deletes it


def test_projections_are_removed_as_daprd_removes_them(stack: SidecarStack) -> None:
    """daprd deletes projections from the slice it is ranging over: in [P1, P2, A1, A2] the
    second projection is skipped, so it is saved and published as an operation of its own."""
    projection = {"outbox.projection": "true"}
    with stack.client() as d:
        d.execute_state_transaction(store_name="statestore", operations=[
            TransactionalStateOperation(key="pk1", data="p1", metadata=projection),
            TransactionalStateOperation(key="pk2", data="p2", metadata=projection),
            TransactionalStateOperation(key="pk1", data="a1"),
            TransactionalStateOperation(key="pk2", data="a2"),
        ])
        assert d.get_state("statestore", "pk1").data == b"a1" and d.get_state("statestore", "pk2").data == b"a2"
    wait_until(lambda: {"p1", "p2", "a2"} <= {e["data"] for e in _events(stack, "test")})
    published = {e["data"]: e for e in _events(stack, "test") if e["data"] in ("p1", "p2", "a1", "a2")}
    assert set(published) == {"p1", "p2", "a2"}  # pk1 carries its projection; pk2's projection went out as itself
    assert published["p2"]["outbox.projection"] == "true" and "outbox.projection" not in published["p1"]


@local_only("daprd 1.18.2 panics and exits on this transaction")
def test_projection_order_that_crashes_daprd_is_refused(stack: SidecarStack) -> None:
    projection = {"outbox.projection": "true"}
    with stack.client() as d:
        with pytest.raises(Exception) as info:
            d.execute_state_transaction(store_name="statestore", operations=[
                TransactionalStateOperation(key="c3", data="a3"),
                TransactionalStateOperation(key="c3", data="p3", metadata=projection),
                TransactionalStateOperation(key="c4", data="p4", metadata=projection),
            ])
        assert info.value.code() == grpc.StatusCode.INTERNAL  # type: ignore[attr-defined]
        assert "make daprd 1.18 panic" in info.value.details()  # type: ignore[attr-defined]
        assert d.get_state("statestore", "c3").data == b""
