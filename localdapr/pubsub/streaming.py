"""Streaming subscriptions (``SubscribeTopicEventsAlpha1``), started and ended as daprd 1.18 does.

How the stream ends matters more than it seems: the dapr SDK (1.18) *reconnects* when a stream
ends with UNAVAILABLE, UNKNOWN or INTERNAL, raises ``StreamCancelledError`` on CANCELLED, and
fails for good (``Exception: Error while fetching message``) on OK. Its ``Subscription.start()``
has a race that can half-close the send side right after the initial request (issue 20); daprd
answers that with UNKNOWN "EOF", so the SDK reconnects. Statuses, from ``pkg/api/grpc/subscribe.go``
and ``pkg/runtime/pubsub/streamer/streamer.go``, checked against daprd by
``tests/pubsub/test_streaming_end.py``:

* client half-closes (before or after the initial request): UNKNOWN ``EOF``
* first message is not an initial request: UNKNOWN ``initial request is required``
* no pubsub name / no topic: UNKNOWN ``pubsubName is required`` / ``topic is required``
* unknown pubsub: INVALID_ARGUMENT ``pubsub <name> is not found`` (daprd's rich error)
* a second initial request: UNKNOWN ``duplicate initial request received``
* sidecar shutting down: UNKNOWN ``stream closed`` when no message awaits its answer (``api
  server closed`` while the initial request is still awaited); a stream with a message in
  flight stays open until the server stops (the client sees UNAVAILABLE)
* client cancels: nothing to send (the client already has CANCELLED)

Whatever the ending, a message sent but not answered is not acknowledged: it stays pending and
is redelivered after ``processingTimeout``. An answer for an unknown id is logged and ignored.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, AsyncIterator

import grpc
from dapr.proto.runtime.v1 import pubsub_pb2

from localdapr.pubsub import service
from localdapr.pubsub.grpc_app import event_request
from localdapr.pubsub.redis_streams import Cancelled, RedisStreamsPubSub, StreamMessage
from localdapr.pubsub.subscriptions import STREAMING_ROUTE, Subscription
from localdapr.runtime import Runtime

log = logging.getLogger("localdapr.pubsub.streamer")

_OUTCOME = {0: "success", 1: "retry", 2: "drop"}
Response = pubsub_pb2.SubscribeTopicEventsResponseAlpha1


class StreamEnded(Exception):
    """End the RPC with this status (daprd returns a plain Go error: code UNKNOWN)."""

    def __init__(self, details: str, code: grpc.StatusCode = grpc.StatusCode.UNKNOWN) -> None:
        super().__init__(details)
        self.code = code
        self.details = details


async def _next_request(requests: AsyncIterator[Any]) -> Any:
    """The next client message; StreamEnded("EOF") when the client half-closed."""
    try:
        return await requests.__anext__()
    except StopAsyncIteration:
        raise StreamEnded("EOF") from None


class StreamingSubscription:
    """One SubscribeTopicEventsAlpha1 call. ``responses()`` yields what to send and raises
    :class:`StreamEnded` (or a DaprError) with the status to end the call with."""

    def __init__(self, runtime: Runtime, requests: AsyncIterator[Any]) -> None:
        self.runtime = runtime
        self.requests = requests
        self.outbox: asyncio.Queue[Response] = asyncio.Queue()
        self.waiting: dict[str, asyncio.Future[int]] = {}
        self.closed = False  # no new deliveries: they stay pending

    async def _initial_request(self) -> pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1:
        first = asyncio.ensure_future(_next_request(self.requests))
        stop = asyncio.ensure_future(self.runtime.shutdown_requested.wait())
        try:
            done, _ = await asyncio.wait({first, stop}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stop.cancel()
            if not first.done():
                first.cancel()  # shutting down, or the client went away (this task is cancelled)
        if first not in done:
            raise StreamEnded("api server closed")
        request = first.result()
        if not request.HasField("initial_request"):
            raise StreamEnded("initial request is required")
        init = request.initial_request
        if not init.pubsub_name:
            raise StreamEnded("pubsubName is required")
        if not init.topic:
            raise StreamEnded("topic is required")
        return init

    async def _deliver(self, event: dict[str, Any], msg: StreamMessage, init: Any, pubsub: RedisStreamsPubSub) -> str:
        if self.closed:
            raise Cancelled("streaming subscription closed")
        try:
            request = event_request(event, msg.topic, init.pubsub_name, path=STREAMING_ROUTE)
        except ValueError as exc:
            log.debug("error returned from app while processing pub/sub event: %s", exc)
            return "retry"
        fut: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self.waiting[request.id] = fut
        try:
            await self.outbox.put(Response(event_message=request))
            status = await asyncio.wait_for(fut, pubsub.handler_timeout)
        except asyncio.TimeoutError:
            raise service.DeliveryTimeout(f"no answer to event {request.id} within processingTimeout") from None
        finally:
            if self.waiting.get(request.id) is fut:
                del self.waiting[request.id]
        return _OUTCOME.get(status, "retry")

    async def _read_answers(self) -> None:
        """recvLoop: answers until the client half-closes (StreamEnded) or sends a 2nd initial."""
        while True:
            request = await _next_request(self.requests)
            if not request.HasField("event_processed"):
                raise StreamEnded("duplicate initial request received")
            answer = request.event_processed
            fut = self.waiting.get(answer.id)
            if fut is None or fut.done():
                log.error("no client stream expecting publish response for id %s", answer.id)
                continue
            fut.set_result(answer.status.status)

    def _abandon_in_flight(self) -> None:
        self.closed = True
        for fut in self.waiting.values():
            if not fut.done():
                fut.set_exception(Cancelled("streaming subscriber went away"))

    async def responses(self) -> AsyncIterator[Response]:
        init = await self._initial_request()
        pubsub = service.get_pubsub(self.runtime, init.pubsub_name)
        sub_metadata = dict(init.metadata)

        async def handle(msg: StreamMessage) -> None:
            await service.handle(self.runtime, init.pubsub_name, msg, sub_metadata, init.dead_letter_topic,
                                 lambda event: self._deliver(event, msg, init, pubsub))

        manager = self.runtime.services["subscriptions"]
        sub = Subscription(init.pubsub_name, init.topic, "STREAMING", STREAMING_ROUTE, init.dead_letter_topic, sub_metadata)
        sub.stop = pubsub.subscribe(init.topic, handle)
        manager.add(sub)
        log.info("Subscribing to pubsub '%s' topic '%s'", init.pubsub_name, init.topic)
        reader = asyncio.ensure_future(self._read_answers())
        shutdown: asyncio.Future[Any] | None = asyncio.ensure_future(self.runtime.shutdown_requested.wait())
        try:
            yield Response(initial_response=pubsub_pb2.SubscribeTopicEventsResponseInitialAlpha1())
            while True:
                getter = asyncio.ensure_future(self.outbox.get())
                watched = {getter, reader} | ({shutdown} if shutdown is not None else set())
                done, _ = await asyncio.wait(watched, return_when=asyncio.FIRST_COMPLETED)
                if reader in done:
                    getter.cancel()
                    self._abandon_in_flight()
                    reader.result()  # raises StreamEnded (EOF, duplicate initial) or the read error
                if shutdown is not None and shutdown in done:
                    shutdown = None
                    self.closed = True
                    if not any(not f.done() for f in self.waiting.values()):
                        getter.cancel()
                        raise StreamEnded("stream closed")
                    # daprd keeps a stream with a message in flight open until its server stops
                if getter in done:
                    yield getter.result()
                else:
                    getter.cancel()
        finally:
            log.info("Unsubscribed from pubsub '%s' topic '%s'", init.pubsub_name, init.topic)
            self._abandon_in_flight()
            manager.remove(sub)
            reader.cancel()
            if shutdown is not None:
                shutdown.cancel()
