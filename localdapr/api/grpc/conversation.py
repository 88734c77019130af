"""gRPC ConverseAlpha1 / ConverseAlpha2 (spec I)."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import ai_pb2

from localdapr.api.grpc.base import ServicerBase, translate_errors
from localdapr.conversation import service


class ConversationApi(ServicerBase):
    @translate_errors
    async def ConverseAlpha1(self, request: ai_pb2.ConversationRequest, context: grpc.aio.ServicerContext) -> ai_pb2.ConversationResponse:
        return service.converse_alpha1(self.runtime, request)

    @translate_errors
    async def ConverseAlpha2(self, request: ai_pb2.ConversationRequestAlpha2, context: grpc.aio.ServicerContext) -> ai_pb2.ConversationResponseAlpha2:
        return service.converse_alpha2(self.runtime, request)
