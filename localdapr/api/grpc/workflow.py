"""The Dapr service's workflow RPCs (``StartWorkflowBeta1``, ``GetWorkflowBeta1``, ... and their
deprecated ``Alpha1`` twins): daprd serves both through its universal workflow API, so they answer
what the HTTP routes answer, with the gRPC code of the same APIError (workflow/universal.py)."""

from __future__ import annotations

from typing import Any

import grpc
from dapr.proto.runtime.v1 import workflow_pb2
from google.protobuf import empty_pb2

from localdapr.api.grpc.base import ServicerBase, translate_errors
from localdapr.workflow.universal import UniversalWorkflowApi


class WorkflowApi(ServicerBase):
    def _api(self) -> UniversalWorkflowApi:
        return UniversalWorkflowApi(self.runtime.services.get("workflow"))

    @translate_errors
    async def StartWorkflowBeta1(self, request: workflow_pb2.StartWorkflowRequest, context: grpc.aio.ServicerContext) -> workflow_pb2.StartWorkflowResponse:
        # Waits for a worker like daprd; the call is cancelled when the caller's deadline passes.
        iid = await self._api().start(request.workflow_name, request.instance_id, request.input)
        return workflow_pb2.StartWorkflowResponse(instance_id=iid)

    @translate_errors
    async def GetWorkflowBeta1(self, request: workflow_pb2.GetWorkflowRequest, context: grpc.aio.ServicerContext) -> workflow_pb2.GetWorkflowResponse:
        doc = await self._api().get(request.instance_id)
        if doc is None:  # daprd: no error, only the instance ID (its HTTP side turns this into 404)
            return workflow_pb2.GetWorkflowResponse(instance_id=request.instance_id)
        return workflow_pb2.GetWorkflowResponse(**doc)

    @translate_errors
    async def PurgeWorkflowBeta1(self, request: workflow_pb2.PurgeWorkflowRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._api().purge(request.instance_id)
        return empty_pb2.Empty()

    @translate_errors
    async def TerminateWorkflowBeta1(self, request: workflow_pb2.TerminateWorkflowRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._api().terminate(request.instance_id)
        return empty_pb2.Empty()

    @translate_errors
    async def PauseWorkflowBeta1(self, request: workflow_pb2.PauseWorkflowRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._api().pause(request.instance_id)
        return empty_pb2.Empty()

    @translate_errors
    async def ResumeWorkflowBeta1(self, request: workflow_pb2.ResumeWorkflowRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._api().resume(request.instance_id)
        return empty_pb2.Empty()

    @translate_errors
    async def RaiseEventWorkflowBeta1(self, request: workflow_pb2.RaiseEventWorkflowRequest, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        await self._api().raise_event(request.instance_id, request.event_name, request.event_data)
        return empty_pb2.Empty()

    # The deprecated Alpha1 RPCs are the same handlers in daprd.
    StartWorkflowAlpha1: Any = StartWorkflowBeta1
    GetWorkflowAlpha1: Any = GetWorkflowBeta1
    PurgeWorkflowAlpha1: Any = PurgeWorkflowBeta1
    TerminateWorkflowAlpha1: Any = TerminateWorkflowBeta1
    PauseWorkflowAlpha1: Any = PauseWorkflowBeta1
    ResumeWorkflowAlpha1: Any = ResumeWorkflowBeta1
    RaiseEventWorkflowAlpha1: Any = RaiseEventWorkflowBeta1
