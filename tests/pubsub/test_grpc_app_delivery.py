"""``--app-protocol grpc``: subscriptions read with ``ListTopicSubscriptions`` (plus declarative
ones) and delivered with ``OnTopicEvent``; each answer settles the message as daprd 1.18.2 does."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any, Iterator

import httpx
import pytest

from cookbook.ports import free_port_block
from cookbook.processes import ManagedProcess, wait_until
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar
from tests.pubsub.conftest import grpc_ready, write_resources

ROOT = Path(__file__).resolve().parents[2]
APP_ID = "grpcapp"
DECLARATIVE = """apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata:
  name: declared
spec:
  pubsubname: messagepubsub
  topic: g-declared
  routes:
    default: /declared
scopes:
- grpcapp
"""
# A state store with an outbox publishing to a topic the app subscribes to; its internal topic
# on a pubsub with the default processingTimeout (messagepubsub's 1 s would stop phase 2).
OUTBOX_STORE = """---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: outboxstore
spec:
  type: state.redis
  version: v1
  metadata:
  - name: redisHost
    value: "{redis}"
  - name: outboxPublishPubsub
    value: messagepubsub
  - name: outboxPublishTopic
    value: g-ok
  - name: outboxPubsub
    value: outboxps
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata:
  name: outboxps
spec:
  type: pubsub.redis
  version: v1
  metadata:
  - name: redisHost
    value: "{redis}"
"""
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


class Stack:
    def __init__(self, tmp: Path, runtime: str, env: dict[str, str] | None = None) -> None:
        self.ports = ports = free_port_block(40)
        app_port = ports.take()
        self.server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
        self.app = ManagedProcess("grpc-app", [sys.executable, str(ROOT / "tests" / "pubsub" / "grpc_app.py")], tmp / "app.log",
                                  env={**os.environ, "COUNTER_REDIS_URL": self.server.url, "APP_PORT": str(app_port)},
                                  ready=lambda: grpc_ready(app_port))
        extra = DECLARATIVE + OUTBOX_STORE.format(redis=self.server.address)
        self.sidecar = Sidecar(APP_ID, [write_resources(tmp / "res", self.server, extra)], ports, tmp / "run", runtime=runtime,
                               app_port=app_port, extra_args=["--app-protocol", "grpc"], env=env or {})
        self.redis = self.server.client()
        self.base = f"http://127.0.0.1:{self.sidecar.http_port}"

    def received(self, topic: str) -> list[dict[str, Any]]:
        return [json.loads(x) for x in self.redis.lrange(f"grpc-received:{topic}", 0, -1)]

    def publish(self, topic: str, body: Any, query: str = "", traced: bool = True) -> None:
        headers = {"traceparent": TRACEPARENT} if traced else {}
        r = httpx.post(f"{self.base}/v1.0/publish/messagepubsub/{topic}{query}", json=body, headers=headers)
        assert r.status_code == 204, r.text

    def settled(self, topic: str) -> bool:
        """Read by the group and acknowledged (dead letters are written before the ack)."""
        groups = {g["name"].decode(): g for g in self.redis.xinfo_groups(topic)} if self.redis.exists(topic) else {}
        group = groups.get(APP_ID)
        return group is not None and group["pending"] == 0 and group["last-delivered-id"] != b"0-0"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, dapr_runtime: str) -> Iterator[Stack]:
    st = Stack(tmp_path_factory.mktemp(f"grpc-app-{dapr_runtime}"), dapr_runtime)
    try:
        st.app.start_and_wait(30)
        st.sidecar.start()
        yield st
    finally:
        st.sidecar.stop()
        st.app.terminate()
        st.server.stop()
        st.ports.release()


def test_grpc_app_subscriptions_in_metadata(stack: Stack) -> None:
    subs = {s["topic"]: s for s in httpx.get(f"{stack.base}/v1.0/metadata").json()["subscriptions"]}
    assert subs["g-ok"]["type"] == "PROGRAMMATIC" and subs["g-ok"]["metadata"] == {"subkey": "subval"}
    assert subs["g-ok"]["rules"] == [{}]  # the default rule, path "" (omitted)
    assert subs["g-retry"]["deadLetterTopic"] == "g-retry-dead"
    assert subs["g-routed"]["rules"] == [{"path": "/routed"}]
    assert subs["g-declared"]["type"] == "DECLARATIVE" and subs["g-declared"]["rules"] == [{"path": "/declared"}]


def test_grpc_app_receives_the_event(stack: Stack) -> None:
    stack.publish("g-ok", {"n": 1}, "?metadata.foo=bar")
    stack.publish("g-routed", {"n": 2}, traced=False)
    stack.publish("g-declared", {"n": 3})
    wait_until(lambda: len(stack.received("g-ok")) == 1 and len(stack.received("g-routed")) == 1 and len(stack.received("g-declared")) == 1)
    got = stack.received("g-ok")[0]
    assert got["data"] == '{"n":1}' and got["data_content_type"] == "application/json"
    assert got["source"] == APP_ID and got["type"] == "com.dapr.event.sent" and got["spec_version"] == "1.0"
    assert got["topic"] == "g-ok" and got["pubsub_name"] == "messagepubsub" and got["path"] == ""
    # The entry's metadata, the pubsub's name and the event's trace context travel as gRPC metadata.
    assert got["metadata"] == {"foo": "bar", "pubsubname": "messagepubsub", "traceparent": TRACEPARENT}
    # No trace context: daprd sends the all-zero one.
    assert stack.received("g-routed")[0]["metadata"] == {"pubsubname": "messagepubsub", "traceparent": "00-" + "0" * 32 + "-" + "0" * 16 + "-00"}
    ext = got["extensions"]
    assert ext["topic"] == "g-ok" and ext["pubsubname"] == "messagepubsub" and ext["traceparent"] == TRACEPARENT
    assert {"id", "source", "type", "specversion", "datacontenttype", "data"}.isdisjoint(ext)
    assert stack.received("g-routed")[0]["path"] == "/routed"
    assert stack.received("g-declared")[0]["path"] == "/declared"
    wait_until(lambda: stack.settled("g-ok") and stack.settled("g-routed") and stack.settled("g-declared"))


def test_grpc_app_answers_settle_as_daprd(stack: Stack) -> None:
    topics = ["g-retry", "g-drop", "g-raise", "g-unknown", "g-unimpl", "g-empty", "g-retry-nodl"]
    for topic in topics:
        stack.publish(topic, {"topic": topic})
    wait_until(lambda: all(stack.settled(t) for t in topics), timeout=30)
    # RETRY, DROP, an app error and an unknown status: dead letter (no resiliency policy: no retry).
    for topic in ("g-retry", "g-drop", "g-raise", "g-unknown"):
        assert stack.redis.xlen(f"{topic}-dead") == 1, topic
        assert len(stack.received(topic)) == 1, topic
        (_, fields), = stack.redis.xrange(f"{topic}-dead")
        assert json.loads(fields[b"data"])["data"] == {"topic": topic}
    # UNIMPLEMENTED is "non-retriable": acknowledged as handled, not dead-lettered; an empty reply is SUCCESS.
    assert not stack.redis.exists("g-unimpl-dead") and not stack.redis.exists("g-empty-dead")
    assert len(stack.received("g-unimpl")) == 1 and len(stack.received("g-empty")) == 1
    # RETRY without a dead-letter topic: dropped, delivered once.
    assert len(stack.received("g-retry-nodl")) == 1


def _bulk_requests(stack: Stack) -> list[dict[str, Any]]:
    return [json.loads(x) for x in stack.redis.lrange("grpc-bulk:g-bulk", 0, -1)]


def test_grpc_app_bulk_subscription(stack: Stack) -> None:
    """bulkSubscribe: OnBulkTopicEvent, falling back to OnBulkTopicEventAlpha1; per-entry statuses."""
    answers = ["SUCCESS", "RETRY", "DROP", "UNKNOWN", "NONE", "SUCCESS"]
    for n, answer in enumerate(answers):
        stack.publish("g-bulk", {"answer": answer, "n": n, "f": 1.50}, "?metadata.foo=bar" if n == 0 else "")
    wait_until(lambda: sum(len(req["entries"]) for req in _bulk_requests(stack)) == len(answers) and stack.settled("g-bulk"), timeout=30)
    requests = _bulk_requests(stack)
    assert all(len(req["entries"]) <= 3 for req in requests)  # maxMessagesCount
    for req in requests:
        assert req["type"] == "com.dapr.event.sent.bulk" and req["topic"] == "g-bulk" and req["pubsub_name"] == "messagepubsub"
        assert req["path"] == "/bulk" and req["metadata"] == {"pubsubName": "messagepubsub"}
        assert req["grpc_metadata"]["pubsubname"] == "messagepubsub"
    entries = {e["answer"] + str(json.loads(e["data"])["n"]): e for req in requests for e in req["entries"]}
    first = entries["SUCCESS0"]
    assert first["has_cloud_event"] and first["content_type"] == "" and first["metadata"] == {"foo": "bar"}
    assert first["type"] == "com.dapr.event.sent" and first["source"] == APP_ID and first["data_content_type"] == "application/json"
    assert json.loads(first["data"]) == {"answer": "SUCCESS", "n": 0, "f": 1.5}
    assert '"f":1.5' in first["data"]  # decoded without UseNumber: re-marshalled as float64
    assert first["extensions"]["topic"] == "g-bulk" and first["extensions"]["traceparent"] == TRACEPARENT
    assert entries["RETRY1"]["metadata"] == {}  # HTTP publish without metadata: "{}" in the stream
    # Failed entries (RETRY, unknown status, no status) and the DROP go to the dead-letter topic,
    # as they were in the stream: bytes and metadata, no pubsubName added.
    dead = [(json.loads(f[b"data"])["data"]["answer"], f.get(b"metadata")) for _, f in stack.redis.xrange("g-bulk-dead")]
    assert sorted(a for a, _ in dead) == ["DROP", "NONE", "RETRY", "UNKNOWN"]
    assert {md for _, md in dead} == {b"{}"}


def test_outbox_events_reach_the_app(stack: Stack) -> None:
    """With an app, the outbox's internal subscription starts once the app is ready (daprd's
    appHealthChanged); the event then reaches the app's subscription like any other."""
    r = httpx.post(f"{stack.base}/v1.0/state/outboxstore/transaction",
                   json={"operations": [{"operation": "upsert", "request": {"key": "ob", "value": "from-the-outbox"}}]})
    assert r.status_code == 204, r.text
    wait_until(lambda: any(e["data"] == "from-the-outbox" for e in stack.received("g-ok")))
    got = next(e for e in stack.received("g-ok") if e["data"] == "from-the-outbox")
    assert got["id"].startswith("outbox-") and got["data_content_type"] == "text/plain"
    assert got["extensions"]["topic"] == "g-ok" and got["extensions"]["pubsubname"] == "messagepubsub"


def test_grpc_app_gets_the_app_api_token(tmp_path: Path, dapr_runtime: str) -> None:
    """APP_API_TOKEN travels as ``dapr-api-token`` gRPC metadata on app-channel calls (daprd
    pkg/channel/grpc/grpc_channel.go sets it on every call to the app)."""
    st = Stack(tmp_path, dapr_runtime, env={"APP_API_TOKEN": "app-secret"})
    try:
        st.app.start_and_wait(30)
        st.sidecar.start()
        st.publish("g-ok", {"n": 1})
        wait_until(lambda: len(st.received("g-ok")) == 1)
        assert st.received("g-ok")[0]["metadata"]["dapr-api-token"] == "app-secret"
    finally:
        st.sidecar.stop()
        st.app.terminate()
        st.server.stop()
        st.ports.release()
