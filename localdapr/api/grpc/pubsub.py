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
from localdapr.pubsub import bulk, service, tracecontext
from localdapr.pubsub.streaming import StreamEnded, StreamingSubscription

log = logging.getLogger("localdapr.pubsub.streamer")


class PubSubApi(ServicerBase):
    @translate_errors
    async def PublishEvent(self, request: pubsub_pb2.PublishEventRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        trace = tracecontext.from_grpc_metadata(context.invocation_metadata())
        await service.publish(self.runtime, request.pubsub_name, request.topic, request.data, request.data_content_type,
                              dict(request.metadata), transport="grpc", trace=trace)
        return empty_pb2.Empty()

    async def _bulk_publish(self, request: pubsub_pb2.BulkPublishRequest, context: grpc.aio.ServicerContext) -> pubsub_pb2.BulkPublishResponse:
        """daprd's ``bulkPublishEvent``: empty ``failedEntries`` when every entry was written. An
        entry's metadata map is nil in Go when empty, so it then gets none of the request's."""
        trace = tracecontext.from_grpc_metadata(context.invocation_metadata())
        entries = [bulk.Entry(e.entry_id, e.event, e.content_type, bulk.entry_metadata(dict(request.metadata), dict(e.metadata) or None))
                   for e in request.entries]
        try:
            await bulk.publish(self.runtime, request.pubsub_name, request.topic, entries, dict(request.metadata), trace=trace)
        except bulk.BulkPublishFailed as failed:
            raise failed.error from failed
        return pubsub_pb2.BulkPublishResponse()

    @translate_errors
    async def BulkPublishEvent(self, request: pubsub_pb2.BulkPublishRequest, context: grpc.aio.ServicerContext) -> pubsub_pb2.BulkPublishResponse:
        return await self._bulk_publish(request, context)

    @translate_errors
    async def BulkPublishEventAlpha1(self, request: pubsub_pb2.BulkPublishRequest, context: grpc.aio.ServicerContext) -> pubsub_pb2.BulkPublishResponse:
        return await self._bulk_publish(request, context)

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
