"""The CloudEvent 1.0 envelope daprd wraps around published data, and how it is read back for a
subscriber (spec F1.2). Each function follows one daprd / components-contrib 1.18 function,
named in its docstring, because subscribers and tests compare the bytes in the stream.
"""

from __future__ import annotations

import base64
import uuid
from datetime import datetime, timedelta, timezone
from typing import Any

from localdapr.pubsub import gocompat

DEFAULT_SOURCE = "Dapr"
DEFAULT_TYPE = "com.dapr.event.sent"
SPEC_VERSION = "1.0"
DEFAULT_CONTENT_TYPE = "text/plain"
CLOUDEVENT_CONTENT_TYPE = "application/cloudevents+json"

# Attributes a subscriber gets as TopicEventRequest fields, not as extensions.
_NOT_EXTENSIONS = {"id", "source", "datacontenttype", "type", "specversion", "data", "data_base64"}
# NewCloudEvent's "cloudevent.*" overrides (mapstructure: keys matched case-insensitively).
_OVERRIDES = ("id", "traceid", "tracestate", "source", "type", "traceparent", "subject")


class CloudEventError(ValueError):
    """The data claims to be a CloudEvent (content type) but is not a JSON object."""


def _is(content_type: str, expected: str) -> bool:
    """contenttype.isContentType: exact (case-insensitive) or exact before a ``;``."""
    ct = content_type.lower()
    return ct == expected or (";" in ct and ct.split(";", 1)[0] == expected)


def is_json(content_type: str) -> bool:
    """Only ``application/json`` (``+json`` types are *not* JSON to daprd)."""
    return _is(content_type, "application/json")


def is_cloudevent(content_type: str) -> bool:
    return _is(content_type, CLOUDEVENT_CONTENT_TYPE)


def is_binary(content_type: str) -> bool:
    """Only ``application/octet-stream`` (not ``image/*``, not ``application/protobuf``)."""
    return _is(content_type, "application/octet-stream")


def _base64_data(content_type: str) -> bool:
    """Envelope data daprd base64-encodes: binary, or a CloudEvent in protobuf. (daprd also
    does it for ``application/protobuf`` data that parses as a protobuf CloudEvent; the local
    sidecar does not inspect protobuf and writes such data as a string.)"""
    return is_binary(content_type) or _is(content_type, "application/cloudevents+protobuf")


def is_string(content_type: str) -> bool:
    return content_type.lower().startswith("text/") or _is(content_type, "application/xml")


def _overrides(metadata: dict[str, str]) -> dict[str, str]:
    lowered = {k.lower(): v for k, v in metadata.items()}
    return {key: lowered[f"cloudevent.{key}"] for key in _OVERRIDES if f"cloudevent.{key}" in lowered}


def new_envelope(data: bytes, content_type: str, *, topic: str, pubsub: str, source: str, trace_id: str,
                 trace_state: str, metadata: dict[str, str]) -> dict[str, Any]:
    """runtime/pubsub.NewCloudEvent + contrib NewCloudEventsEnvelope + ApplyMetadata (TTL)."""
    if is_cloudevent(content_type):
        event = from_cloud_event(data, topic, pubsub, trace_id, trace_state)
    else:
        fields = {"id": "", "source": source, "type": "", "subject": "", "traceid": trace_id, "tracestate": trace_state, "traceparent": ""}
        fields.update(_overrides(metadata))
        if fields["traceparent"]:
            fields["traceid"] = fields["traceparent"]
        content_type = content_type or DEFAULT_CONTENT_TYPE
        event = {
            "id": fields["id"] or str(uuid.uuid4()),
            "specversion": SPEC_VERSION,
            "datacontenttype": content_type,
            "source": fields["source"] or DEFAULT_SOURCE,
            "type": fields["type"] or DEFAULT_TYPE,
            "topic": topic,
            "pubsubname": pubsub,
            "traceid": fields["traceid"],
            "traceparent": fields["traceid"],
            "tracestate": fields["tracestate"],
            "time": gocompat.rfc3339(),
        }
        data_field, data_value = envelope_data(data, content_type)
        event[data_field] = data_value
        if fields["subject"]:
            event["subject"] = fields["subject"]
    ttl = _ttl_seconds(metadata)
    if ttl is not None:
        event["expiration"] = gocompat.rfc3339_utc(datetime.now(timezone.utc) + timedelta(seconds=ttl))
    return event


def envelope_data(data: bytes, content_type: str) -> tuple[str, Any]:
    """NewCloudEventsEnvelope's data attribute: JSON decoded (UseNumber; a string if it does not
    parse), ``data_base64`` for binary, else the bytes as a string."""
    if is_json(content_type):
        try:
            return "data", gocompat.loads_first(data)
        except ValueError:
            return "data", data.decode("utf-8", errors="replace")
    if _base64_data(content_type):
        return "data_base64", base64.b64encode(data).decode()
    return "data", data.decode("utf-8", errors="replace")


def from_cloud_event(data: bytes, topic: str, pubsub: str, trace_id: str, trace_state: str) -> dict[str, Any]:
    """contrib pubsub.FromCloudEvent: the caller's own event, completed (no ``id`` is added)."""
    try:
        event = gocompat.loads_first(data)
    except ValueError as exc:
        raise CloudEventError(str(exc)) from exc
    if not isinstance(event, dict):
        raise CloudEventError("json: cannot unmarshal into Go value of type map[string]interface {}")
    event.setdefault("time", gocompat.rfc3339())
    if "traceid" not in event:
        event["traceid"] = trace_id
        event["traceparent"] = trace_id
    if "tracestate" not in event:
        event["tracestate"] = trace_state
    event["topic"] = topic
    event["pubsubname"] = pubsub
    for key, default in (("source", DEFAULT_SOURCE), ("type", DEFAULT_TYPE), ("specversion", SPEC_VERSION)):
        if event.get(key) is None:
            event[key] = default
    return event


def _ttl_seconds(metadata: dict[str, str]) -> float | None:
    """contrib metadata.TryGetTTL (``ttl`` or ``ttlInSeconds``, any case); errors are ignored
    by daprd's ApplyMetadata, so an invalid value means no expiration."""
    lowered = {k.lower(): v for k, v in metadata.items()}
    value = lowered["ttl"] if "ttl" in lowered else lowered.get("ttlinseconds", "")
    if not value:
        return None
    try:
        return max(gocompat.parse_duration(value), 0.0)
    except ValueError:
        pass
    try:
        seconds = int(value)
    except ValueError:
        return None
    return float(seconds) if seconds > 0 else None


def from_raw_payload(data: bytes, topic: str, pubsub: str) -> dict[str, Any]:
    """contrib pubsub.FromRawPayload: what a ``rawPayload`` subscription sees."""
    return {
        "id": str(uuid.uuid4()), "specversion": SPEC_VERSION, "datacontenttype": "application/octet-stream",
        "source": DEFAULT_SOURCE, "type": DEFAULT_TYPE, "topic": topic, "pubsubname": pubsub,
        "data_base64": base64.b64encode(data).decode(),
    }


def has_expired(event: dict[str, Any]) -> bool:
    """contrib pubsub.HasExpired (an unparsable expiration never expires)."""
    value = event.get("expiration")
    if not isinstance(value, str) or not value:
        return False
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    if moment.tzinfo is None:
        return False
    return moment < datetime.now(timezone.utc)


def attribute(event: dict[str, Any], name: str) -> str:
    """ExtractCloudEventProperty: the attribute if it is a JSON string, else ``""``."""
    value = event.get(name)
    return value if isinstance(value, str) else ""


def payload_bytes(event: dict[str, Any]) -> bytes:
    """GRPCEnvelopeFromSubscriptionMessage's ``data``: base64-decoded ``data_base64``; a string
    ``data`` for text types; ``data`` re-encoded for JSON and CloudEvent types; else nothing.
    Raises ValueError where daprd fails the delivery (bad base64, non-string text data)."""
    content_type = attribute(event, "datacontenttype")
    if event.get("data_base64") is not None:
        encoded = event["data_base64"]
        if not isinstance(encoded, str):
            raise ValueError("unexpected data type encountered in envelope")
        return base64.b64decode(encoded, validate=True)
    data = event.get("data")
    if data is None:
        return b""
    if is_string(content_type):
        if not isinstance(data, str):
            raise ValueError("unexpected data type encountered in envelope")
        return data.encode()
    if is_json(content_type) or is_cloudevent(content_type):
        return gocompat.dumps_bytes(data)
    return b""


def extensions(event: dict[str, Any]) -> dict[str, Any]:
    """ExtractCloudEventExtensions: every other attribute (topic, pubsubname, time, trace...)."""
    return {k: gocompat.plain(v) for k, v in event.items() if k not in _NOT_EXTENSIONS}
