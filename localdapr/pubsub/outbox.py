"""The transactional outbox (a state store with ``outboxPublishPubsub`` + ``outboxPublishTopic``),
as daprd 1.18 does it (``pkg/runtime/pubsub/outbox.go``), in two phases:

1. **In the transaction** (before the store's MULTI): every upsert becomes a CloudEvent whose
   ``id`` is a fresh ``outbox-<uuid>``, published to the *internal* topic
   ``<namespace><appID><topic>outbox`` (namespace ``default`` in self-hosted mode) on
   ``outboxPubsub`` (default: the publish pubsub); the transaction gains one upsert per event,
   ``outbox-<uuid>`` = ``"0"`` (not key-prefixed). An upsert with metadata ``outbox.projection``
   = true is *removed* from the transaction: its value is what the event carries for that key,
   while the other upsert of the key is what is saved. The operation's own metadata is copied
   into the event (all but ``id``/``data``); the event has ``topic`` ``""``, ``traceparent``
   ``""`` and ``traceid`` = the caller's trace. Values: gRPC bytes as they are; HTTP JSON values
   are formatted with Go's ``%v`` (``map[a:1]``, ``<nil>``, ``1.23456785e+07``) unless the
   operation's ``contentType`` is ``application/json``.
2. **The internal subscription** (consumer group = ``consumerID``/app id): wait 1 s, then look
   the ``outbox-<uuid>`` row up (exponential backoff, up to 10 s): found, the event is
   re-published to the user's pubsub/topic with ``topic``/``pubsubname`` set to them, then the
   row is deleted. Not found (the transaction failed): logged and dropped
   (``outboxDiscardWhenMissingState`` only changes the log line with pubsub.redis, which
   acknowledges a failed message either way).
"""

from __future__ import annotations

import asyncio
import json
import logging
import random
import uuid
from dataclasses import dataclass
from typing import Any

from localdapr.gojson import go_value_text
from localdapr.pubsub import cloudevents, errors, gocompat
from localdapr.pubsub.redis_streams import Cancelled, StreamMessage
from localdapr.redisconn import is_truthy
from localdapr.runtime import Runtime
from localdapr.state.base import DeleteRequest, SetRequest, TransactionOperation

log = logging.getLogger("localdapr.outbox")

PROJECTION = "outbox.projection"
ROW_PREFIX = "outbox-"
ROW_VALUE = b'"0"'  # Go's json.Marshal of the string "0"
STATE_SCAN_DELAY = 1.0


@dataclass(frozen=True)
class OutboxConfig:
    publish_pubsub: str
    publish_topic: str
    outbox_pubsub: str
    discard_when_missing_state: bool


def config_of(metadata: dict[str, str]) -> OutboxConfig | None:
    """``AddOrUpdateOutbox``: both publish keys (case-sensitive) or no outbox."""
    pubsub, topic = metadata.get("outboxPublishPubsub", ""), metadata.get("outboxPublishTopic", "")
    if not pubsub or not topic:
        return None
    return OutboxConfig(pubsub, topic, metadata.get("outboxPubsub", "") or pubsub,
                        is_truthy(metadata.get("outboxDiscardWhenMissingState", "")))


def internal_topic(runtime: Runtime, topic: str) -> str:
    return f"{runtime.namespace_or_default}{runtime.app_id}{topic}outbox"


def _payload(request: SetRequest, transport: str) -> tuple[bytes, str]:
    """The event data and content type for one upsert (``PublishInternal``)."""
    content_type = request.metadata.get("contentType", "")
    if transport == "grpc":
        return request.value, content_type  # []byte: used as is
    value = json.loads(request.value)  # HTTP: the JSON value daprd decoded into `any`
    if content_type.lower() == "application/json":
        return gocompat.dumps_bytes(gocompat.float64_tree(value)), content_type
    return go_value_text(value).encode(), content_type


def _first_phase_event(key: str, data: bytes, content_type: str, runtime: Runtime, cfg: OutboxConfig, metadata: dict[str, str],
                       trace: tuple[str, str]) -> dict[str, Any]:
    """``NewCloudEventsEnvelope(id, appID, "", "", "", outboxPubsub, ct, data, "", tracestate)``
    plus ``traceid`` and the operation's metadata."""
    content_type = content_type or cloudevents.DEFAULT_CONTENT_TYPE
    event: dict[str, Any] = {
        "id": key, "specversion": cloudevents.SPEC_VERSION, "datacontenttype": content_type, "source": runtime.app_id or cloudevents.DEFAULT_SOURCE,
        "type": cloudevents.DEFAULT_TYPE, "topic": "", "pubsubname": cfg.outbox_pubsub, "traceid": trace[0], "traceparent": "",
        "tracestate": trace[1], "time": gocompat.rfc3339(),
    }
    field, value = cloudevents.envelope_data(data, content_type)
    event[field] = value
    for k, v in metadata.items():
        if k not in ("data", "id"):
            event[k] = v
    return event


def _is_projection(op: TransactionOperation) -> bool:
    return op.operation == "upsert" and isinstance(op.request, SetRequest) and is_truthy(op.request.metadata.get(PROJECTION, ""))


def split_projections(operations: list[TransactionOperation]) -> tuple[list[TransactionOperation], dict[str, SetRequest]]:
    """daprd's removal of projection upserts, quirk included: it deletes from the slice it is
    ranging over (``append(ops[:i], ops[i+1:]...)``), so the operation after a removed one
    is skipped and the last ones are seen twice. ``[P1, P2, A1, A2]`` keeps P2 (saved and
    published as itself); ``[A, P, P]`` makes daprd 1.18.2 panic (the process exits): here it
    is refused with an error instead."""
    backing = list(operations)
    length = len(backing)
    projections: dict[str, SetRequest] = {}
    for i in range(len(operations)):
        op = backing[i]
        if not _is_projection(op):
            continue
        assert isinstance(op.request, SetRequest)
        projections[op.request.key] = op.request
        if i + 1 > length:
            raise errors.outbox_projection_panic(i + 1, length)
        backing[i:length - 1] = backing[i + 1:length]
        length -= 1
    return backing[:length], projections


class Outbox:
    """The outbox configurations of the loaded state stores, and both phases."""

    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self._stops: list[Any] = []

    def config(self, store_name: str) -> OutboxConfig | None:
        comp = self.runtime.components.get(store_name)
        if comp is None or comp.spec.category != "state":
            return None
        return config_of(comp.spec.metadata)

    async def publish_internal(self, store_name: str, operations: list[TransactionOperation], *, transport: str,
                               trace: tuple[str, str]) -> tuple[list[TransactionOperation], list[TransactionOperation]]:
        """Phase 1. Returns (the operations to save, the ``outbox-<uuid>`` rows to add); raises
        daprd's ``ERR_PUBLISH_OUTBOX`` when the internal publish fails."""
        cfg = self.config(store_name)
        assert cfg is not None
        kept, projections = split_projections(operations)
        rows: list[TransactionOperation] = []
        for op in kept:
            req = op.request
            if op.operation != "upsert" or not isinstance(req, SetRequest):
                continue
            key = f"{ROW_PREFIX}{uuid.uuid4()}"
            source = projections.get(req.key, req)
            data, content_type = _payload(source, transport)
            event = _first_phase_event(key, data, content_type, self.runtime, cfg, req.metadata, trace)
            await self._publish(cfg.outbox_pubsub, internal_topic(self.runtime, cfg.publish_topic), gocompat.dumps_bytes(event),
                                wrap=lambda problem: errors.outbox(self.runtime.app_id, problem))
            rows.append(TransactionOperation("upsert", SetRequest(key, ROW_VALUE)))
        return kept, rows

    async def _publish(self, pubsub_name: str, topic: str, body: bytes, wrap: Any) -> None:
        pubsub = self.runtime.pubsubs.get(pubsub_name)
        if pubsub is None:
            raise wrap(f"pubsub '{pubsub_name}' not found")
        try:
            await pubsub.publish(topic, body, None)
        except Exception as exc:  # noqa: BLE001 - the broker's error, wrapped as daprd's
            raise wrap(f"redis streams: error from publish: {exc}") from exc

    # ---- phase 2 ----------------------------------------------------------------------------
    async def start(self) -> None:
        """Without an app, daprd subscribes to the internal topics as soon as it is up..."""
        if self.runtime.options.app_port is None:
            await self._subscribe_internal_topics()

    async def on_app_ready(self) -> None:
        """...with one, once the app is reachable (``appHealthChanged``)."""
        await self._subscribe_internal_topics()

    async def _subscribe_internal_topics(self) -> None:
        """``SubscribeToInternalTopics``."""
        for name, comp in self.runtime.components.items():
            if comp.spec.category != "state":
                continue
            cfg = config_of(comp.spec.metadata)
            if cfg is None:
                continue
            pubsub = self.runtime.pubsubs.get(cfg.outbox_pubsub)
            if pubsub is None:
                log.warning("could not subscribe to internal outbox topic: outbox pubsub %s not loaded", cfg.outbox_pubsub)
                continue
            self._stops.append(pubsub.subscribe(internal_topic(self.runtime, cfg.publish_topic),
                                                self._bounded(self._handler(name, cfg), pubsub.handler_timeout)))

    @staticmethod
    def _bounded(handler: Any, timeout: float | None):  # type: ignore[no-untyped-def]
        """The component bounds the handler by ``processingTimeout``: past it the state lookup and
        the publish fail on the expired context and the message is left pending (redelivered,
        again and again). With ``processingTimeout`` <= 1 s (the state-scan delay) daprd never
        publishes an outbox event; neither does the local sidecar."""
        async def handle(msg: StreamMessage) -> None:
            try:
                await asyncio.wait_for(handler(msg), timeout)
            except asyncio.TimeoutError:
                raise Cancelled(f"outbox message {msg.id} not processed within processingTimeout") from None

        return handle

    def _handler(self, store_name: str, cfg: OutboxConfig):  # type: ignore[no-untyped-def]
        async def handle(msg: StreamMessage) -> None:
            event = gocompat.loads_strict(msg.data)
            if not isinstance(event, dict):
                raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
            key = cloudevents.attribute(event, "id")
            store = self.runtime.state_stores.get(store_name)
            if store is None:
                raise RuntimeError(f"cannot get outbox state: state store {store_name} not found")
            await asyncio.sleep(STATE_SCAN_DELAY)
            try:
                await _retry(lambda: self._row_exists(store, key, cfg))
            except Exception as exc:  # noqa: BLE001 - daprd logs and drops (or rejects)
                if cfg.discard_when_missing_state:
                    log.error("failed to publish outbox topic to pubsub %s: %s, discarding message", cfg.publish_pubsub, exc)
                    return
                log.error("failed to publish outbox topic to pubsub %s: %s, rejecting for later processing", cfg.publish_pubsub, exc)
                raise
            event["topic"] = cfg.publish_topic
            event["pubsubname"] = cfg.publish_pubsub
            body = gocompat.dumps_bytes(gocompat.float64_tree(event))  # json.Unmarshal + Marshal: numbers as float64
            await self._publish(cfg.publish_pubsub, cfg.publish_topic, body, wrap=RuntimeError)
            await _retry(lambda: store.delete(DeleteRequest(key)))

        return handle

    @staticmethod
    async def _row_exists(store: Any, key: str, cfg: OutboxConfig) -> None:
        resp = await store.get(key)
        if not resp.data:
            raise RuntimeError(f"cannot publish outbox message to topic {cfg.publish_topic} with pubsub {cfg.publish_pubsub}: "
                               "outbox state not found")

    async def close(self) -> None:
        for stop in self._stops:
            stop()


async def _retry(attempt: Any) -> None:
    """backoff.Retry with daprd's ExponentialBackOff: 0.5 s initial, x3, at most 3 s apart,
    10 s in all, 10 % jitter; the last error is raised."""
    interval, elapsed = 0.5, 0.0
    while True:
        try:
            await attempt()
            return
        except Exception:
            if elapsed >= 10.0:
                raise
            delay = interval * random.uniform(0.9, 1.1)
            await asyncio.sleep(delay)
            elapsed += delay
            interval = min(interval * 3, 3.0)
