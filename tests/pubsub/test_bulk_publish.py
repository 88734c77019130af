"""Bulk publish over gRPC (``BulkPublishEvent`` and ``BulkPublishEventAlpha1``) and HTTP
(``/v1.0[-alpha1]/publish/bulk/...``): what daprd 1.18.2 writes per entry and how it refuses."""

from __future__ import annotations

import json
from typing import Any, Iterator

import grpc
import httpx
import pytest
from dapr.proto.runtime.v1 import dapr_pb2_grpc, pubsub_pb2

from tests.pubsub.conftest import write_resources
from tests.stacks import SidecarStack, start_stack

TRACEPARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
Entry = pubsub_pb2.BulkPublishRequestEntry


@pytest.fixture(scope="module")
def stack(dapr_runtime: str) -> Iterator[SidecarStack]:
    st = start_stack("bulkapp", write_resources, dapr_runtime)
    yield st
    st.stop()


@pytest.fixture(scope="module")
def stub(stack: SidecarStack) -> Iterator[dapr_pb2_grpc.DaprStub]:
    with grpc.insecure_channel(f"127.0.0.1:{stack.sidecar.grpc_port}") as channel:
        yield dapr_pb2_grpc.DaprStub(channel)


def _entries(stack: SidecarStack, topic: str) -> list[dict[str, Any]]:
    """Each stream entry as {"event": <decoded data or raw bytes>, "metadata": <dict or None>}."""
    out = []
    for _, fields in stack.redis.xrange(topic):
        data = fields[b"data"]
        try:
            event: Any = json.loads(data)
        except ValueError:
            event = data
        out.append({"event": event, "metadata": json.loads(fields[b"metadata"]) if b"metadata" in fields else None})
    return out


def _by_data(entries: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {json.dumps(e["event"].get("data", e["event"].get("data_base64")), sort_keys=True): e for e in entries}


def _error(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.RpcError) as info:
        call()
    return info.value.code(), info.value.details()


def test_grpc_bulk_publish_wraps_each_entry(stack: SidecarStack, stub: dapr_pb2_grpc.DaprStub) -> None:
    request = pubsub_pb2.BulkPublishRequest(pubsub_name="messagepubsub", topic="bulk1", metadata={"rm": "x", "cloudevent.type": "reqtype"},
                                            entries=[
                                                Entry(entry_id="1", event=b'{"a":1.50,"b":"<x>"}', content_type="application/json"),
                                                Entry(entry_id="2", event=b"hello", content_type="text/plain",
                                                      metadata={"em": "y", "cloudevent.source": "src"}),
                                                Entry(entry_id="3", event=b"\x00\x01", content_type="application/octet-stream"),
                                                Entry(entry_id="4", event=b"hi"),
                                            ])
    response = stub.BulkPublishEvent(request, metadata=[("traceparent", TRACEPARENT)])
    assert list(response.failedEntries) == []
    entries = _by_data(_entries(stack, "bulk1"))
    assert set(entries) == {'{"a": 1.5, "b": "<x>"}', '"hello"', '"AAE="', '"hi"'}
    # An entry without metadata gets none of the request's: no stream metadata, no overrides.
    json_entry = entries['{"a": 1.5, "b": "<x>"}']
    assert json_entry["metadata"] is None and json_entry["event"]["type"] == "com.dapr.event.sent"
    assert json_entry["event"]["source"] == "bulkapp" and json_entry["event"]["datacontenttype"] == "application/json"
    assert json_entry["event"]["traceparent"] == json_entry["event"]["traceid"] == TRACEPARENT
    # An entry with metadata gets the request's merged under its own, overrides included.
    text_entry = entries['"hello"']
    assert text_entry["metadata"] == {"rm": "x", "cloudevent.type": "reqtype", "em": "y", "cloudevent.source": "src"}
    assert text_entry["event"]["type"] == "reqtype" and text_entry["event"]["source"] == "src"
    assert entries['"AAE="']["event"]["datacontenttype"] == "application/octet-stream"
    assert entries['"hi"']["event"]["datacontenttype"] == "text/plain"
    raw = [f[b"data"] for _, f in stack.redis.xrange("bulk1") if b'"a":' in f[b"data"]][0]
    assert b'{"a":1.50,"b":"\\u003cx\\u003e"}' in raw  # Go's encoder, numbers as written
    assert len({e["event"]["id"] for e in entries.values()}) == 4


def test_grpc_bulk_publish_alpha1_and_raw_payload(stack: SidecarStack, stub: dapr_pb2_grpc.DaprStub) -> None:
    response = stub.BulkPublishEventAlpha1(pubsub_pb2.BulkPublishRequest(
        pubsub_name="messagepubsub", topic="bulk2", metadata={"rawPayload": "true"},
        entries=[Entry(entry_id="1", event=b"raw1"), Entry(entry_id="2", event=b"raw2", metadata={"k": "v"})]))
    assert list(response.failedEntries) == []
    got = sorted(_entries(stack, "bulk2"), key=lambda e: e["event"])
    assert got == [{"event": b"raw1", "metadata": None}, {"event": b"raw2", "metadata": {"k": "v", "rawPayload": "true"}}]


def test_grpc_bulk_publish_errors(stack: SidecarStack, stub: dapr_pb2_grpc.DaprStub) -> None:
    def call(**kwargs: Any) -> tuple[grpc.StatusCode, str]:
        return _error(lambda: stub.BulkPublishEvent(pubsub_pb2.BulkPublishRequest(**kwargs)))

    invalid = grpc.StatusCode.INVALID_ARGUMENT
    duplicate = (invalid, "error marshaling events to bytes for topic bulk3 pubsub messagepubsub. error: "
                          "entryId is duplicated or not present for entry")
    assert call(pubsub_name="messagepubsub", topic="bulk3", entries=[Entry(entry_id="1", event=b"x"), Entry(entry_id="1", event=b"y")]) == duplicate
    assert call(pubsub_name="messagepubsub", topic="bulk3", entries=[Entry(event=b"x")]) == duplicate
    assert call(pubsub_name="nope", topic="bulk3", entries=[Entry(entry_id="1", event=b"x")]) == (invalid, "pubsub nope is not found")
    assert call(pubsub_name="", topic="bulk3") == (invalid, "pubsub name is empty")
    assert call(pubsub_name="messagepubsub", topic="") == (invalid, "topic is empty in pubsub messagepubsub")
    assert call(pubsub_name="messagepubsub", topic="bulk3", metadata={"rawPayload": "yes"}) == (
        invalid, "failed deserializing metadata. Error: rawPayload value must be a valid boolean: actual is 'yes'")
    assert call(pubsub_name="messagepubsub", topic="bulk3",
                entries=[Entry(entry_id="1", event=b"[1]", content_type="application/cloudevents+json")]) == (invalid, "cannot create cloudevent")
    assert stack.redis.xlen("bulk3") == 0  # a refused request writes nothing
    assert list(stub.BulkPublishEvent(pubsub_pb2.BulkPublishRequest(pubsub_name="messagepubsub", topic="bulk3")).failedEntries) == []


def test_http_bulk_publish(stack: SidecarStack) -> None:
    base = f"http://127.0.0.1:{stack.sidecar.http_port}"
    body = [
        {"entryId": "1", "event": {"a": 1.50, "n": 1e5, "big": 12345678901234567890, "s": "<&>"}, "contentType": "application/json"},
        {"entryId": "2", "event": "hello", "contentType": "text/plain", "metadata": {}},
        {"entryId": "3", "event": "AAE=", "contentType": "application/octet-stream", "metadata": {"em": "y"}},
        {"entryId": "4", "event": {"specversion": "1.0", "id": "ce-4", "source": "me", "type": "t", "data": "d"},
         "contentType": "application/cloudevents+json"},
    ]
    r = httpx.post(f"{base}/v1.0-alpha1/publish/bulk/messagepubsub/hbulk1?metadata.rm=x", content=json.dumps(body),
                   headers={"traceparent": TRACEPARENT})
    assert (r.status_code, r.content) == (204, b"")
    entries = _entries(stack, "hbulk1")
    by_data = _by_data(entries)
    # JSON is decoded into Go values without UseNumber: every number is re-written as a float64.
    raw = [f[b"data"] for _, f in stack.redis.xrange("hbulk1") if b'"big"' in f[b"data"]][0]
    assert b'"data":{"a":1.5,"big":12345678901234567000,"n":100000,"s":"\\u003c\\u0026\\u003e"}' in raw
    assert by_data['{"a": 1.5, "big": 12345678901234567000, "n": 100000, "s": "<&>"}']["metadata"] is None
    # "metadata": {} is an entry *with* metadata: it gets the request's.
    assert by_data['"hello"']["metadata"] == {"rm": "x"}
    assert by_data['"AAE="']["metadata"] == {"em": "y", "rm": "x"}
    ce = by_data['"d"']["event"]
    assert ce["id"] == "ce-4" and ce["source"] == "me" and ce["topic"] == "hbulk1" and ce["traceparent"] == TRACEPARENT
    assert httpx.post(f"{base}/v1.0/publish/bulk/messagepubsub/hbulk2?metadata.rawPayload=true",
                      json=[{"entryId": "1", "event": "raw", "contentType": "text/plain"},
                            {"entryId": "2", "event": {"j": 1}, "contentType": "application/json", "metadata": {"k": "v"}}]).status_code == 204
    got = {str(e["event"]): e["metadata"] for e in _entries(stack, "hbulk2")}
    # rawPayload: the bytes as converted, no envelope; the request's metadata only on entries with metadata.
    assert got == {"b'raw'": None, "{'j': 1}": {"k": "v", "rawPayload": "true"}}


@pytest.mark.parametrize("body, reason, problem", [
    ([{"entryId": "1", "event": "x"}], "DAPR_PUBSUB_MARSHAL_ENVELOPE", "error: mismatch between contentType and event"),
    ([{"entryId": "1", "event": 5, "contentType": "text/plain"}], "DAPR_PUBSUB_MARSHAL_ENVELOPE", "error: mismatch between contentType and event"),
    ([{"entryId": "1", "event": 5, "contentType": "application/octet-stream"}], "DAPR_PUBSUB_MARSHAL_ENVELOPE",
     "error: mismatch between contentType and event"),
    ([{"entryId": "1", "event": "no base64!", "contentType": "application/octet-stream"}], "DAPR_PUBSUB_MARSHAL_ENVELOPE",
     "error: unable to decode base64 application/octect-stream data: illegal base64 data at input byte 2"),
    ([{"event": "x", "contentType": "text/plain"}], "DAPR_PUBSUB_MARSHAL_EVENTS", "entryId is duplicated or not present for entry"),
    ([{"entryId": "1", "event": "x", "contentType": "text/plain"}, {"entryId": "1", "event": "y", "contentType": "text/plain"}],
     "DAPR_PUBSUB_MARSHAL_EVENTS", "entryId is duplicated or not present for entry"),
    ({"entryId": "1"}, "DAPR_PUBSUB_UNMARSHAL_EVENTS", "json: cannot unmarshal object into Go value of type []http.bulkPublishMessageEntry"),
    ([{"entryId": 5}], "DAPR_PUBSUB_UNMARSHAL_EVENTS",
     "json: cannot unmarshal number into Go struct field bulkPublishMessageEntry.entryId of type string"),
    (b"", "DAPR_PUBSUB_UNMARSHAL_EVENTS", "EOF"),
    (b"x", "DAPR_PUBSUB_UNMARSHAL_EVENTS", "invalid character 'x' looking for beginning of value"),
])
def test_http_bulk_publish_errors(stack: SidecarStack, body: Any, reason: str, problem: str) -> None:
    base = f"http://127.0.0.1:{stack.sidecar.http_port}"
    content = body if isinstance(body, bytes) else json.dumps(body).encode()
    r = httpx.post(f"{base}/v1.0/publish/bulk/messagepubsub/hbad", content=content)
    assert r.status_code == 400
    doc = r.json()
    prefix = {
        "DAPR_PUBSUB_MARSHAL_ENVELOPE": "error when marshalling cloud event envelope for topic hbad pubsub messagepubsub: ",
        "DAPR_PUBSUB_MARSHAL_EVENTS": "error marshaling events to bytes for topic hbad pubsub messagepubsub. error: ",
        "DAPR_PUBSUB_UNMARSHAL_EVENTS": "error when unmarshaling the request for topic hbad pubsub messagepubsub: ",
    }[reason]
    assert doc["errorCode"] == "ERR_PUBSUB_EVENTS_SER" and doc["message"] == prefix + problem
    resource, info = doc["details"]
    assert resource == {"@type": "type.googleapis.com/google.rpc.ResourceInfo", "description": prefix + problem, "owner": "",
                        "resource_name": "messagepubsub", "resource_type": "pubsub"}
    expected_md = {"appID": "bulkapp"} if reason == "DAPR_PUBSUB_UNMARSHAL_EVENTS" else {"appID": "bulkapp", "error": problem}
    assert info == {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "dapr.io", "metadata": expected_md, "reason": reason}
    assert stack.redis.xlen("hbad") == 0


def test_http_bulk_publish_routing(stack: SidecarStack) -> None:
    """No bulk route without a topic: daprd's router hands it to ``publish/{pubsubname}/*``."""
    base = f"http://127.0.0.1:{stack.sidecar.http_port}"
    for path in ("/v1.0/publish/bulk/messagepubsub/", "/v1.0/publish/bulk//x"):
        r = httpx.post(base + path, json=[])
        assert (r.status_code, r.json()["errorCode"], r.json()["message"]) == (404, "ERR_PUBSUB_NOT_FOUND", "pubsub bulk is not found")
    r = httpx.post(f"{base}/v1.0/publish/bulk/nope/t", json=[])
    assert (r.status_code, r.json()["errorCode"]) == (404, "ERR_PUBSUB_NOT_FOUND")
