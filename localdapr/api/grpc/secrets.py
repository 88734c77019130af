"""gRPC GetSecret / GetBulkSecret."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import secret_pb2 as dapr_pb2

from localdapr.api.grpc.base import ServicerBase, translate_errors
from localdapr.secrets import service


class SecretsApi(ServicerBase):
    @translate_errors
    async def GetSecret(self, request: dapr_pb2.GetSecretRequest, context: grpc.aio.ServicerContext) -> dapr_pb2.GetSecretResponse:
        return dapr_pb2.GetSecretResponse(data=await service.get(self.runtime, request.store_name, request.key))

    @translate_errors
    async def GetBulkSecret(self, request: dapr_pb2.GetBulkSecretRequest, context: grpc.aio.ServicerContext) -> dapr_pb2.GetBulkSecretResponse:
        data = await service.bulk(self.runtime, request.store_name)
        return dapr_pb2.GetBulkSecretResponse(data={k: dapr_pb2.SecretResponse(secrets=v) for k, v in data.items()})
