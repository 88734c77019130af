"""gRPC PublishEvent and the streaming SubscribeTopicEventsAlpha1 (spec F1, F3.1)."""

from __future__ import annotations

import asyncio
import json
from typing import Any, AsyncIterator

import grpc
from dapr.proto.runtime.v1 import appcallback_pb2, pubsub_pb2
from google.protobuf import empty_pb2, struct_pb2

from localdapr.api.grpc.base import ServicerBase, abort, translate_errors
from localdapr.errors import DaprError
from localdapr.pubsub import service
from localdapr.pubsub.cloudevents import payload_bytes
from localdapr.pubsub.redis_streams import Cancelled, StreamMessage
from localdapr.pubsub.subscriptions import Subscription

_OUTCOME = {0: "success", 1: "retry", 2: "drop"}
_STANDARD = {"id", "source", "type", "specversion", "datacontenttype", "data", "data_base64", "topic", "pubsubname"}


def _event_request(event: dict[str, Any], msg: StreamMessage, pubsub: str) -> appcallback_pb2.TopicEventRequest:
    ext = struct_pb2.Struct()
    ext.update({k: v for k, v in event.items() if k not in _STANDARD and isinstance(v, (str, int, float, bool))})
    return appcallback_pb2.TopicEventRequest(
        id=str(event.get("id", msg.id)), source=str(event.get("source", "")), type=str(event.get("type", "")),
        spec_version=str(event.get("specversion", "1.0")), data_content_type=str(event.get("datacontenttype", "")),
        data=payload_bytes(event), topic=msg.topic, pubsub_name=pubsub, extensions=ext,
    )


class PubSubApi(ServicerBase):
    @translate_errors
    async def PublishEvent(self, request: pubsub_pb2.PublishEventRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await service.publish(self.runtime, request.pubsub_name, request.topic, request.data, request.data_content_type, dict(request.metadata))
        return empty_pb2.Empty()

    async def SubscribeTopicEventsAlpha1(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[pubsub_pb2.SubscribeTopicEventsResponseAlpha1]:
        requests = request_iterator.__aiter__()
        first = await requests.__anext__()
        init = first.initial_request
        if not first.HasField("initial_request") or not init.pubsub_name or not init.topic:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "initial request must set pubsub_name and topic")
        try:
            pubsub = service.get_pubsub(self.runtime, init.pubsub_name)
        except DaprError as err:
            await abort(context, err)
        outbox: asyncio.Queue[pubsub_pb2.SubscribeTopicEventsResponseAlpha1] = asyncio.Queue()
        waiting: dict[str, asyncio.Future[int]] = {}
        loop = asyncio.get_running_loop()

        async def handle(msg: StreamMessage) -> None:
            event = service.parse_event(msg)
            request = _event_request(event, msg, init.pubsub_name)
            fut: asyncio.Future[int] = loop.create_future()
            waiting[request.id] = fut
            await outbox.put(pubsub_pb2.SubscribeTopicEventsResponseAlpha1(event_message=request))
            try:
                status = await fut
            finally:
                waiting.pop(request.id, None)
            await service.settle(self.runtime, init.pubsub_name, msg, _OUTCOME.get(status, "retry"), init.dead_letter_topic)

        async def read_acks() -> None:
            try:
                async for req in requests:
                    if req.HasField("event_processed"):
                        fut = waiting.get(req.event_processed.id)
                        if fut is not None and not fut.done():
                            fut.set_result(req.event_processed.status.status)
            finally:
                for fut in waiting.values():
                    if not fut.done():
                        fut.set_exception(Cancelled("streaming subscriber went away"))

        manager = self.runtime.services["subscriptions"]
        sub = Subscription(init.pubsub_name, init.topic, "STREAMING", dead_letter_topic=init.dead_letter_topic, metadata=dict(init.metadata))
        sub.stop = pubsub.subscribe(init.topic, handle)
        manager.add(sub)
        reader = asyncio.create_task(read_acks())
        try:
            yield pubsub_pb2.SubscribeTopicEventsResponseAlpha1(initial_response=pubsub_pb2.SubscribeTopicEventsResponseInitialAlpha1())
            while True:
                getter = asyncio.create_task(outbox.get())
                done, _ = await asyncio.wait({getter, reader}, return_when=asyncio.FIRST_COMPLETED)
                if getter not in done:
                    getter.cancel()
                    break
                yield getter.result()
        finally:
            manager.remove(sub)
            reader.cancel()
            for fut in waiting.values():
                if not fut.done():
                    fut.set_exception(Cancelled("streaming subscriber went away"))
