"""gRPC TryLockAlpha1 / UnlockAlpha1 (daprd serves only the Alpha1 names)."""

from __future__ import annotations

import grpc
from dapr.proto.runtime.v1 import lock_pb2

from localdapr.api.grpc.base import ServicerBase, translate_errors
from localdapr.lock import service


class LockApi(ServicerBase):
    @translate_errors
    async def TryLockAlpha1(self, request: lock_pb2.TryLockRequest, context: grpc.aio.ServicerContext) -> lock_pb2.TryLockResponse:
        success = await service.try_lock(self.runtime, request.store_name, request.resource_id, request.lock_owner, request.expiry_in_seconds)
        return lock_pb2.TryLockResponse(success=success)

    @translate_errors
    async def UnlockAlpha1(self, request: lock_pb2.UnlockRequest, context: grpc.aio.ServicerContext) -> lock_pb2.UnlockResponse:
        status = await service.unlock(self.runtime, request.store_name, request.resource_id, request.lock_owner)
        return lock_pb2.UnlockResponse(status=int(status))  # type: ignore[arg-type]
