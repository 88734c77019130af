"""Distributed lock (alpha) on ``lock.redis``: TryLockAlpha1 / UnlockAlpha1 over gRPC and HTTP.

Expectations are daprd 1.18.2's answers (run, and pkg/api/universal/lock.go, pkg/api/http/lock.go,
components-contrib lock/redis): same statuses, same Redis rows, same validation errors.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import grpc
import httpx
import pytest
import redis
from dapr.proto.runtime.v1 import dapr_pb2_grpc
from dapr.proto.runtime.v1 import lock_pb2 as pb

from cookbook.ports import PortBlock, free_port_block
from cookbook.redis_server import RedisServer
from cookbook.services import use_sidecar_in_this_process
from cookbook.sidecar import Sidecar
from tests.conformance.conftest import component

APP = "lock-app"


@dataclass
class LockStack:
    sidecar: Sidecar
    redis: redis.Redis
    http: httpx.Client
    stub: dapr_pb2_grpc.DaprStub


@pytest.fixture(scope="module")
def lk(dapr_runtime: str) -> Iterator[LockStack]:
    tmp = Path(tempfile.mkdtemp(prefix="conformance-lock-"))
    ports = free_port_block(20)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    res = tmp / "resources"
    res.mkdir()
    docs = [
        component("lockstore", "lock.redis", {"redisHost": server.address}),
        component("byname", "lock.redis", {"redisHost": server.address, "keyPrefix": "name"}),
        component("noprefix", "lock.redis", {"redisHost": server.address, "keyPrefix": "none"}),
        component("custom", "lock.redis", {"redisHost": server.address, "keyPrefix": "MyPrefix"}),
    ]
    (res / "locks.yaml").write_text("---\n".join(docs))
    sidecar = Sidecar(APP, [res], ports, tmp / "run", runtime=dapr_runtime, actors=False)
    try:
        sidecar.start()
        with httpx.Client(base_url=f"http://127.0.0.1:{sidecar.http_port}", timeout=10) as http, \
                grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}") as channel:
            yield LockStack(sidecar, server.client(), http, dapr_pb2_grpc.DaprStub(channel))
    finally:
        sidecar.stop()
        server.stop()
        ports.release()
        shutil.rmtree(tmp, ignore_errors=True)


def error_of(call) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_try_lock_and_unlock_statuses_and_redis_rows(lk: LockStack) -> None:
    lk.redis.flushdb()
    assert lk.stub.TryLockAlpha1(pb.TryLockRequest(store_name="lockstore", resource_id="r1", lock_owner="o1", expiry_in_seconds=30)).success
    key = f"lock||{APP}||r1"  # daprd's default key prefix: lock||<app id>||<resource>
    assert lk.redis.get(key) == b"o1" and 0 < lk.redis.ttl(key) <= 30
    assert not lk.stub.TryLockAlpha1(pb.TryLockRequest(store_name="lockstore", resource_id="r1", lock_owner="o2", expiry_in_seconds=30)).success
    unlock = lk.stub.UnlockAlpha1
    assert unlock(pb.UnlockRequest(store_name="lockstore", resource_id="r1", lock_owner="o2")).status == pb.UnlockResponse.LOCK_BELONGS_TO_OTHERS
    assert unlock(pb.UnlockRequest(store_name="lockstore", resource_id="r1", lock_owner="o1")).status == pb.UnlockResponse.SUCCESS
    assert lk.redis.get(key) is None
    assert unlock(pb.UnlockRequest(store_name="lockstore", resource_id="r1", lock_owner="o1")).status == pb.UnlockResponse.LOCK_DOES_NOT_EXIST


def test_key_prefix_strategies(lk: LockStack) -> None:
    lk.redis.flushdb()
    for store in ("byname", "noprefix", "custom"):
        assert lk.stub.TryLockAlpha1(pb.TryLockRequest(store_name=store, resource_id="res", lock_owner="o", expiry_in_seconds=30)).success
    assert sorted(k.decode() for k in lk.redis.keys("*")) == ["lock||byname||res", "lock||myprefix||res", "lock||res"]


def test_unlock_of_another_type_is_internal_error_with_redis_text(lk: LockStack) -> None:
    """contrib's Lua script hits WRONGTYPE: INTERNAL ``failed to release lock: ERR Error running
    script (call to f_<sha1>): ...`` (the same script, so the same SHA1 on both runtimes)."""
    lk.redis.flushdb()
    lk.redis.hset(f"lock||{APP}||h", "a", "b")
    assert not lk.stub.TryLockAlpha1(pb.TryLockRequest(store_name="lockstore", resource_id="h", lock_owner="o", expiry_in_seconds=5)).success
    code, message = error_of(lambda: lk.stub.UnlockAlpha1(pb.UnlockRequest(store_name="lockstore", resource_id="h", lock_owner="o")))
    assert code == grpc.StatusCode.INTERNAL
    assert message == ("failed to release lock: ERR Error running script (call to f_08741c111900b6318ee3f60cb3c2fa1f6c74d859): "
                       "@user_script:1: WRONGTYPE Operation against a key holding the wrong kind of value")


@pytest.mark.parametrize(
    ("request_", "expected"),
    [
        (pb.TryLockRequest(store_name="nosuch", resource_id="r", lock_owner="o", expiry_in_seconds=0), "ExpiryInSeconds is not positive in lock store nosuch"),
        (pb.TryLockRequest(store_name="lockstore", expiry_in_seconds=-1), "ExpiryInSeconds is not positive in lock store lockstore"),
        (pb.TryLockRequest(store_name="nosuch", lock_owner="o", expiry_in_seconds=10), "ResourceId is empty in lock store nosuch"),
        (pb.TryLockRequest(store_name="lockstore", resource_id="r", expiry_in_seconds=10), "LockOwner is empty in lock store lockstore"),
        (pb.TryLockRequest(store_name="nosuch", resource_id="r", lock_owner="o", expiry_in_seconds=10), "lock store nosuch not found"),
        (pb.UnlockRequest(store_name="lockstore", resource_id="r"), "LockOwner is empty in lock store lockstore"),
        (pb.UnlockRequest(store_name="nosuch", resource_id="r", lock_owner="o"), "lock store nosuch not found"),
    ],
)
def test_validation_in_daprds_order(lk: LockStack, request_, expected: str) -> None:  # type: ignore[no-untyped-def]
    call = lk.stub.TryLockAlpha1 if isinstance(request_, pb.TryLockRequest) else lk.stub.UnlockAlpha1
    assert error_of(lambda: call(request_)) == (grpc.StatusCode.INVALID_ARGUMENT, expected)


def test_resource_with_separator_is_internal(lk: LockStack) -> None:
    try_ = lambda: lk.stub.TryLockAlpha1(pb.TryLockRequest(store_name="lockstore", resource_id="a||b", lock_owner="o", expiry_in_seconds=5))  # noqa: E731
    assert error_of(try_) == (grpc.StatusCode.INTERNAL, "failed to try acquiring lock: input key/keyPrefix 'a||b' can't contain '||'")
    unlock = lambda: lk.stub.UnlockAlpha1(pb.UnlockRequest(store_name="lockstore", resource_id="a||b", lock_owner="o"))  # noqa: E731
    assert error_of(unlock) == (grpc.StatusCode.INTERNAL, "failed to release lock: input key/keyPrefix 'a||b' can't contain '||'")


def test_http_lock_and_unlock(lk: LockStack) -> None:
    """Alpha routes only; protojson bodies (JSON or proto names, numbers as strings, unknown
    fields ignored); unlock's status as a number."""
    lk.redis.flushdb()
    lock = "/v1.0-alpha1/lock/lockstore"
    first = lk.http.post(lock, json={"resourceId": "hr", "lockOwner": "o", "expiryInSeconds": 5, "ignored": 1})
    assert (first.status_code, first.headers["content-type"], first.json()) == (200, "application/json", {"success": True})
    assert lk.http.post(lock, json={"resource_id": "hr", "lock_owner": "x", "expiry_in_seconds": "5"}).json() == {"success": False}
    other = lk.http.post("/v1.0-alpha1/unlock/lockstore", json={"resourceId": "hr", "lockOwner": "x"})
    assert (other.status_code, other.json()) == (200, {"status": 2})
    assert lk.http.post("/v1.0-alpha1/unlock/lockstore", json={"resourceId": "hr", "lockOwner": "o"}).json() == {"status": 0}
    assert lk.http.post("/v1.0-alpha1/unlock/lockstore", json={"resourceId": "hr", "lockOwner": "o"}).json() == {"status": 1}


@pytest.mark.parametrize(
    ("path", "body", "status", "error"),
    [
        ("/v1.0-alpha1/lock/nosuch", {"resourceId": "r", "lockOwner": "o", "expiryInSeconds": 5}, 400, {"errorCode": "ERR_LOCK_STORE_NOT_FOUND", "message": "lock store nosuch not found"}),
        ("/v1.0-alpha1/lock/lockstore", {"resourceId": "r", "lockOwner": "o"}, 400, {"errorCode": "ERR_MALFORMED_REQUEST", "message": "ExpiryInSeconds is not positive in lock store lockstore"}),
        ("/v1.0-alpha1/lock/lockstore", None, 400, {"errorCode": "ERR_MALFORMED_REQUEST", "message": "ExpiryInSeconds is not positive in lock store lockstore"}),
        ("/v1.0-alpha1/lock/lockstore", {"resourceId": "r", "expiryInSeconds": 5}, 400, {"errorCode": "ERR_MALFORMED_REQUEST", "message": "LockOwner is empty in lock store lockstore"}),
        ("/v1.0-alpha1/unlock/lockstore", {"resourceId": "a||b", "lockOwner": "o"}, 500, {"errorCode": "ERR_UNLOCK", "message": "failed to release lock: input key/keyPrefix 'a||b' can't contain '||'"}),
    ],
)
def test_http_errors(lk: LockStack, path: str, body: object, status: int, error: dict[str, str]) -> None:
    resp = lk.http.post(path, json=body) if body is not None else lk.http.post(path, content=b"")
    assert (resp.status_code, resp.json()) == (status, error)


def test_http_body_that_is_not_json_is_malformed(lk: LockStack) -> None:
    """The message after the prefix is the JSON parser's own (protojson's on daprd)."""
    resp = lk.http.post("/v1.0-alpha1/lock/lockstore", content=b"{nope")
    assert resp.status_code == 400 and resp.json()["errorCode"] == "ERR_MALFORMED_REQUEST"
    assert resp.json()["message"].startswith("failed deserializing HTTP body: ")


def test_no_lock_store_is_not_configured(ports: PortBlock, tmp_path: Path, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "e.yaml").write_text(component("env", "secretstores.local.env", {}))
    sidecar = sidecar_factory("no-lock", tmp_path, actors=False)
    with grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}") as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        call = lambda: stub.TryLockAlpha1(pb.TryLockRequest(store_name="x", resource_id="r", lock_owner="o", expiry_in_seconds=5))  # noqa: E731
        assert error_of(call) == (grpc.StatusCode.FAILED_PRECONDITION, "lock store is not configured")
    resp = httpx.post(f"http://127.0.0.1:{sidecar.http_port}/v1.0-alpha1/unlock/x", json={"resourceId": "r", "lockOwner": "o"})
    assert (resp.status_code, resp.json()) == (500, {"errorCode": "ERR_LOCK_STORE_NOT_CONFIGURED", "message": "lock store is not configured"})


def test_sdk_try_lock_context_manager(lk: LockStack) -> None:
    """The python-sdk's distributed_lock example: ``with client.try_lock(...) as lock``."""
    from dapr.clients import DaprClient

    lk.redis.flushdb()
    use_sidecar_in_this_process(lk.sidecar)
    with DaprClient(address=f"127.0.0.1:{lk.sidecar.grpc_port}") as client:
        with client.try_lock("lockstore", "sdk-res", "sdk-owner", expiry_in_seconds=30) as lock:
            assert lock.success and lk.redis.get(f"lock||{APP}||sdk-res") == b"sdk-owner"
        assert lk.redis.get(f"lock||{APP}||sdk-res") is None  # released on leaving the block
