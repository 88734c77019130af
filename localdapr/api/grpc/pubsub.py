"""gRPC PublishEvent and the streaming SubscribeTopicEventsAlpha1 (spec F1, F3.1).

The stream's logic (and why its end status matters) is in :mod:`localdapr.pubsub.streaming`;
this layer turns its endings into gRPC statuses.
"""

from __future__ import annotations

import logging
from typing import Any, AsyncIterator

import grpc
from dapr.proto.runtime.v1 import pubsub_pb2
from google.protobuf import empty_pb2

from localdapr.api.grpc.base import ServicerBase, abort, translate_errors
from localdapr.errors import DaprError
from localdapr.pubsub import service, tracecontext
from localdapr.pubsub.streaming import StreamEnded, StreamingSubscription

log = logging.getLogger("localdapr.pubsub.streamer")


class PubSubApi(ServicerBase):
    @translate_errors
    async def PublishEvent(self, request: pubsub_pb2.PublishEventRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        trace = tracecontext.from_grpc_metadata(context.invocation_metadata())
        await service.publish(self.runtime, request.pubsub_name, request.topic, request.data, request.data_content_type,
                              dict(request.metadata), transport="grpc", trace=trace)
        return empty_pb2.Empty()

    async def SubscribeTopicEventsAlpha1(self, request_iterator: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[pubsub_pb2.SubscribeTopicEventsResponseAlpha1]:
        session = StreamingSubscription(self.runtime, request_iterator.__aiter__())
        try:
            async for response in session.responses():
                yield response
        except StreamEnded as end:
            await context.abort(end.code, end.details)
        except DaprError as err:
            await abort(context, err)
        except grpc.aio.AbortError:
            raise
        except Exception as exc:  # noqa: BLE001 - daprd: "Error receiving message from client stream"
            log.error("Error receiving message from client stream: %s", exc)
            await context.abort(grpc.StatusCode.UNKNOWN, str(exc))
