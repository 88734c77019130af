"""pubsub.redis on Redis Streams (spec F) through the dapr SDK, with Dapr 1.17 semantics."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import httpx

from cookbook.processes import ManagedProcess, wait_until
from tests.stacks import SidecarStack as PubSubStack

ROOT = Path(__file__).resolve().parents[2]


def test_F1_publish_writes_a_cloudevent_to_the_stream(ps_stack: PubSubStack) -> None:
    with ps_stack.client() as c:
        c.publish_event("messagepubsub", "orders", json.dumps({"n": 1}), data_content_type="application/json")
        c.publish_event("messagepubsub", "raw", b"plain bytes", publish_metadata={"rawPayload": "true"})
    (entry_id, fields), = ps_stack.redis.xrange("orders")
    event = json.loads(fields[b"data"])
    assert set(fields) == {b"data", b"metadata"}
    assert event["source"] == "psapp" and event["type"] == "com.dapr.event.sent" and event["specversion"] == "1.0"
    assert event["topic"] == "orders" and event["pubsubname"] == "messagepubsub" and event["data"] == {"n": 1}
    assert event["datacontenttype"] == "application/json" and event["traceparent"] == event["traceid"]
    assert ps_stack.redis.xrange("raw")[0][1][b"data"] == b"plain bytes"
    r = httpx.post(f"http://127.0.0.1:{ps_stack.sidecar.http_port}/v1.0/publish/nope/orders", json={})
    assert r.status_code == 404 and r.json()["errorCode"] == "ERR_PUBSUB_NOT_FOUND"


def test_F3_1_streaming_subscription_success_drop_and_retry(ps_stack: PubSubStack) -> None:
    with ps_stack.client() as c:
        sub = c.subscribe("messagepubsub", "orders", dead_letter_topic="orders-dead")
        try:
            c.publish_event("messagepubsub", "orders", json.dumps({"n": 1}), data_content_type="application/json")
            msg = sub.next_message()
            assert msg.data() == {"n": 1} and msg.topic() == "orders" and msg.source() == "psapp"
            sub.respond_success(msg)
            c.publish_event("messagepubsub", "orders", json.dumps({"n": 2}), data_content_type="application/json")
            msg = sub.next_message()
            sub.respond_drop(msg)
            wait_until(lambda: ps_stack.redis.xlen("orders-dead") == 1)
            # RETRY with no resiliency policy (Dapr 1.17): not redelivered, dead-lettered like DROP.
            c.publish_event("messagepubsub", "orders", json.dumps({"n": 3}), data_content_type="application/json")
            msg = sub.next_message()
            assert msg.data() == {"n": 3}
            sub.respond_retry(msg)
            wait_until(lambda: ps_stack.redis.xlen("orders-dead") == 2)
            meta = httpx.get(f"http://127.0.0.1:{ps_stack.sidecar.http_port}/v1.0/metadata").json()
            assert {"pubsubname": "messagepubsub", "topic": "orders", "deadLetterTopic": "orders-dead", "type": "STREAMING"} in meta["subscriptions"]
        finally:
            sub.close()
    dead = [json.loads(fields[b"data"])["data"] for _, fields in ps_stack.redis.xrange("orders-dead")]
    assert dead == [{"n": 2}, {"n": 3}]
    groups = ps_stack.redis.xinfo_groups("orders")
    assert [g["name"] for g in groups] == [b"psapp"] and groups[0]["pending"] == 0


def test_F2_1_new_group_reads_from_the_start(ps_stack: PubSubStack) -> None:
    with ps_stack.client() as c:
        c.publish_event("messagepubsub", "early", json.dumps({"n": "before"}), data_content_type="application/json")
        sub = c.subscribe("messagepubsub", "early")
        try:
            msg = sub.next_message()
            assert msg.data() == {"n": "before"}
            sub.respond_success(msg)
        finally:
            sub.close()


def _subscriber(stack: PubSubStack) -> ManagedProcess:
    proc = stack.sidecar.app_process("subscriber", [sys.executable, str(ROOT / "tests" / "pubsub" / "subscriber_app.py")],
                                     env={"COUNTER_REDIS_URL": stack.redis_server.url, "PUBSUB": "messagepubsub", "TOPIC": "jobs", "PYTHONPATH": str(ROOT)})
    log = proc.log_path
    proc.ready = lambda: log.exists() and log.read_text().count("subscriber ready") >= proc.starts
    proc.start_and_wait(60)
    return proc


def test_F2_3_message_in_flight_survives_a_subscriber_kill(ps_stack: PubSubStack) -> None:
    sub = _subscriber(ps_stack)
    try:
        with ps_stack.client() as c:
            c.publish_event("messagepubsub", "jobs", json.dumps({"n": "k1"}), data_content_type="application/json")
        wait_until(lambda: ps_stack.redis.get("deliveries:k1") == b"1")
        sub.kill()
        ps_stack.redis.set("release", 1)
        sub.start_and_wait(60)
        wait_until(lambda: ps_stack.redis.exists("processed:k1"), timeout=30)
        assert int(ps_stack.redis.get("deliveries:k1")) == 2
    finally:
        sub.terminate()


def test_F2_3_message_in_flight_survives_a_sidecar_kill(ps_stack: PubSubStack) -> None:
    sub = _subscriber(ps_stack)
    try:
        with ps_stack.client() as c:
            c.publish_event("messagepubsub", "jobs", json.dumps({"n": "k2"}), data_content_type="application/json")
        wait_until(lambda: ps_stack.redis.get("deliveries:k2") == b"1")
        ps_stack.sidecar.kill()
        ps_stack.sidecar.restart()
        ps_stack.redis.set("release", 1)
        wait_until(lambda: int(ps_stack.redis.get("deliveries:k2") or 0) >= 2 and ps_stack.redis.exists("processed:k2"), timeout=40)
        wait_until(lambda: ps_stack.redis.xpending("jobs", "psapp")["pending"] == 0, timeout=20)
    finally:
        sub.terminate()
