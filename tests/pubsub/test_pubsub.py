"""pubsub.redis on Redis Streams (spec F) through the dapr SDK; what daprd 1.18.2 writes and does."""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import grpc
import httpx
import pytest
from dapr.proto.runtime.v1 import metadata_pb2

from cookbook.processes import ManagedProcess, wait_until
from tests.pubsub.streams import RawStream, answer, initial, next_message, subscribe
from tests.stacks import SidecarStack as PubSubStack

ROOT = Path(__file__).resolve().parents[2]


# What daprd 1.18.2 writes for a publish with no caller trace context and no tracing config.
ENVELOPE_KEYS = {"data", "datacontenttype", "id", "pubsubname", "source", "specversion", "time", "topic", "traceid",
                 "traceparent", "tracestate", "type"}
TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"


def _entry(stack: PubSubStack, topic: str) -> dict[bytes, bytes]:
    (_, fields), = stack.redis.xrange(topic)
    return fields


def test_F1_publish_writes_a_cloudevent_to_the_stream(ps_stack: PubSubStack) -> None:
    base = f"http://127.0.0.1:{ps_stack.sidecar.http_port}"
    with ps_stack.client() as c:
        c.publish_event("messagepubsub", "orders", json.dumps({"n": 1}), data_content_type="application/json")
        c.publish_event("messagepubsub", "raw", b"plain bytes", publish_metadata={"rawPayload": "true"})
        c.publish_event("messagepubsub", "tagged", "hi", publish_metadata={"foo": "bar"})
    fields = _entry(ps_stack, "orders")
    # gRPC with no metadata: the request's map is nil, so there is no `metadata` field at all.
    assert set(fields) == {b"data"}
    event = json.loads(fields[b"data"])
    assert set(event) == ENVELOPE_KEYS
    assert event["source"] == "psapp" and event["type"] == "com.dapr.event.sent" and event["specversion"] == "1.0"
    assert event["topic"] == "orders" and event["pubsubname"] == "messagepubsub" and event["data"] == {"n": 1}
    assert event["datacontenttype"] == "application/json"
    # No caller trace context and no tracing configuration: empty, not a made-up trace.
    assert event["traceid"] == event["traceparent"] == event["tracestate"] == ""
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d)", event["time"])
    assert list(event) == sorted(event)  # Go's encoding/json
    raw = _entry(ps_stack, "raw")
    # gRPC raw payload: the bytes as sent; daprd adds the (empty) trace fields to the metadata.
    assert raw == {b"data": b"plain bytes", b"metadata": b'{"rawPayload":"true","traceid":"","tracestate":""}'}
    assert _entry(ps_stack, "tagged")[b"metadata"] == b'{"foo":"bar"}'
    # HTTP: the metadata map always exists, so the field is there even when empty.
    assert httpx.post(f"{base}/v1.0/publish/messagepubsub/web", json={"x": 1}).status_code == 204
    assert _entry(ps_stack, "web")[b"metadata"] == b"{}"
    assert httpx.post(f"{base}/v1.0/publish/messagepubsub/webraw?metadata.rawPayload=true", content=b"raw").status_code == 204
    assert _entry(ps_stack, "webraw") == {b"data": b"raw", b"metadata": b'{"rawPayload":"true"}'}
    r = httpx.post(f"{base}/v1.0/publish/nope/orders", json={})
    assert r.status_code == 404 and r.json()["errorCode"] == "ERR_PUBSUB_NOT_FOUND"


def test_F1_2_envelope_content_types_and_go_encoding(ps_stack: PubSubStack) -> None:
    """Only application/json is JSON (not +json), only octet-stream is binary (not image/*),
    unparsable JSON becomes a string, numbers keep their text, <>& are escaped as Go does."""
    with ps_stack.client() as c:
        c.publish_event("messagepubsub", "j", b'{"big":12345678901234567890,"f":1.50,"e":1e5,"h":"<a&b>"}', data_content_type="application/json")
        c.publish_event("messagepubsub", "ld", b'{"a":1}', data_content_type="application/ld+json")
        c.publish_event("messagepubsub", "png", b"\x89PNG", data_content_type="image/png")
        c.publish_event("messagepubsub", "bin", b"\x00\x01", data_content_type="application/octet-stream")
        c.publish_event("messagepubsub", "bad", b"not json", data_content_type="application/json")
        c.publish_event("messagepubsub", "empty", b"")
    data = _entry(ps_stack, "j")[b"data"]
    assert b'"data":{"big":12345678901234567890,"e":1e5,"f":1.50,"h":"\\u003ca\\u0026b\\u003e"}' in data
    assert json.loads(_entry(ps_stack, "ld")[b"data"])["data"] == '{"a":1}'
    assert json.loads(_entry(ps_stack, "png")[b"data"])["data"] == "\ufffdPNG"
    assert json.loads(_entry(ps_stack, "bin")[b"data"])["data_base64"] == "AAE="
    assert json.loads(_entry(ps_stack, "bad")[b"data"])["data"] == "not json"
    empty = json.loads(_entry(ps_stack, "empty")[b"data"])
    assert empty["data"] == "" and empty["datacontenttype"] == "text/plain"


def test_F1_2_overrides_cloudevent_input_and_ttl(ps_stack: PubSubStack) -> None:
    with ps_stack.client() as c:
        c.publish_event("messagepubsub", "o", b"{}", data_content_type="application/json", publish_metadata={
            "cloudevent.id": "my-id", "cloudevent.source": "src", "cloudevent.subject": "subj", "cloudevent.type": "t",
            "cloudevent.traceid": "ignored", "cloudevent.traceparent": "tp", "ttlInSeconds": "100"})
        c.publish_event("messagepubsub", "ce", json.dumps({"specversion": "1.0", "data": 1}),
                        data_content_type="application/cloudevents+json", publish_metadata={"cloudevent.type": "ignored"})
    event = json.loads(_entry(ps_stack, "o")[b"data"])
    assert (event["id"], event["source"], event["subject"], event["type"]) == ("my-id", "src", "subj", "t")
    assert event["traceid"] == event["traceparent"] == "tp"  # traceparent wins over traceid
    assert event["expiration"] > event["time"]
    event = json.loads(_entry(ps_stack, "ce")[b"data"])
    # The caller's CloudEvent, completed: no id or datacontenttype added, source defaults to "Dapr".
    assert set(event) == {"data", "pubsubname", "source", "specversion", "time", "topic", "traceid", "traceparent", "tracestate", "type"}
    assert event["source"] == "Dapr" and event["type"] == "com.dapr.event.sent" and event["topic"] == "ce"


def test_F1_2_caller_trace_context_is_carried(ps_stack: PubSubStack) -> None:
    """gRPC: the traceparent header as is (tracestate ignored, as daprd does); HTTP: both."""
    from dapr.proto.runtime.v1 import dapr_pb2_grpc, pubsub_pb2

    with grpc.insecure_channel(f"127.0.0.1:{ps_stack.sidecar.grpc_port}") as channel:
        dapr_pb2_grpc.DaprStub(channel).PublishEvent(
            pubsub_pb2.PublishEventRequest(pubsub_name="messagepubsub", topic="g", data=b"{}", data_content_type="application/json"),
            metadata=[("traceparent", TRACEPARENT), ("tracestate", "k=v")])
    base = f"http://127.0.0.1:{ps_stack.sidecar.http_port}"
    assert httpx.post(f"{base}/v1.0/publish/messagepubsub/h", json={}, headers={"traceparent": TRACEPARENT, "tracestate": "k=v"}).status_code == 204
    assert httpx.post(f"{base}/v1.0/publish/messagepubsub/bad", json={}, headers={"traceparent": "00-zz-1-01"}).status_code == 204
    grpc_event, http_event = json.loads(_entry(ps_stack, "g")[b"data"]), json.loads(_entry(ps_stack, "h")[b"data"])
    assert (grpc_event["traceid"], grpc_event["traceparent"], grpc_event["tracestate"]) == (TRACEPARENT, TRACEPARENT, "")
    assert (http_event["traceid"], http_event["traceparent"], http_event["tracestate"]) == (TRACEPARENT, TRACEPARENT, "k=v")
    assert json.loads(_entry(ps_stack, "bad")[b"data"])["traceid"] == ""


def test_F1_1_publish_errors(ps_stack: PubSubStack) -> None:
    base = f"http://127.0.0.1:{ps_stack.sidecar.http_port}"
    r = httpx.post(f"{base}/v1.0/publish/messagepubsub/t?metadata.rawPayload=maybe", content=b"x")
    assert r.status_code == 400 and r.json() == {
        "errorCode": "ERR_PUBSUB_REQUEST_METADATA",
        "message": "failed deserializing metadata. Error: rawPayload value must be a valid boolean: actual is 'maybe'",
        "details": [
            {"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resource_type": "pubsub", "resource_name": "messagepubsub", "owner": "",
             "description": "failed deserializing metadata. Error: rawPayload value must be a valid boolean: actual is 'maybe'"},
            {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DAPR_PUBSUB_METADATA_DESERIALIZATION", "domain": "dapr.io",
             "metadata": {"rawPayload": "maybe"}},
        ]}
    r = httpx.post(f"{base}/v1.0/publish/nope/t", content=b"x")
    assert r.status_code == 404 and r.json()["details"] == [
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DAPR_PUBSUB_NOT_FOUND", "domain": "dapr.io", "metadata": {}}]
    # An empty topic segment matches no publish route: daprd falls through to service invocation.
    r = httpx.post(f"{base}/v1.0/publish/messagepubsub/", content=b"x")
    assert r.status_code == 404 and r.json()["errorCode"] == "ERR_DIRECT_INVOKE"
    with ps_stack.client() as c:
        with pytest.raises(grpc.RpcError) as err:
            c.publish_event("messagepubsub", "t", b"x", publish_metadata={"rawPayload": "maybe"})
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.RpcError) as err:
            c.publish_event("", "t", b"x")
        assert err.value.code() == grpc.StatusCode.INVALID_ARGUMENT and err.value.details() == "pubsub name is empty"


def test_F3_1_streaming_subscription_success_drop_and_retry(ps_stack: PubSubStack) -> None:
    with ps_stack.client() as c:
        sub = subscribe(c, "messagepubsub", "orders", dead_letter_topic="orders-dead", metadata={"k": "v"})
        try:
            c.publish_event("messagepubsub", "orders", json.dumps({"n": 1}), data_content_type="application/json")
            msg = next_message(sub)
            assert msg.data() == {"n": 1} and msg.topic() == "orders" and msg.source() == "psapp" and msg.pubsub_name() == "messagepubsub"
            assert set(msg.extensions()) == {"pubsubname", "time", "topic", "traceid", "traceparent", "tracestate"}
            sub.respond_success(msg)
            c.publish_event("messagepubsub", "orders", json.dumps({"n": 2}), data_content_type="application/json", publish_metadata={"foo": "bar"})
            msg = next_message(sub)
            sub.respond_drop(msg)
            wait_until(lambda: ps_stack.redis.xlen("orders-dead") == 1)
            # RETRY with no resiliency policy (daprd 1.18): not redelivered, dead-lettered like DROP.
            c.publish_event("messagepubsub", "orders", json.dumps({"n": 3}), data_content_type="application/json")
            msg = next_message(sub)
            assert msg.data() == {"n": 3}
            sub.respond_retry(msg)
            wait_until(lambda: ps_stack.redis.xlen("orders-dead") == 2)
            meta_url = f"http://127.0.0.1:{ps_stack.sidecar.http_port}/v1.0/metadata"
            expected = {"pubsubname": "messagepubsub", "topic": "orders", "metadata": {"k": "v"}, "rules": [{"path": "/"}],
                        "deadLetterTopic": "orders-dead", "type": "STREAMING"}
            assert httpx.get(meta_url).json()["subscriptions"] == [expected]
            (grpc_sub,) = c._stub.GetMetadata(metadata_pb2.GetMetadataRequest()).subscriptions
            assert (grpc_sub.type, [r.path for r in grpc_sub.rules.rules]) == (metadata_pb2.STREAMING, ["/"])
        finally:
            sub.close()
    dead = [(json.loads(fields[b"data"])["data"], fields.get(b"metadata")) for _, fields in ps_stack.redis.xrange("orders-dead")]
    # Dead letters: the original bytes; the metadata gains pubsubName (daprd adds it on delivery).
    assert dead == [({"n": 2}, b'{"foo":"bar","pubsubName":"messagepubsub"}'), ({"n": 3}, b'{"pubsubName":"messagepubsub"}')]
    wait_until(lambda: ps_stack.redis.xinfo_groups("orders")[0]["pending"] == 0)
    assert [g["name"] for g in ps_stack.redis.xinfo_groups("orders")] == [b"psapp"]


def test_F2_4_retry_without_dead_letter_is_acknowledged(ps_stack: PubSubStack) -> None:
    """daprd 1.18, no resiliency policy: RETRY is an error the component acknowledges anyway."""
    with ps_stack.client() as c:
        sub = subscribe(c, "messagepubsub", "plain")
        try:
            c.publish_event("messagepubsub", "plain", json.dumps({"n": 1}), data_content_type="application/json")
            sub.respond_retry(next_message(sub))
            wait_until(lambda: ps_stack.redis.xpending("plain", "psapp")["pending"] == 0)
        finally:
            sub.close()
    assert not ps_stack.redis.exists("plain-dead")


DAPRD_UNREGISTERED_STREAM = 'no streamer subscribed to pubsub \\"messagepubsub\\" topic \\"{topic}\\"'


def test_F2_1_new_group_reads_from_the_start(ps_stack: PubSubStack) -> None:
    """The group is created at 0, so an entry published before anyone subscribed is read.

    Delivered to the stream — except that daprd 1.18.2 starts the component's subscription
    before it registers the stream, so an entry read in between is a delivery error that it
    acknowledges ("no streamer subscribed ...", logged): lost. The local sidecar does not lose
    it. (HTTP delivery has no such window: test_app_delivery checks the same rule strictly.)
    A hand-driven stream is used so that the SDK's start() race is not a second cause.
    """
    with ps_stack.client() as c:
        c.publish_event("messagepubsub", "early", json.dumps({"n": "before"}), data_content_type="application/json")
    ((entry_id, _),) = ps_stack.redis.xrange("early")
    lost = DAPRD_UNREGISTERED_STREAM.format(topic="early")
    with grpc.insecure_channel(f"127.0.0.1:{ps_stack.sidecar.grpc_port}") as channel:
        stream = RawStream(channel, initial(topic="early"))
        try:
            assert stream.next().HasField("initial_response")
            wait_until(lambda: [(g["name"], g["last-delivered-id"]) for g in ps_stack.redis.xinfo_groups("early")] == [(b"psapp", entry_id)])
            wait_until(lambda: not stream.received.empty() or (ps_stack.runtime == "daprd" and lost in ps_stack.sidecar.log_tail(500)),
                       what="the entry delivered (or daprd's unregistered-stream error)")
            if not stream.received.empty():
                event = stream.next_event()
                assert json.loads(event.data) == {"n": "before"}
                stream.send(answer(event.id))
            wait_until(lambda: ps_stack.redis.xpending("early", "psapp")["pending"] == 0)
        finally:
            stream.close()


def test_F3_1_raw_payload_is_a_subscription_setting(ps_stack: PubSubStack) -> None:
    """A raw entry is not a CloudEvent: a normal subscription cannot read it (dead letter); a
    subscription with rawPayload gets it wrapped in a new CloudEvent (source "Dapr")."""
    with grpc.insecure_channel(f"127.0.0.1:{ps_stack.sidecar.grpc_port}") as channel:
        normal = RawStream(channel, initial(topic="rawt", dead_letter_topic="rawt-dead"))
        try:
            normal.next()
            with ps_stack.client() as c:
                c.publish_event("messagepubsub", "rawt", b"raw bytes", publish_metadata={"rawPayload": "true"})
            wait_until(lambda: ps_stack.redis.xlen("rawt-dead") == 1)
            assert normal.received.empty()
        finally:
            normal.close()
        assert ps_stack.redis.xrange("rawt-dead")[0][1][b"data"] == b"raw bytes"
        raw = RawStream(channel, initial(topic="rawt2", rawPayload="true"))
        try:
            raw.next()
            with ps_stack.client() as c:
                c.publish_event("messagepubsub", "rawt2", b"raw bytes", publish_metadata={"rawPayload": "true"})
            event = raw.next_event()
            assert (event.source, event.type, event.data_content_type, event.data) == ("Dapr", "com.dapr.event.sent", "application/octet-stream", b"raw bytes")
            assert set(event.extensions) == {"pubsubname", "topic", "traceid", "tracestate"}
            raw.send(answer(event.id))
        finally:
            raw.close()


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
