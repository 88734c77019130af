"""The CloudEvent 1.0 envelope daprd wraps around published data (spec F1.2)."""

from __future__ import annotations

import base64
import json
import uuid
from datetime import datetime, timezone
from typing import Any

JSON_TYPES = ("application/json",)


def is_json(content_type: str) -> bool:
    ct = content_type.split(";")[0].strip().lower()
    return ct in JSON_TYPES or ct.endswith("+json")


def is_binary(content_type: str) -> bool:
    ct = content_type.split(";")[0].strip().lower()
    return ct == "application/octet-stream" or ct.startswith(("image/", "audio/", "video/")) or ct == "application/protobuf"


def envelope(data: bytes, content_type: str, *, topic: str, pubsub: str, source: str, metadata: dict[str, str]) -> bytes:
    """Serialised event, keys sorted like Go's encoding/json. ``cloudevent.*`` metadata overrides."""
    content_type = content_type or "text/plain"
    if content_type.split(";")[0].strip() == "application/cloudevents+json":
        event: dict[str, Any] = json.loads(data)
        event.setdefault("specversion", "1.0")
        event.setdefault("source", source)
        event.setdefault("type", "com.dapr.event.sent")
        event.setdefault("id", str(uuid.uuid4()))
    else:
        trace = f"00-{uuid.uuid4().hex}-{uuid.uuid4().hex[:16]}-01"
        event = {
            "id": str(uuid.uuid4()),
            "specversion": "1.0",
            "source": source,
            "type": "com.dapr.event.sent",
            "datacontenttype": content_type,
            "time": datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "traceid": trace,
            "traceparent": trace,
            "tracestate": "",
        }
        if is_json(content_type):
            event["data"] = json.loads(data) if data else None
        elif is_binary(content_type):
            event["data_base64"] = base64.b64encode(data).decode()
        else:
            event["data"] = data.decode(errors="replace")
    for key in ("id", "source", "type", "subject", "traceparent", "traceid", "tracestate"):
        if metadata.get(f"cloudevent.{key}"):
            event[key] = metadata[f"cloudevent.{key}"]
    event["topic"] = topic
    event["pubsubname"] = pubsub
    return json.dumps(event, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def payload_bytes(event: dict[str, Any]) -> bytes:
    """The data of a CloudEvent as bytes, for a streaming subscriber's ``data`` field."""
    if "data_base64" in event:
        return base64.b64decode(event["data_base64"])
    data = event.get("data")
    if isinstance(data, str) and not is_json(event.get("datacontenttype", "")):
        return data.encode()
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False).encode()
