"""The python SDK's gRPC app (``dapr.ext.grpc.App``) behind ``--app-protocol grpc``: what its
handlers see and how their answers settle, on both runtimes (the ``pubsub-simple`` pattern)."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import httpx

from cookbook.ports import free_port_block
from cookbook.processes import ManagedProcess, wait_until
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar
from tests.pubsub.conftest import grpc_ready, write_resources

ROOT = Path(__file__).resolve().parents[2]


def test_sdk_grpc_app_subscriber(tmp_path: Path, dapr_runtime: str) -> None:
    ports = free_port_block(40)
    app_port = ports.take()
    server = RedisServer(port=ports.take(), workdir=tmp_path / "redis").start()
    app = ManagedProcess("sdk-grpc-app", [sys.executable, str(ROOT / "tests" / "pubsub" / "sdk_grpc_app.py")], tmp_path / "app.log",
                         env={**os.environ, "COUNTER_REDIS_URL": server.url, "APP_PORT": str(app_port)}, ready=lambda: grpc_ready(app_port))
    sidecar = Sidecar("sdkapp", [write_resources(tmp_path / "res", server)], ports, tmp_path / "run", runtime=dapr_runtime,
                      app_port=app_port, extra_args=["--app-protocol", "grpc"])
    r = server.client()

    def received(topic: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in r.lrange(f"sdk-received:{topic}", 0, -1)]

    try:
        app.start_and_wait(30)
        sidecar.start()
        with httpx.Client(base_url=f"http://127.0.0.1:{sidecar.http_port}") as http:
            topics = {s["topic"] for s in http.get("/v1.0/metadata").json()["subscriptions"]}
            assert topics == {"sdk-a", "sdk-d", "sdk-d-dead", "sdk-none"}
            for topic in ("sdk-a", "sdk-d", "sdk-none"):
                assert http.post(f"/v1.0/publish/messagepubsub/{topic}?metadata.custommeta=somevalue",
                                 json={"id": 1, "message": "hello world"}).status_code == 204
        wait_until(lambda: len(received("sdk-a")) == 1 and len(received("sdk-d-dead")) == 1 and len(received("sdk-none")) == 1)
        got = received("sdk-a")[0]
        assert json.loads(got["data"]) == {"id": 1, "message": "hello world"} and got["content_type"] == "application/json"
        assert got["subject"] == "sdk-a" and got["source"] == "sdkapp" and got["type"] == "com.dapr.event.sent"
        assert got["extensions"]["topic"] == "sdk-a" and got["extensions"]["pubsubname"] == "messagepubsub"
        assert got["metadata"]["custommeta"] == "somevalue" and got["metadata"]["pubsubname"] == "messagepubsub"
        # RETRY with a dead-letter topic: delivered once, then to the dead-letter subscriber, whose
        # event still says where it was meant to go.
        assert len(received("sdk-d")) == 1
        dead = received("sdk-d-dead")[0]
        assert dead["subject"] == "sdk-d-dead" and dead["extensions"]["topic"] == "sdk-d"
        assert json.loads(dead["data"]) == {"id": 1, "message": "hello world"}
        wait_until(lambda: all(r.xpending(t, "sdkapp")["pending"] == 0 for t in ("sdk-a", "sdk-d", "sdk-d-dead", "sdk-none")))
        assert len(received("sdk-none")) == 1 and not r.exists("sdk-none-dead")
    finally:
        sidecar.stop()
        app.terminate()
        server.stop()
        ports.release()
