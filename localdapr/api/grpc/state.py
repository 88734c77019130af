"""gRPC state RPCs (spec D.3): translate protobuf to ``state.service`` calls and back."""

from __future__ import annotations

import grpc
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import state_pb2 as dapr_pb2
from google.protobuf import empty_pb2

from localdapr.api.grpc.base import ServicerBase, translate_errors
from localdapr.errors import DaprError
from localdapr.gojson import GoJSONError
from localdapr.pubsub import tracecontext
from localdapr.state import service
from localdapr.state.base import DeleteRequest, SetRequest, TransactionOperation
from localdapr.state.encoding import grpc_value

_CONCURRENCY = {0: "", 1: "first-write", 2: "last-write"}
_CONSISTENCY = {0: "", 1: "eventual", 2: "strong"}


def _etag(item: object) -> str | None:
    return item.etag.value if item.HasField("etag") else None  # type: ignore[attr-defined]


def _options(item: object) -> tuple[str, str]:
    if not item.HasField("options"):  # type: ignore[attr-defined]
        return "", ""
    opts = item.options  # type: ignore[attr-defined]
    return _CONCURRENCY.get(opts.concurrency, ""), _CONSISTENCY.get(opts.consistency, "")


def set_request(item: common_pb2.StateItem) -> SetRequest:
    metadata = dict(item.metadata)
    concurrency, consistency = _options(item)
    return SetRequest(item.key, grpc_value(item.value, metadata), _etag(item), metadata, concurrency, consistency)


class StateApi(ServicerBase):
    @translate_errors
    async def GetState(self, request: dapr_pb2.GetStateRequest, context: grpc.aio.ServicerContext) -> dapr_pb2.GetStateResponse:
        resp = await service.get(self.runtime, request.store_name, request.key, dict(request.metadata))
        return dapr_pb2.GetStateResponse(data=resp.data or b"", etag=resp.etag or "")

    @translate_errors
    async def GetBulkState(self, request: dapr_pb2.GetBulkStateRequest, context: grpc.aio.ServicerContext) -> dapr_pb2.GetBulkStateResponse:
        items = await service.bulk_get(self.runtime, request.store_name, list(request.keys), dict(request.metadata))
        return dapr_pb2.GetBulkStateResponse(
            items=[dapr_pb2.BulkStateItem(key=i.key, data=i.data or b"", etag=i.etag or "", error=i.error) for i in items]
        )

    @translate_errors
    async def SaveState(self, request: dapr_pb2.SaveStateRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        # daprd checks each item in order: empty key, key with '||', then (contentType JSON) the
        # value, whose json.Unmarshal error it returns bare (gRPC UNKNOWN).
        store = service.get_store(self.runtime, request.store_name)
        items = []
        for item in request.states:
            if not item.key:
                raise service.empty_key_error(request.store_name)
            service.store_key(self.runtime, store, item.key)
            try:
                items.append(set_request(item))
            except GoJSONError as exc:
                raise DaprError(grpc.StatusCode.UNKNOWN, 500, "", str(exc)) from exc
        await service.save(self.runtime, request.store_name, items)
        return empty_pb2.Empty()

    @translate_errors
    async def DeleteState(self, request: dapr_pb2.DeleteStateRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        concurrency, consistency = _options(request)
        req = DeleteRequest(request.key, _etag(request), dict(request.metadata), concurrency, consistency)
        await service.delete(self.runtime, request.store_name, request.key, req)
        return empty_pb2.Empty()

    @translate_errors
    async def DeleteBulkState(self, request: dapr_pb2.DeleteBulkStateRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        reqs = []
        for item in request.states:
            concurrency, consistency = _options(item)
            reqs.append(DeleteRequest(item.key, _etag(item), dict(item.metadata), concurrency, consistency))
        await service.bulk_delete(self.runtime, request.store_name, reqs)
        return empty_pb2.Empty()

    @translate_errors
    async def ExecuteStateTransaction(
        self, request: dapr_pb2.ExecuteStateTransactionRequest, context: grpc.aio.ServicerContext
    ) -> empty_pb2.Empty:
        ops: list[TransactionOperation] = []
        for op in request.operations:
            item = op.request
            if op.operationType == "delete":
                concurrency, consistency = _options(item)
                ops.append(TransactionOperation("delete", DeleteRequest(item.key, _etag(item), dict(item.metadata), concurrency, consistency)))
            else:
                # gRPC transactions always store bytes verbatim (spec C1.3).
                concurrency, consistency = _options(item)
                req = SetRequest(item.key, item.value, _etag(item), dict(item.metadata), concurrency, consistency)
                ops.append(TransactionOperation(op.operationType, req))  # type: ignore[arg-type]
        await service.transaction(self.runtime, request.storeName, ops, dict(request.metadata),
                                  trace=tracecontext.from_grpc_metadata(context.invocation_metadata()))
        return empty_pb2.Empty()
