"""Programmatic (/dapr/subscribe) and declarative subscriptions delivered to the app over HTTP."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import httpx

from cookbook.ports import free_port_block
from cookbook.processes import ManagedProcess, wait_until
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar
from tests.pubsub.conftest import write_resources

ROOT = Path(__file__).resolve().parents[2]
DECLARATIVE = """apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: declared
spec:
  pubsubname: messagepubsub
  topic: declared
  routes:
    default: /declared
scopes:
- webapp
"""


def test_F3_programmatic_and_declarative_delivery_over_http(tmp_path: Path, dapr_runtime: str) -> None:
    ports = free_port_block(40)
    app_port = ports.take()
    server = RedisServer(port=ports.take(), workdir=tmp_path / "redis").start()
    app = ManagedProcess("http-app", [sys.executable, str(ROOT / "tests" / "pubsub" / "http_app.py")], tmp_path / "app.log",
                         env={**os.environ, "COUNTER_REDIS_URL": server.url, "APP_PORT": str(app_port)},
                         ready=lambda: httpx.get(f"http://127.0.0.1:{app_port}/dapr/subscribe").status_code == 200)
    sidecar = Sidecar("webapp", [write_resources(tmp_path / "res", server, DECLARATIVE)], ports, tmp_path / "run",
                      runtime=dapr_runtime, app_port=app_port)
    # F2.1: an entry already in the stream before any subscription (the group is created at 0).
    early = {"specversion": "1.0", "id": "early-1", "source": "before", "type": "com.dapr.event.sent", "topic": "early",
             "pubsubname": "messagepubsub", "datacontenttype": "application/json", "data": {"n": "before"}}
    server.client().xadd("early", {"data": json.dumps(early)})
    try:
        app.start_and_wait(30)
        sidecar.start()
        base = f"http://127.0.0.1:{sidecar.http_port}"
        meta = httpx.get(f"{base}/v1.0/metadata").json()
        kinds = {(s["topic"], s["type"]) for s in meta["subscriptions"]}
        assert {("web", "PROGRAMMATIC"), ("declared", "DECLARATIVE")} <= kinds
        assert meta["appConnectionProperties"]["port"] == app_port
        for topic in ("web", "declared", "flaky", "gone", "lower"):
            assert httpx.post(f"{base}/v1.0/publish/messagepubsub/{topic}?metadata.foo=bar", json={"topic": topic}).status_code == 204
        r = server.client()
        wait_until(lambda: r.llen("received:/web") == 1 and r.llen("received:/declared") == 1)
        got = json.loads(r.lindex("received:/web", 0))
        assert got["ct"] == "application/cloudevents+json" and got["event"]["data"] == {"topic": "web"}
        # The entry's metadata arrives as headers, plus the pubsub's name.
        assert got["headers"] == {"pubsubname": "messagepubsub", "foo": "bar"}
        wait_until(lambda: r.llen("received:/early") == 1)
        assert json.loads(r.lindex("received:/early", 0))["event"]["data"] == {"n": "before"}
        wait_until(lambda: r.xlen("lower-dead") == 1)  # statuses are case-sensitive: "success" is unknown
        wait_until(lambda: r.xlen("flaky-dead") == 1)  # RETRY without resiliency -> dead letter (daprd 1.18)
        wait_until(lambda: r.llen("received:/missing") == 1)
        wait_until(lambda: r.xpending("gone", "webapp")["pending"] == 0)  # 404 = dropped, acknowledged
        assert r.llen("received:/flaky") == 1
    finally:
        sidecar.stop()
        app.terminate()
        server.stop()
        ports.release()


def test_F3_bulk_subscription_over_http(tmp_path: Path, dapr_runtime: str) -> None:
    """bulkSubscribe over HTTP: daprd's envelope, per-entry statuses ("" is RETRY), dead letters."""
    ports = free_port_block(40)
    app_port = ports.take()
    server = RedisServer(port=ports.take(), workdir=tmp_path / "redis").start()
    app = ManagedProcess("http-app", [sys.executable, str(ROOT / "tests" / "pubsub" / "http_app.py")], tmp_path / "app.log",
                         env={**os.environ, "COUNTER_REDIS_URL": server.url, "APP_PORT": str(app_port)},
                         ready=lambda: httpx.get(f"http://127.0.0.1:{app_port}/dapr/subscribe").status_code == 200)
    sidecar = Sidecar("webapp", [write_resources(tmp_path / "res", server)], ports, tmp_path / "run", runtime=dapr_runtime, app_port=app_port)
    r = server.client()
    answers = ["SUCCESS", "RETRY", "DROP", "EMPTY", "UNKNOWN", "NONE", "SUCCESS"]
    try:
        app.start_and_wait(30)
        sidecar.start()
        base = f"http://127.0.0.1:{sidecar.http_port}"
        for n, answer in enumerate(answers):
            query = "?metadata.foo=bar" if n == 0 else ""
            assert httpx.post(f"{base}/v1.0/publish/messagepubsub/bulk{query}", json={"answer": answer, "n": n, "f": 1.50}).status_code == 204

        def requests() -> list[dict]:
            return [json.loads(x) for x in r.lrange("received:/bulk", 0, -1)]

        wait_until(lambda: sum(len(json.loads(q["raw"])["entries"]) for q in requests()) == len(answers)
                   and r.xpending("bulk", "webapp")["pending"] == 0)
        for req in requests():
            assert req["ct"] == "application/json" and req["pubsubname"] == "messagepubsub"
            envelope = json.loads(req["raw"])
            assert 1 <= len(envelope["entries"]) <= 3
            assert list(envelope) == ["entries", "id", "metadata", "pubsubname", "topic", "type"]  # Go: sorted map keys
            assert envelope["type"] == "com.dapr.event.sent.bulk" and envelope["topic"] == "bulk"
            assert envelope["metadata"] == {"pubsubName": "messagepubsub"}
            for entry in envelope["entries"]:
                assert list(entry) == ["entryId", "event", "metadata", "contentType"]  # struct field order
                assert entry["contentType"] == "application/cloudevents+json"
                assert '"f":1.5,' in req["raw"]  # re-marshalled from float64
        entries = {e["event"]["data"]["n"]: e for q in requests() for e in json.loads(q["raw"])["entries"]}
        assert entries[0]["metadata"] == {"foo": "bar"} and entries[1]["metadata"] == {}
        assert entries[0]["event"]["source"] == "webapp" and entries[0]["event"]["topic"] == "bulk"
        dead = sorted(json.loads(f[b"data"])["data"]["answer"] for _, f in r.xrange("bulk-dead"))
        assert dead == ["DROP", "EMPTY", "NONE", "RETRY", "UNKNOWN"]
        assert {f.get(b"metadata") for _, f in r.xrange("bulk-dead")} == {b"{}"}
    finally:
        sidecar.stop()
        app.terminate()
        server.stop()
        ports.release()
