"""Bulk subscriptions (``bulkSubscribe.enabled``) of gRPC and HTTP apps, as daprd 1.18 runs them on
pubsub.redis, which has no bulk subscriber of its own (``pkg/runtime/pubsub/default_bulksub.go``,
``pkg/runtime/subscription/bulksubscription.go``, ``postman/grpc.DeliverBulk``):

* Messages read by the component wait in a batch, which is sent when it holds
  ``maxMessagesCount`` (default 100) or ``maxAwaitDurationMs`` (default 1000) after its first
  message. Each reading worker waits for its batch, so with the component's ``concurrency``
  (10) workers a batch holds at most 10 messages.
* gRPC: the batch is one ``OnBulkTopicEvent`` (``OnBulkTopicEventAlpha1`` when the app answers
  UNIMPLEMENTED): id = a new UUID, type ``com.dapr.event.sent.bulk``, metadata
  ``{"pubsubName": ...}`` (also sent as gRPC metadata), one entry per message with a fresh
  entry id, the message's stream metadata and its CloudEvent (``TopicEventCERequest``: numbers
  re-marshalled as float64, no data for ``data_base64`` events) or, with ``rawPayload``, its bytes.
* Per-entry statuses: SUCCESS acknowledges; RETRY, an unknown status or no status for the entry
  fails it; DROP acknowledges it after sending it to the dead-letter topic. The app answering UNIMPLEMENTED for both methods acknowledges the
  batch; another gRPC error fails every entry. Failed entries go to the dead-letter topic with
  their own stream metadata only; without one they are dropped (the component acknowledges).
* HTTP: one POST of daprd's JSON envelope (:class:`HttpBulkDelivery`); statuses ``""``/RETRY,
  unknown or missing fail an entry; 404 acknowledges the batch, another non-2xx fails it.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import uuid
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import grpc
import httpx
from dapr.proto.runtime.v1 import appcallback_pb2 as pb
from dapr.proto.runtime.v1 import appcallback_pb2_grpc
from google.protobuf import struct_pb2

from localdapr.pubsub import cloudevents, gocompat, service
from localdapr.pubsub.redis_streams import Cancelled, RedisStreamsPubSub, StreamMessage

log = logging.getLogger("localdapr.pubsub")

BULK_EVENT_TYPE = "com.dapr.event.sent.bulk"
DEFAULT_MAX_COUNT = 100
DEFAULT_MAX_AWAIT_MS = 1000


class EntryFailed(Exception):
    """This message's entry failed in its batch (daprd returns the entry's error)."""


@dataclass
class _Waiting:
    msg: StreamMessage
    done: asyncio.Future[str | None]  # None: settled; a string: the entry's error


class Batcher:
    """``processBulkMessagesBatch``: collects messages and flushes them together."""

    def __init__(self, max_count: int, max_await_ms: int, flush: Callable[[list[StreamMessage]], Awaitable[dict[str, str | None]]]) -> None:
        self.max_count = max_count if max_count > 0 else DEFAULT_MAX_COUNT
        self.max_await = (max_await_ms if max_await_ms > 0 else DEFAULT_MAX_AWAIT_MS) / 1000
        self.flush = flush
        self.pending: list[_Waiting] = []
        self._timer: asyncio.TimerHandle | None = None

    async def submit(self, msg: StreamMessage) -> None:
        """Wait for this message's batch; raise EntryFailed if its entry failed."""
        waiting = _Waiting(msg, asyncio.get_running_loop().create_future())
        self.pending.append(waiting)
        if len(self.pending) == 1:
            self._timer = asyncio.get_running_loop().call_later(self.max_await, self._flush_now)
        if len(self.pending) >= self.max_count:
            self._flush_now()
        error = await waiting.done
        if error is not None:
            raise EntryFailed(error)

    def _flush_now(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self.pending = self.pending, []
        if batch:
            asyncio.ensure_future(self._deliver(batch))

    async def _deliver(self, batch: list[_Waiting]) -> None:
        try:
            results = await self.flush([w.msg for w in batch])
        except service.DeliveryTimeout as exc:
            for waiting in batch:  # processingTimeout: left pending, redelivered
                if not waiting.done.done():
                    waiting.done.set_exception(Cancelled(str(exc)))
            return
        except Exception as exc:  # noqa: BLE001 - every entry of the batch fails
            results = {w.msg.id: str(exc) for w in batch}
        for waiting in batch:
            if not waiting.done.done():
                waiting.done.set_result(results.get(waiting.msg.id))


def _ce_entry(event: dict[str, Any]) -> pb.TopicEventCERequest:
    """``extractCloudEvent``: attributes, ``data`` for string/JSON types only, extensions."""
    data = b""
    if event.get("data") is not None:
        content_type = cloudevents.attribute(event, "datacontenttype")
        if cloudevents.is_string(content_type):
            if not isinstance(event["data"], str):
                raise ValueError("unexpected data type encountered in envelope")
            data = event["data"].encode()
        elif cloudevents.is_json(content_type) or cloudevents.is_cloudevent(content_type):
            data = gocompat.dumps_bytes(event["data"])
    ext = struct_pb2.Struct()
    ext.update(cloudevents.extensions(event))
    return pb.TopicEventCERequest(id=cloudevents.attribute(event, "id"), source=cloudevents.attribute(event, "source"),
                                  type=cloudevents.attribute(event, "type"), spec_version=cloudevents.attribute(event, "specversion"),
                                  data_content_type=cloudevents.attribute(event, "datacontenttype"), data=data, extensions=ext)


class BulkDelivery:
    """One bulk subscription: builds the batch, calls the app (``_entry``/``_call``, per
    transport), settles each entry."""

    def __init__(self, runtime: Any, pubsub_name: str, path: str, dead_letter_topic: str, sub_metadata: dict[str, str],
                 timeout: float | None) -> None:
        self.runtime = runtime
        self.pubsub_name = pubsub_name
        self.path = path
        self.dead_letter_topic = dead_letter_topic
        self.raw = bool(sub_metadata.get("rawPayload")) and gocompat.parse_bool(sub_metadata["rawPayload"])
        self.timeout = timeout

    def _pubsub(self) -> RedisStreamsPubSub:
        return service.get_pubsub(self.runtime, self.pubsub_name)

    async def flush(self, messages: list[StreamMessage]) -> dict[str, str | None]:
        """daprd's bulk handler: returns each message's error (None: settled)."""
        results: dict[str, str | None] = {}
        entries: list[Any] = []
        by_entry: dict[str, StreamMessage] = {}
        for msg in messages:
            entry_id = str(uuid.uuid4())
            if self.raw:
                entry = self._entry(entry_id, msg, None)
            else:
                try:
                    event = gocompat.float64_tree(gocompat.loads_strict(msg.data))
                    if not isinstance(event, dict):
                        raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
                except ValueError as exc:
                    log.error("error deserializing one of the messages in bulk cloud event in pubsub %s and topic %s: %s",
                              self.pubsub_name, msg.topic, exc)
                    results[msg.id] = str(exc)
                    continue
                if cloudevents.has_expired(event):
                    log.warning("dropping expired pub/sub event %s as of %s", event.get("id"), event.get("expiration"))
                    if self.dead_letter_topic:
                        await self._dead_letter(msg)
                    results[msg.id] = None
                    continue
                try:
                    entry = self._entry(entry_id, msg, event)
                except ValueError as exc:
                    results[msg.id] = str(exc)
                    continue
            entries.append(entry)
            by_entry[entry_id] = msg
        if entries:
            results.update(await self._call(entries, by_entry, messages[0].topic))
        failed = [m for m in messages if results.get(m.id) is not None]
        if failed and self.dead_letter_topic:
            # sendBulkToDeadLetter: the failed entries' original bytes and stream metadata.
            await asyncio.gather(*(self._pubsub().publish(self.dead_letter_topic, m.data, m.metadata if m.has_metadata else None) for m in failed))
            return {m.id: None for m in messages}
        return results

    def _entry(self, entry_id: str, msg: StreamMessage, event: dict[str, Any] | None) -> Any:
        raise NotImplementedError

    async def _call(self, entries: list[Any], by_entry: dict[str, StreamMessage], topic: str) -> dict[str, str | None]:
        raise NotImplementedError

    async def _dead_letter(self, msg: StreamMessage) -> None:
        """The entry's bytes and its own stream metadata (no ``pubsubName``: bulk messages come
        straight from the component, unlike single deliveries)."""
        try:
            await self._pubsub().publish(self.dead_letter_topic, msg.data, msg.metadata if msg.has_metadata else None)
        except Exception as exc:  # noqa: BLE001 - daprd ignores this error
            log.error("error sending message to dead letter, origin topic: %s dead letter topic %s err: %s", msg.topic, self.dead_letter_topic, exc)


class GrpcBulkDelivery(BulkDelivery):
    """``postman/grpc.DeliverBulk``."""

    def __init__(self, runtime: Any, channel: grpc.aio.Channel, *args: Any) -> None:
        super().__init__(runtime, *args)
        self.v1 = appcallback_pb2_grpc.AppCallbackStub(channel)
        self.alpha = appcallback_pb2_grpc.AppCallbackAlphaStub(channel)

    def _entry(self, entry_id: str, msg: StreamMessage, event: dict[str, Any] | None) -> pb.TopicEventBulkRequestEntry:
        if event is None:
            return pb.TopicEventBulkRequestEntry(entry_id=entry_id, bytes=msg.data, metadata=msg.metadata)
        return pb.TopicEventBulkRequestEntry(entry_id=entry_id, cloud_event=_ce_entry(event), metadata=msg.metadata)

    async def _call(self, entries: list[Any], by_entry: dict[str, StreamMessage], topic: str) -> dict[str, str | None]:
        request = pb.TopicEventBulkRequest(id=str(uuid.uuid4()), entries=entries, metadata={service.METADATA_KEY_PUBSUB: self.pubsub_name},
                                           topic=topic, pubsub_name=self.pubsub_name, type=BULK_EVENT_TYPE, path=self.path)
        md = [("pubsubname", self.pubsub_name)]
        try:
            try:
                response = await self.v1.OnBulkTopicEvent(request, metadata=md, timeout=self.timeout)
            except grpc.aio.AioRpcError as exc:
                if exc.code() != grpc.StatusCode.UNIMPLEMENTED:
                    raise
                log.warning("falling back to OnBulkTopicEventAlpha1 due to unimplemented error: %s", exc.details())
                response = await self.alpha.OnBulkTopicEventAlpha1(request, metadata=md, timeout=self.timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                log.warning("non-retriable error returned from app while processing bulk pub/sub event: %s", exc.details())
                return {m.id: None for m in by_entry.values()}
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED and self.timeout is not None:
                raise service.DeliveryTimeout("app did not answer the bulk event within processingTimeout") from exc
            problem = f"error returned from app while processing bulk pub/sub event: {exc.details()}"
            return {m.id: problem for m in by_entry.values()}
        results: dict[str, str | None] = {}
        for status in response.statuses:
            msg = by_entry.get(status.entry_id)
            if msg is None:
                log.warning("Invalid entry id received from app while processing pub/sub event %s", status.entry_id)
                continue
            if status.status == pb.TopicEventResponse.SUCCESS:
                results[msg.id] = None
            elif status.status == pb.TopicEventResponse.DROP:
                log.warning("DROP status returned from app while processing pub/sub event for entry id: %s", status.entry_id)
                results[msg.id] = None
                if self.dead_letter_topic:
                    await self._dead_letter(msg)
            elif status.status == pb.TopicEventResponse.RETRY:
                results[msg.id] = f"RETRY status returned from app while processing pub/sub event for entry id: {status.entry_id}"
            else:
                results[msg.id] = f"unknown status returned from app while processing pub/sub event  for entry id {status.entry_id}: {status.status}"
        for entry_id, msg in by_entry.items():
            if msg.id not in results:
                results[msg.id] = f"response not received, RETRY required while processing bulk subscribe event for entry id: {entry_id}"
        return results


class HttpBulkDelivery(BulkDelivery):
    """``postman/http.DeliverBulk``: one POST of daprd's bulk envelope to the rule's path."""

    def __init__(self, runtime: Any, client: httpx.AsyncClient, *args: Any) -> None:
        super().__init__(runtime, *args)
        self.client = client

    def _entry(self, entry_id: str, msg: StreamMessage, event: dict[str, Any] | None) -> dict[str, Any]:
        """``BulkSubscribeMessageItem``: the CloudEvent (or, raw, the bytes in base64) and the
        message's metadata (``null`` when it has none)."""
        item: dict[str, Any] = {"entryId": entry_id}
        if event is None:
            item["event"] = base64.b64encode(msg.data).decode()
            content_type = "application/octet-stream"
        else:
            item["event"] = event
            content_type = cloudevents.CLOUDEVENT_CONTENT_TYPE
        item["metadata"] = msg.metadata if msg.has_metadata else None
        item["contentType"] = content_type
        return item

    async def _call(self, entries: list[Any], by_entry: dict[str, StreamMessage], topic: str) -> dict[str, str | None]:
        envelope = {"entries": entries, "id": str(uuid.uuid4()), "metadata": {service.METADATA_KEY_PUBSUB: self.pubsub_name},
                    "pubsubname": self.pubsub_name, "topic": topic, "type": BULK_EVENT_TYPE}
        headers = {service.METADATA_KEY_PUBSUB: self.pubsub_name, "Content-Type": "application/json"}
        every = list(by_entry.values())
        try:
            resp = await self.client.post(self.path, content=_ordered_json(envelope), headers=headers, timeout=self.timeout)
        except httpx.TimeoutException as exc:
            raise service.DeliveryTimeout("app did not answer the bulk event within processingTimeout") from exc
        except httpx.HTTPError as exc:
            problem = f"error from app channel while sending pub/sub event to app: {exc}"
            return {m.id: problem for m in every}
        if resp.status_code == 404:
            log.error("Non-retriable error returned from app while processing bulk pub/sub event. status code returned: %s", resp.status_code)
            return {m.id: None for m in every}
        if not 200 <= resp.status_code <= 299:
            problem = f"Retriable error returned from app while processing bulk pub/sub event, topic: {topic}. status code returned: {resp.status_code}"
            log.warning(problem)
            return {m.id: problem for m in every}
        try:
            answer = gocompat.loads_first(resp.content)
            statuses = answer.get("statuses") if isinstance(answer, dict) else None
            if statuses is not None and not isinstance(statuses, list):
                raise ValueError("json: cannot unmarshal into Go struct field AppBulkResponse.statuses")
        except ValueError as exc:
            problem = f"failed unmarshalling app response for bulk subscribe: {exc}"
            return {m.id: problem for m in every}
        results: dict[str, str | None] = {}
        for item in statuses or []:
            entry_id = item.get("entryId", "") if isinstance(item, dict) else ""
            status = item.get("status", "") if isinstance(item, dict) else ""
            msg = by_entry.get(entry_id)
            if msg is None:
                log.warning("Invalid entry id received from app while processing pub/sub event %s", entry_id)
                continue
            if status == "SUCCESS":
                results[msg.id] = None
            elif status == "DROP":
                log.warning("DROP status returned from app while processing pub/sub event %s", entry_id)
                results[msg.id] = None
                if self.dead_letter_topic:
                    await self._dead_letter(msg)
            elif status in ("", "RETRY"):
                results[msg.id] = f"RETRY required while processing bulk subscribe event for entry id: {entry_id}"
            else:
                results[msg.id] = f"unknown status returned from app while processing bulk subscribe event {entry_id}: {status}"
        for entry_id, msg in by_entry.items():
            if msg.id not in results:
                results[msg.id] = f"response not received, RETRY required while processing bulk subscribe event for entry id: {entry_id}"
        return results


def _ordered_json(envelope: dict[str, Any]) -> bytes:
    """Go's ``json.Marshal`` of the envelope (a map: sorted keys) whose entries are structs
    (fields in declaration order: entryId, event, metadata, contentType)."""
    items = []
    for entry in envelope["entries"]:
        md = entry["metadata"]
        items.append("{" + ",".join([
            '"entryId":' + gocompat.dumps(entry["entryId"]), '"event":' + gocompat.dumps(entry["event"]),
            '"metadata":' + ("null" if md is None else gocompat.dumps(md)), '"contentType":' + gocompat.dumps(entry["contentType"]),
        ]) + "}")
    rest = {k: v for k, v in envelope.items() if k != "entries"}
    body = gocompat.dumps(rest)
    return ('{"entries":[' + ",".join(items) + "]," + body[1:]).encode()
