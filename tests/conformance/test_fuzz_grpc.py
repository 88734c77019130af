"""Seeded fuzzing of the gRPC state API (SaveState, GetState, GetBulkState, DeleteState,
DeleteBulkState, ExecuteStateTransaction), on daprd and on the local sidecar.

Random items (odd keys, JSON and non-JSON values with ``contentType: application/json``, bad and
odd ETags, TTLs, out-of-range option enums, unknown stores and operation types) go to both
runtimes in the same order from the same fresh state. Each answer (status code and message, or
what GetState returned) must be daprd's; data stored before the run must be unchanged and the
sidecar healthy. The one known nondeterminism, the order in which daprd joins several items'
errors (goroutine completion, localdapr/DIFFERENCES.md), is compared as a set of lines.
"""

from __future__ import annotations

import json
import os
import random
import uuid
from typing import Any, Callable

import grpc
import pytest
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2

from tests.conformance.conftest import Dapr
from tests.conformance.test_fuzz_http import _json_value, _text

SEED = 20261127

# Both runtimes' halves in one xdist worker: the local half compares its answers with daprd's,
# recorded in this process.
pytestmark = pytest.mark.xdist_group("tests/conformance/test_fuzz_grpc.py")

CASES = 300
ANSWERS: dict[str, list[tuple[Any, ...]]] = {}


def _item(rng: random.Random) -> common_pb2.StateItem:
    meta = rng.choice([{}, {"contentType": "application/json"}, {"ttlInSeconds": rng.choice(["100", "x", "-1", ""])},
                       {"contentType": "application/json", "ttlInSeconds": "100"}])
    value = rng.choice([json.dumps(_json_value(rng)).encode(), bytes(rng.randrange(256) for _ in range(rng.randint(0, 5))), b"", b"1 2", b"[1e999]"])
    item = common_pb2.StateItem(key="g" + _text(rng) if rng.random() < 0.9 else "", value=value, metadata=meta)
    if rng.random() < 0.4:
        item.etag.value = rng.choice(["1", " 1", "+1", "x", "", "99999999999999999999", "2"])
    if rng.random() < 0.3:
        item.options.concurrency = rng.choice([0, 1, 2, 7])  # type: ignore[assignment]
        item.options.consistency = rng.choice([0, 1, 2, 9])  # type: ignore[assignment]
    return item


def cases(seed: int = SEED, count: int = CASES) -> list[Callable[[dapr_pb2_grpc.DaprStub], Any]]:
    """``count`` calls, each a function of the stub; the same list for a given seed."""
    rng = random.Random(seed)
    out: list[Callable[[dapr_pb2_grpc.DaprStub], Any]] = []
    for _ in range(count):
        kind = rng.choice(["save", "get", "bulkget", "delete", "bulkdelete", "tx"])
        items = [_item(rng) for _ in range(rng.randint(0, 3))]
        store = rng.choice(["statestore"] * 8 + ["nope", "otherapp"])
        first = items[0] if items else common_pb2.StateItem()
        if kind == "save":
            req: Any = state_pb2.SaveStateRequest(store_name=store, states=items)
            out.append(lambda s, r=req: s.SaveState(r, timeout=30))
        elif kind == "get":
            req = state_pb2.GetStateRequest(store_name=store, key=first.key, metadata=dict(first.metadata))
            out.append(lambda s, r=req: s.GetState(r, timeout=30))
        elif kind == "bulkget":
            req = state_pb2.GetBulkStateRequest(store_name=store, keys=[i.key for i in items], parallelism=rng.choice([0, -1, 3]))
            out.append(lambda s, r=req: s.GetBulkState(r, timeout=30))
        elif kind == "delete":
            req = state_pb2.DeleteStateRequest(store_name=store, key=first.key, metadata=dict(first.metadata))
            if first.HasField("etag"):
                req.etag.CopyFrom(first.etag)
            if first.HasField("options"):
                req.options.CopyFrom(first.options)
            out.append(lambda s, r=req: s.DeleteState(r, timeout=30))
        elif kind == "bulkdelete":
            req = state_pb2.DeleteBulkStateRequest(store_name=store, states=items)
            out.append(lambda s, r=req: s.DeleteBulkState(r, timeout=30))
        else:
            ops = [state_pb2.TransactionalStateOperation(operationType=rng.choice(["upsert", "delete", "merge", ""]), request=i) for i in items]
            req = state_pb2.ExecuteStateTransactionRequest(storeName=store, operations=ops)
            out.append(lambda s, r=req: s.ExecuteStateTransaction(r, timeout=30))
    return out


def _answer(result: Any) -> tuple[Any, ...]:
    if isinstance(result, grpc.RpcError):
        return (result.code().name, tuple(sorted(result.details().split("\n"))))
    if isinstance(result, state_pb2.GetStateResponse):
        try:
            data: Any = json.loads(result.data)
        except ValueError:
            data = result.data
        return ("OK", json.dumps(data, sort_keys=True) if not isinstance(data, bytes) else data, result.etag)
    if isinstance(result, state_pb2.GetBulkStateResponse):
        return ("OK", tuple((i.key, i.etag, i.error) for i in result.items))
    return ("OK",)


def test_grpc_fuzz_state_api(dapr: Dapr) -> None:
    tag = uuid.uuid4().hex[:8]
    seeds = [f"seed-{tag}-{n}" for n in range(3)]
    with grpc.insecure_channel(f"127.0.0.1:{dapr.sidecar.grpc_port}") as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        stub.SaveState(state_pb2.SaveStateRequest(store_name="statestore", states=[
            common_pb2.StateItem(key=k, value=f"v{n}".encode(), metadata={"ttlInSeconds": "3600"} if n else {}) for n, k in enumerate(seeds)]))
        before = {k: dapr.redis.hgetall(f"conf-app||{k}") for k in seeds}
        answers = ANSWERS.setdefault(dapr.runtime, [])
        for call in cases():
            try:
                answers.append(_answer(call(stub)))
            except grpc.RpcError as err:
                answers.append(_answer(err))
    assert {k: dapr.redis.hgetall(f"conf-app||{k}") for k in seeds} == before
    assert dapr.http.get("/v1.0/healthz").status_code == 204
    assert len(answers) == CASES


def test_grpc_fuzz_answers_are_daprds(dapr: Dapr) -> None:
    """The local sidecar's answers are daprd's (runs on the local half, after daprd's)."""
    if dapr.runtime == "daprd":
        assert len(ANSWERS.get("daprd", [])) == CASES
        return
    daprd, local = ANSWERS.get("daprd"), ANSWERS.get("local")
    if daprd is None:
        if os.environ.get("COOKBOOK_REQUIRE_DAPRD"):  # CI: both halves must have run, side by side
            pytest.fail("daprd's half of this module did not run in this session")
        pytest.skip("daprd's half of this module did not run in this session (e.g. -k local)")
    assert local is not None
    diffs = [f"case {i}:\n  daprd {d}\n  local {l}" for i, (d, l) in enumerate(zip(daprd, local)) if d != l]
    assert not diffs, f"{len(diffs)} of {CASES} answers differ from daprd's:\n" + "\n".join(diffs[:20])
