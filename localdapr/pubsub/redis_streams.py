"""``pubsub.redis`` on Redis Streams, laid out as components-contrib does (spec F1.3, F2).

Publish = ``XADD <topic> * data <event> [metadata <json>]``. Each subscription reads with a
consumer group named after ``consumerID`` (default: the app id), created at ``0`` so a new group
also gets what is already in the stream. Semantics follow daprd 1.18 with no resiliency
policy: a handler error is acknowledged (dropped) unless the subscription is shutting down;
messages whose processing never finished (subscriber or sidecar killed) stay pending and are
claimed again after ``processingTimeout`` by the redelivery loop every ``redeliverInterval``.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import redis.asyncio as aioredis
from redis import exceptions as rexc

from localdapr.components.model import ComponentSpec
from localdapr.errors import ComponentError
from localdapr.pubsub import gocompat
from localdapr.redisconn import _duration_seconds, connect, timeout_detail, timeout_hint

log = logging.getLogger("localdapr.pubsub")


@dataclass
class StreamMessage:
    id: str
    topic: str
    data: bytes
    metadata: dict[str, str]
    # Go's map is nil when the entry has no ``metadata`` field (or ``null``, or one that does
    # not decode): what is re-published from it (a bulk dead letter) then has none either.
    has_metadata: bool = True


Handler = Callable[[StreamMessage], Awaitable[None]]


class Cancelled(Exception):
    """The subscriber went away (or the delivery outlived ``processingTimeout``) while handling:
    leave the message pending for redelivery."""


def _ms(spec: ComponentSpec, name: str, default_seconds: float) -> float:
    """Integers are milliseconds, durations are Go durations (spec F2.3)."""
    value = _duration_seconds(spec.meta(name), default_seconds)
    return default_seconds if value is None else value


class RedisStreamsPubSub:
    # what an initTimeout during the connect means (runtime._init_timeout)
    timeout_detail = staticmethod(timeout_detail)
    timeout_hint = staticmethod(timeout_hint)

    def __init__(self, spec: ComponentSpec, client: aioredis.Redis, consumer_id: str) -> None:
        self.spec = spec
        self.name = spec.name
        self.client = client
        self.consumer_id = consumer_id
        self.queue_depth = int(spec.meta("queueDepth", "100") or 100)
        self.concurrency = int(spec.meta("concurrency", "10") or 10)
        self.processing_timeout = _ms(spec, "processingTimeout", 60.0)
        self.redeliver_interval = _ms(spec, "redeliverInterval", 15.0)
        self.max_len = int(spec.meta("maxLenApprox", "0") or 0)
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def handler_timeout(self) -> float | None:
        """How long one delivery may take: components-contrib bounds the handler's context by
        ``processingTimeout`` when redelivery is on; past it the entry is left pending."""
        if self.processing_timeout > 0 and self.redeliver_interval > 0:
            return self.processing_timeout
        return None

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: Any) -> "RedisStreamsPubSub":
        try:
            consumer = spec.meta("consumerID") or runtime.app_id
            client = await connect(spec)
            return cls(spec, client, consumer)
        except ValueError as exc:
            raise ComponentError(str(exc)) from exc

    async def publish(self, topic: str, data: bytes, metadata: dict[str, str] | None) -> None:
        """XADD as components-contrib: a ``metadata`` field (Go-encoded JSON) only when the
        request's metadata map is not nil (``{}`` is written, ``None`` is not)."""
        fields: dict[str, bytes] = {"data": data}
        if metadata is not None:
            fields["metadata"] = gocompat.dumps_bytes(metadata)
        await self.client.xadd(topic, fields, maxlen=self.max_len or None, approximate=True)

    def subscribe(self, topic: str, handler: Handler) -> Callable[[], None]:
        """Start consuming; returns a function that stops this subscription."""
        sem = asyncio.Semaphore(self.concurrency)
        inflight: set[str] = set()
        tasks = [
            asyncio.create_task(self._read_loop(topic, handler, sem, inflight), name=f"xread:{topic}"),
            asyncio.create_task(self._redeliver_loop(topic, handler, sem, inflight), name=f"xclaim:{topic}"),
        ]
        self._tasks.extend(tasks)

        def stop() -> None:
            for task in tasks:
                task.cancel()

        return stop

    async def _ensure_group(self, topic: str) -> None:
        try:
            await self.client.xgroup_create(topic, self.consumer_id, id="0", mkstream=True)
        except rexc.ResponseError as exc:
            if "BUSYGROUP" not in str(exc):
                raise

    async def _process(self, msg: StreamMessage, handler: Handler, sem: asyncio.Semaphore, inflight: set[str]) -> None:
        async with sem:
            try:
                await handler(msg)
            except (Cancelled, asyncio.CancelledError):
                return  # stays pending: redelivered after processingTimeout
            except Exception as exc:  # noqa: BLE001 - daprd 1.18: errors are acknowledged (no resiliency policy)
                # components-contrib's line; the entry is acknowledged (no resiliency policy).
                log.error("Error processing Redis message %s: %s", msg.id, exc)
            finally:
                inflight.discard(msg.id)
            await self.client.xack(msg.topic, self.consumer_id, msg.id)

    @staticmethod
    def _decode(topic: str, entry_id: bytes, fields: dict[bytes, bytes]) -> StreamMessage:
        meta_raw = fields.get(b"metadata")
        metadata: dict[str, str] | None = None
        try:
            parsed = json.loads(meta_raw) if meta_raw else None
            if parsed is not None and (not isinstance(parsed, dict) or not all(isinstance(v, str) for v in parsed.values())):
                raise ValueError("not a JSON object of strings")  # Go: map[string]string
            metadata = parsed
        except ValueError as exc:
            log.warning("Redis PubSub: Could not extract metadata for Redis message %s: %s", entry_id.decode(), exc)
        return StreamMessage(entry_id.decode(), topic, fields.get(b"data", b""), metadata or {}, has_metadata=metadata is not None)

    async def _read_loop(self, topic: str, handler: Handler, sem: asyncio.Semaphore, inflight: set[str]) -> None:
        while True:
            try:
                await self._ensure_group(topic)
                while True:
                    res = await self.client.xreadgroup(self.consumer_id, self.consumer_id, {topic: ">"}, count=self.queue_depth, block=1000)
                    for _stream, entries in res or []:
                        for entry_id, fields in entries:
                            msg = self._decode(topic, entry_id, fields)
                            inflight.add(msg.id)
                            asyncio.create_task(self._process(msg, handler, sem, inflight))
            except asyncio.CancelledError:
                raise
            except rexc.ResponseError as exc:
                if "NOGROUP" not in str(exc):
                    log.warning("reading %s: %s", topic, exc)
                    await asyncio.sleep(1)
            except (rexc.ConnectionError, rexc.TimeoutError, OSError) as exc:
                log.warning("reading %s: Redis unavailable (%s); retrying", topic, exc)
                await asyncio.sleep(1)

    async def _redeliver_loop(self, topic: str, handler: Handler, sem: asyncio.Semaphore, inflight: set[str]) -> None:
        if self.processing_timeout <= 0 or self.redeliver_interval <= 0:
            return
        while True:
            await asyncio.sleep(self.redeliver_interval)
            try:
                pending = await self.client.xpending_range(topic, self.consumer_id, min="-", max="+", count=self.queue_depth)
                idle_ms = int(self.processing_timeout * 1000)
                for entry in pending:
                    entry_id = entry["message_id"].decode()
                    if entry_id in inflight or entry["time_since_delivered"] < idle_ms:
                        continue
                    claimed = await self.client.xclaim(topic, self.consumer_id, self.consumer_id, idle_ms, [entry_id])
                    if not claimed or claimed[0] is None or claimed[0][1] is None:
                        await self.client.xack(topic, self.consumer_id, entry_id)  # entry vanished
                        continue
                    msg = self._decode(topic, claimed[0][0], claimed[0][1])
                    inflight.add(msg.id)
                    asyncio.create_task(self._process(msg, handler, sem, inflight))
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001
                log.warning("redelivery on %s: %s", topic, exc)

    async def close(self) -> None:
        for task in self._tasks:
            task.cancel()
        await self.client.aclose()
