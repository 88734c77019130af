"""``DAPR_API_TOKEN`` in the sidecar's environment: every API needs the ``dapr-api-token``
header (HTTP) or metadata (gRPC) except ``GET /v1.0/healthz`` and ``GET /v1.0/healthz/outbound``,
with daprd's answers; the dapr SDK sends the token it finds in its own environment."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from dapr.proto.runtime.v1 import dapr_pb2_grpc, metadata_pb2, pubsub_pb2, secret_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cookbook.redis_server import RedisServer
from tests.conformance.conftest import component

TOKEN = "s3cret-token"
UNAUTHORIZED = (401, "invalid api token\n")


@pytest.fixture
def guarded(sidecar_factory, redis_server: RedisServer, tmp_path: Path):  # type: ignore[no-untyped-def]
    res = tmp_path / "res"
    res.mkdir()
    (tmp_path / "secrets.json").write_text(json.dumps({"a": "1"}))
    (res / "c.yaml").write_text("---\n".join([
        component("open", "secretstores.local.file", {"secretsFile": str(tmp_path / "secrets.json")}),
        component("pubsub", "pubsub.redis", {"redisHost": redis_server.address}),
    ]))
    return sidecar_factory("guarded", res, actors=False, env={"DAPR_API_TOKEN": TOKEN})


def test_http_needs_the_token_except_health(guarded) -> None:  # type: ignore[no-untyped-def]
    base = f"http://127.0.0.1:{guarded.http_port}"
    assert httpx.get(f"{base}/v1.0/healthz").status_code == 204
    assert httpx.get(f"{base}/v1.0/healthz/outbound").status_code == 204
    r = httpx.get(f"{base}/v1.0/healthz?appid=other")  # exempt, so the app-id check answers
    assert (r.status_code, r.json()["errorCode"]) == (500, "ERR_HEALTH_APPID_NOT_MATCH")
    for method, path in [("GET", "/v1.0/metadata"), ("GET", "/v1.0/secrets/open/a"), ("POST", "/v1.0/publish/pubsub/t"),
                         ("POST", "/v1.0/healthz"), ("GET", "/v1.0/nosuchapi"), ("GET", "/healthz")]:
        for headers in ({}, {"dapr-api-token": "wrong"}):
            r = httpx.request(method, base + path, headers=headers)
            assert (r.status_code, r.text) == UNAUTHORIZED, (method, path, headers)
            assert r.headers["content-type"] == "text/plain; charset=utf-8"
            assert r.headers["x-content-type-options"] == "nosniff"
    ok = {"dapr-api-token": TOKEN}
    assert httpx.get(f"{base}/v1.0/metadata", headers=ok).json()["id"] == "guarded"
    assert httpx.get(f"{base}/v1.0/secrets/open/a", headers=ok).json() == {"a": "1"}
    assert httpx.post(f"{base}/v1.0/publish/pubsub/t", json={"n": 1}, headers=ok).status_code == 204


def _unauthenticated(err: grpc.RpcError, detail: str) -> None:
    assert (err.code(), err.details()) == (grpc.StatusCode.UNAUTHENTICATED, "Unauthorized")
    status = rpc_status.from_call(err)
    assert status is not None and len(status.details) == 1
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert (info.reason, info.domain, dict(info.metadata)) == ("Unauthorized", "dapr.io", {"http.code": "401", "http.error_message": detail})


def test_grpc_needs_the_token(guarded) -> None:  # type: ignore[no-untyped-def]
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{guarded.grpc_port}"))
    for metadata, detail in [((), "missing api token in request metadata"), ((("dapr-api-token", "wrong"),), "authentication error: api token mismatch")]:
        with pytest.raises(grpc.RpcError) as info:
            stub.GetMetadata(metadata_pb2.GetMetadataRequest(), metadata=metadata)
        _unauthenticated(info.value, detail)
        with pytest.raises(grpc.RpcError) as info:
            stub.GetSecret(secret_pb2.GetSecretRequest(store_name="open", key="a"), metadata=metadata)
        _unauthenticated(info.value, detail)
        initial = pubsub_pb2.SubscribeTopicEventsRequestAlpha1(
            initial_request=pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1(pubsub_name="pubsub", topic="t"))
        with pytest.raises(grpc.RpcError) as info:
            next(iter(stub.SubscribeTopicEventsAlpha1(iter([initial]), metadata=metadata)))
        _unauthenticated(info.value, detail)
    ok = (("dapr-api-token", TOKEN),)
    assert stub.GetMetadata(metadata_pb2.GetMetadataRequest(), metadata=ok).id == "guarded"
    assert dict(stub.GetSecret(secret_pb2.GetSecretRequest(store_name="open", key="a"), metadata=ok).data) == {"a": "1"}


SDK_CALL = """
import sys
import grpc
from dapr.clients import DaprClient
try:
    with DaprClient(address=f"127.0.0.1:{sys.argv[1]}") as client:
        print("secret", client.get_secret("open", "a").secret)
except grpc.RpcError as err:
    print("error", err.code().name, err.details())
"""


@pytest.mark.parametrize("with_token", [True, False], ids=["sdk-with-token", "sdk-without-token"])
def test_the_sdk_sends_the_token_from_its_environment(guarded, with_token: bool) -> None:  # type: ignore[no-untyped-def]
    env = {k: v for k, v in os.environ.items() if k != "DAPR_API_TOKEN"}
    env.update({"DAPR_HTTP_PORT": str(guarded.http_port), "DAPR_GRPC_PORT": str(guarded.grpc_port)})
    if with_token:
        env["DAPR_API_TOKEN"] = TOKEN
    out = subprocess.run([sys.executable, "-c", SDK_CALL, str(guarded.grpc_port)], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == ("secret {'a': '1'}" if with_token else "error UNAUTHENTICATED Unauthorized")


def test_no_token_in_the_environment_means_no_check(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    (tmp_path / "res").mkdir()
    sidecar = sidecar_factory("open", tmp_path / "res", actors=False, env={"DAPR_API_TOKEN": ""})
    assert httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/metadata", headers={"dapr-api-token": "anything"}).status_code == 200


def test_grpc_size_check_comes_first_and_refused_calls_are_not_api_logged(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """grpc-go refuses an oversized message before any interceptor runs; the API-logging
    interceptor runs after the token check, so a refused call leaves no ``gRPC API Called``."""
    from cookbook.processes import wait_until

    (tmp_path / "res").mkdir()
    sidecar = sidecar_factory("sized", tmp_path / "res", actors=False, env={"DAPR_API_TOKEN": TOKEN},
                              extra_args=["--max-body-size", "1Ki", "--enable-api-logging"])
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}"))
    big = secret_pb2.GetSecretRequest(store_name="x" * 2000, key="a")
    with pytest.raises(grpc.RpcError) as info:
        stub.GetSecret(big)
    assert (info.value.code(), info.value.details()) == (grpc.StatusCode.RESOURCE_EXHAUSTED, f"grpc: received message larger than max ({big.ByteSize()} vs. 1024)")
    with pytest.raises(grpc.RpcError) as info:
        stub.GetSecret(secret_pb2.GetSecretRequest(store_name="refused", key="a"))
    assert info.value.code() == grpc.StatusCode.UNAUTHENTICATED
    stub.GetMetadata(metadata_pb2.GetMetadataRequest(), metadata=(("dapr-api-token", TOKEN),))
    wait_until(lambda: "GetMetadata" in sidecar.process.log_path.read_text(), details=lambda: sidecar.log_tail(10))
    logged = [line for line in sidecar.process.log_path.read_text().splitlines() if 'msg="gRPC API Called"' in line]
    assert len(logged) == 1 and "method=/dapr.proto.runtime.v1.Dapr/GetMetadata" in logged[0]
