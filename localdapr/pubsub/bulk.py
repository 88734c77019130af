"""Bulk publish (gRPC ``BulkPublishEvent``/``BulkPublishEventAlpha1``, HTTP
``/v1.0[-alpha1]/publish/bulk/{pubsub}/{topic}``), as daprd 1.18 does it.

pubsub.redis has no bulk publisher, so daprd falls back to its ``defaultBulkPublisher``: one
``XADD`` per entry, in parallel. Each entry is wrapped in its own CloudEvent (unless the request
says ``rawPayload``); its metadata is the entry's merged over the request's, and *only when the
entry has metadata*: an entry without it gets no ``metadata`` field in the stream and no
``cloudevent.*``/``ttl`` from the request. Entries are checked in order (a missing or repeated
``entryId`` stops the whole request before anything is written). HTTP entries carry their event
as JSON and are turned into bytes by ``ConvertEventToBytes``: binary types need a base64 string,
text types a string, JSON/CloudEvent types any JSON, and any other content type (an empty one
included) is a mismatch.
"""

from __future__ import annotations

import asyncio
import base64
import binascii
from dataclasses import dataclass, field

from localdapr.pubsub import cloudevents, errors, gocompat, service
from localdapr.runtime import Runtime

DUPLICATE_ID = "entryId is duplicated or not present for entry"
MISMATCH = "error: mismatch between contentType and event"


@dataclass
class Entry:
    entry_id: str
    event: bytes
    content_type: str
    metadata: dict[str, str] | None = None  # None: the entry had no metadata (Go nil map)


@dataclass
class Failed:
    entry_id: str
    error: str


@dataclass
class BulkResult:
    failed: list[Failed] = field(default_factory=list)


def entry_metadata(request_md: dict[str, str], entry_md: dict[str, str] | None) -> dict[str, str] | None:
    """``PopulateMetadataForBulkPublishEntry``, applied only to an entry that has metadata."""
    if entry_md is None:
        return None
    return {**request_md, **entry_md}


async def publish(runtime: Runtime, pubsub_name: str, topic: str, entries: list[Entry], metadata: dict[str, str],
                  *, trace: tuple[str, str] = ("", "")) -> BulkResult:
    """Validate, wrap and write every entry; returns the entries the broker refused."""
    pubsub, raw = service.validate(runtime, pubsub_name, topic, metadata)
    seen: set[str] = set()
    bodies: list[bytes] = []
    for entry in entries:
        if not entry.entry_id or entry.entry_id in seen:
            raise errors.marshal_events(pubsub_name, topic, runtime.app_id, DUPLICATE_ID)
        seen.add(entry.entry_id)
        if raw:
            bodies.append(entry.event)
        else:
            bodies.append(service.envelope_bytes(runtime, pubsub_name, topic, entry.event, entry.content_type,
                                                 entry.metadata or {}, trace))

    async def one(entry: Entry, body: bytes) -> Failed | None:
        try:
            await pubsub.publish(topic, body, entry.metadata)
        except Exception as exc:  # noqa: BLE001 - the failed entry carries the broker's error
            return Failed(entry.entry_id, f"redis streams: error from publish: {exc}")
        return None

    results = await asyncio.gather(*(one(e, b) for e, b in zip(entries, bodies)))
    failed = [r for r in results if r is not None]
    if failed:
        # daprd: err is set when any entry failed; the API answers ERR_PUBSUB_PUBLISH_MESSAGE.
        raise BulkPublishFailed(pubsub_name, topic, failed)
    return BulkResult()


class BulkPublishFailed(Exception):
    def __init__(self, pubsub_name: str, topic: str, failed: list[Failed]) -> None:
        super().__init__(failed[0].error)
        self.failed = failed
        self.error = errors.publish_failed(pubsub_name, topic, failed[0].error)


# ---- HTTP entries -------------------------------------------------------------------------------
_GO_TYPES = {dict: "object", list: "array", str: "string", bool: "bool", int: "number", float: "number"}


def _go_type(value: object) -> str:
    return _GO_TYPES.get(type(value), "number")


def http_entries(body: object) -> list[dict[str, object]]:
    """The JSON body as ``[]bulkPublishMessageEntry``; ValueError with Go's decoder text."""
    if body is None:
        return []
    if not isinstance(body, list):
        raise ValueError(f"json: cannot unmarshal {_go_type(body)} into Go value of type []http.bulkPublishMessageEntry")
    out: list[dict[str, object]] = []
    for item in body:
        if item is None:
            out.append({})
            continue
        if not isinstance(item, dict):
            raise ValueError(f"json: cannot unmarshal {_go_type(item)} into Go value of type http.bulkPublishMessageEntry")
        for name in ("entryId", "contentType"):
            if item.get(name) is not None and not isinstance(item[name], str):
                raise ValueError(f"json: cannot unmarshal {_go_type(item[name])} into Go struct field "
                                 f"bulkPublishMessageEntry.{name} of type string")
        md = item.get("metadata")
        if md is not None and not (isinstance(md, dict) and all(isinstance(v, str) for v in md.values())):
            raise ValueError("json: cannot unmarshal " + (f"{_go_type(md)} into Go struct field bulkPublishMessageEntry.metadata of type map[string]string"
                             if not isinstance(md, dict) else "number into Go struct field bulkPublishMessageEntry.metadata of type string"))
        out.append(item)
    return out


def event_bytes(event: object, content_type: str) -> bytes:
    """``ConvertEventToBytes``; ValueError with daprd's text on a mismatch."""
    if cloudevents.is_binary(content_type):
        if not isinstance(event, str):
            raise ValueError(MISMATCH)
        try:
            return base64.b64decode(event, validate=True)
        except (binascii.Error, ValueError) as exc:
            raise ValueError(f"error: unable to decode base64 application/octect-stream data: {_base64_problem(event, exc)}") from None
    if cloudevents.is_string(content_type):
        if not isinstance(event, str):
            raise ValueError(MISMATCH)
        return event.encode()
    if cloudevents.is_json(content_type) or cloudevents.is_cloudevent(content_type):
        return gocompat.dumps_bytes(gocompat.float64_tree(event))
    raise ValueError(MISMATCH)


_B64 = set(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/")


def _base64_problem(text: str, exc: Exception) -> str:
    """Go's ``illegal base64 data at input byte N`` (the first offending byte)."""
    data = text.encode()
    for i, byte in enumerate(data):
        if byte == ord("="):
            return f"illegal base64 data at input byte {i}"
        if byte not in _B64:
            return f"illegal base64 data at input byte {i}"
    return f"illegal base64 data at input byte {len(data) - len(data) % 4}"
