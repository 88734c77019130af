"""Calls from the sidecar to the app: ``APP_API_TOKEN`` sent as ``dapr-api-token``,
``--app-max-concurrency``, and app health checks (``--enable-app-health-check`` and the probe
flags): an unhealthy app gets no pub/sub deliveries until it is healthy again."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Callable

import httpx
import pytest

from cookbook.ports import PortBlock
from cookbook.processes import ManagedProcess, wait_until
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar
from tests.pubsub.conftest import write_resources

APP = Path(__file__).with_name("channel_app.py")


@pytest.fixture
def channel(ports: PortBlock, redis_server: RedisServer, tmp_path: Path, sidecar_factory):  # type: ignore[no-untyped-def]
    """start(slow=..., env=..., extra_args=...) -> (sidecar, redis client) with the app up first."""
    apps: list[ManagedProcess] = []

    def start(*, slow: float = 0, env: dict[str, str] | None = None, extra_args: tuple[str, ...] = ()) -> tuple[Sidecar, object]:
        app_port = ports.take()
        app = ManagedProcess("channel-app", [sys.executable, str(APP)], tmp_path / "app.log",
                             env={**os.environ, "COUNTER_REDIS_URL": redis_server.url, "APP_PORT": str(app_port), "SLOW_SECONDS": str(slow)},
                             ready=lambda: httpx.get(f"http://127.0.0.1:{app_port}/dapr/subscribe").status_code == 200)
        apps.append(app)
        app.start_and_wait(30)
        redis_server.client().delete("calls")  # the readiness check's own request
        sidecar = sidecar_factory("channel", write_resources(tmp_path / "res", redis_server), actors=False, app_port=app_port,
                                  env=env or {}, extra_args=list(extra_args))
        return sidecar, redis_server.client()

    yield start
    for app in apps:
        app.terminate()


def calls(r, path: str) -> list[dict]:  # type: ignore[no-untyped-def]
    return [c for c in (json.loads(x) for x in r.lrange("calls", 0, -1)) if c["path"] == path]


def publish(sidecar: Sidecar, n: int, headers: dict[str, str] | None = None) -> None:
    r = httpx.post(f"http://127.0.0.1:{sidecar.http_port}/v1.0/publish/messagepubsub/work", json={"n": n}, headers=headers or {})
    assert r.status_code == 204, r.text


def received(r) -> list[dict]:  # type: ignore[no-untyped-def]
    return [json.loads(x) for x in r.lrange("received", 0, -1)]


def test_app_api_token_is_sent_on_app_channel_calls(channel: Callable) -> None:
    sidecar, r = channel(env={"APP_API_TOKEN": "app-secret", "DAPR_API_TOKEN": "api-secret"})
    wait_until(lambda: calls(r, "/dapr/subscribe"), details=lambda: sidecar.log_tail(20))
    assert {c["token"] for c in calls(r, "/dapr/subscribe")} == {"app-secret"}
    publish(sidecar, 1, {"dapr-api-token": "api-secret"})
    wait_until(lambda: calls(r, "/work"), details=lambda: sidecar.log_tail(20))
    assert calls(r, "/work")[0]["token"] == "app-secret"  # the app token, never the API token


def test_no_app_api_token_no_header(channel: Callable) -> None:
    sidecar, r = channel(env={"APP_API_TOKEN": ""})
    publish(sidecar, 1)
    wait_until(lambda: calls(r, "/work"), details=lambda: sidecar.log_tail(20))
    assert calls(r, "/dapr/subscribe")[0]["token"] is None and calls(r, "/work")[0]["token"] is None


@pytest.mark.parametrize(("limit", "bounded"), [("1", True), ("-1", False)], ids=["max-1", "no-limit"])
def test_app_max_concurrency(channel: Callable, limit: str, bounded: bool) -> None:
    """Four messages, each taking 0.5 s in the app: with ``--app-max-concurrency 1`` never two at
    once; without a limit the pub/sub component's own concurrency (10) overlaps them."""
    sidecar, r = channel(slow=0.5, extra_args=("--app-max-concurrency", limit))
    for n in range(4):
        publish(sidecar, n)
    wait_until(lambda: len(received(r)) == 4, details=lambda: sidecar.log_tail(20))
    if bounded:
        assert int(r.get("max_inflight")) == 1
    else:
        assert int(r.get("max_inflight")) > 1


def test_app_health_checks_stop_and_resume_deliveries(channel: Callable) -> None:
    sidecar, r = channel(env={"APP_API_TOKEN": "app-secret"}, extra_args=(
        "--enable-app-health-check", "--app-health-check-path", "/healthz", "--app-health-probe-interval", "1",
        "--app-health-probe-timeout", "500", "--app-health-threshold", "2"))
    publish(sidecar, 1)
    wait_until(lambda: received(r) == [{"n": 1}], details=lambda: sidecar.log_tail(20))
    assert calls(r, "/healthz") and {c["token"] for c in calls(r, "/healthz")} == {None}  # probes carry no token
    r.set("health", 500)
    failing_from = int(r.get("probes"))
    # Two failed probes make the app unhealthy; one more lets the sidecar act on it.
    wait_until(lambda: int(r.get("probes")) >= failing_from + 3, details=lambda: sidecar.log_tail(20))
    wait_until(lambda: "App entered un-healthy status: Health check failed with status code: 500" in sidecar.log_tail(200))
    publish(sidecar, 2)
    published_at = int(r.get("probes"))
    wait_until(lambda: int(r.get("probes")) >= published_at + 3, details=lambda: sidecar.log_tail(20))
    assert received(r) == [{"n": 1}]  # nothing delivered to an unhealthy app over three probe rounds
    r.set("health", 200)
    wait_until(lambda: received(r) == [{"n": 1}, {"n": 2}], details=lambda: sidecar.log_tail(30))
    assert "App entered healthy status" in sidecar.log_tail(200)


def test_metadata_shows_the_app_channel_settings(channel: Callable) -> None:
    sidecar, _ = channel(extra_args=("--app-max-concurrency", "3", "--enable-app-health-check", "--app-health-probe-interval", "2",
                                     "--app-health-probe-timeout", "300", "--app-health-threshold", "4"))
    props = httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/metadata").json()["appConnectionProperties"]
    assert props == {"port": sidecar.app_port, "protocol": "http", "channelAddress": "127.0.0.1", "maxConcurrency": 3,
                     "health": {"healthCheckPath": "/healthz", "healthProbeInterval": "2s", "healthProbeTimeout": "300ms", "healthThreshold": 4}}
    import grpc
    from dapr.proto.runtime.v1 import dapr_pb2_grpc, metadata_pb2

    got = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}")).GetMetadata(metadata_pb2.GetMetadataRequest())
    health = got.app_connection_properties.health
    assert got.app_connection_properties.max_concurrency == 3
    assert (health.health_check_path, health.health_probe_interval, health.health_probe_timeout, health.health_threshold) == ("/healthz", "2s", "300ms", 4)
