"""``TaskHubSidecarService`` on the Dapr gRPC port: thin translation onto the engine (spec H)."""

from __future__ import annotations

import inspect
import time
from typing import Any, AsyncIterator

import grpc
from google.protobuf import empty_pb2

from localdapr.api.grpc.base import abort
from localdapr.errors import DaprError, not_supported
from localdapr.runtime import Runtime
from localdapr.state.errors import STORE_FAILURES
from localdapr.workflow.engine import WorkflowEngine
from localdapr.workflow.protos import TERMINAL, history, orchestration, service, service_grpc
from localdapr.workflow.runtimestate import event, sv

S = orchestration


def _timeout(context: grpc.aio.ServicerContext) -> float | None:
    remaining = context.time_remaining()
    return None if remaining is None else max(0.0, remaining - 0.05)


class TaskHub(service_grpc.TaskHubSidecarServiceServicer):
    def __init__(self, engine: WorkflowEngine) -> None:
        self.engine = engine

    async def _guard(self, context: grpc.aio.ServicerContext, coro: Any) -> Any:
        try:
            return await coro
        except DaprError as err:
            await abort(context, err)
        except STORE_FAILURES as exc:  # the actor state store's Redis is down or refusing
            store = self.engine.runtime.actor_state_store
            name = store.name if store is not None else "?"
            await context.abort(grpc.StatusCode.INTERNAL, f"workflow state in actor state store {name} is unavailable: {exc}")

    async def Hello(self, request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    async def GetWorkItems(self, request: service.GetWorkItemsRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[service.WorkItem]:
        try:
            self.engine.require()
        except DaprError as err:
            await abort(context, err)
        async for item in self.engine.streams.serve():
            yield item

    async def CompleteOrchestratorTask(self, request: service.WorkflowResponse, context: grpc.aio.ServicerContext) -> service.CompleteTaskResponse:
        if not self.engine.streams.complete(("wf", request.instanceId), request):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown instance ID: {request.instanceId}")
        return service.CompleteTaskResponse()

    async def CompleteActivityTask(self, request: service.ActivityResponse, context: grpc.aio.ServicerContext) -> service.CompleteTaskResponse:
        if not self.engine.streams.complete(("act", request.instanceId, request.taskId), request):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown instance ID/task ID combo: {request.instanceId}/{request.taskId}")
        return service.CompleteTaskResponse()

    async def StartInstance(self, request: service.CreateInstanceRequest, context: grpc.aio.ServicerContext) -> service.CreateInstanceResponse:
        iid = await self._guard(context, self.engine.create(request))
        if not request.HasField("scheduledStartTimestamp"):
            # daprd returns once the first turn ran (no longer PENDING), spec H3.1.
            await self.engine.wait_for(iid, lambda s: s.status() != S.ORCHESTRATION_STATUS_PENDING, min(_timeout(context) or 10.0, 10.0))
        return service.CreateInstanceResponse(instanceId=iid)

    async def GetInstance(self, request: service.GetInstanceRequest, context: grpc.aio.ServicerContext) -> service.GetInstanceResponse:
        state = await self._guard(context, self.engine.load(request.instanceId))
        if not state.exists:
            return service.GetInstanceResponse(exists=False)
        return service.GetInstanceResponse(exists=True, workflowState=state.to_workflow_state(request.getInputsAndOutputs))

    async def _wait(self, request: Any, context: grpc.aio.ServicerContext, done: Any) -> service.GetInstanceResponse:
        state = await self._guard(context, self.engine.wait_for(request.instanceId, done, _timeout(context)))
        if not state.exists:
            return service.GetInstanceResponse(exists=False)
        return service.GetInstanceResponse(exists=True, workflowState=state.to_workflow_state(request.getInputsAndOutputs))

    async def WaitForInstanceStart(self, request: service.GetInstanceRequest, context: grpc.aio.ServicerContext) -> service.GetInstanceResponse:
        return await self._wait(request, context, lambda s: not s.exists or s.status() != S.ORCHESTRATION_STATUS_PENDING)

    async def WaitForInstanceCompletion(self, request: service.GetInstanceRequest, context: grpc.aio.ServicerContext) -> service.GetInstanceResponse:
        return await self._wait(request, context, lambda s: not s.exists or s.status() in TERMINAL)

    async def RaiseEvent(self, request: service.RaiseEventRequest, context: grpc.aio.ServicerContext) -> service.RaiseEventResponse:
        ev = event(eventRaised=history.EventRaisedEvent(name=request.name, input=request.input if request.HasField("input") else None))
        await self._guard(context, self.engine.raise_event(request.instanceId, ev))
        return service.RaiseEventResponse()

    async def TerminateInstance(self, request: service.TerminateRequest, context: grpc.aio.ServicerContext) -> service.TerminateResponse:
        ev = event(executionTerminated=history.ExecutionTerminatedEvent(input=request.output if request.HasField("output") else None, recurse=request.recursive))
        await self._guard(context, self.engine.raise_event(request.instanceId, ev))
        await self.engine.wait_for(request.instanceId, lambda s: s.status() in TERMINAL, _timeout(context) or 30.0)
        return service.TerminateResponse()

    async def SuspendInstance(self, request: service.SuspendRequest, context: grpc.aio.ServicerContext) -> service.SuspendResponse:
        ev = event(executionSuspended=history.ExecutionSuspendedEvent(input=request.reason if request.HasField("reason") else None))
        await self._guard(context, self.engine.raise_event(request.instanceId, ev))
        await self.engine.wait_for(request.instanceId, lambda s: s.status() in TERMINAL | {S.ORCHESTRATION_STATUS_SUSPENDED}, _timeout(context) or 30.0)
        return service.SuspendResponse()

    async def ResumeInstance(self, request: service.ResumeRequest, context: grpc.aio.ServicerContext) -> service.ResumeResponse:
        ev = event(executionResumed=history.ExecutionResumedEvent(input=request.reason if request.HasField("reason") else None))
        await self._guard(context, self.engine.raise_event(request.instanceId, ev))
        await self.engine.wait_for(request.instanceId, lambda s: s.status() != S.ORCHESTRATION_STATUS_SUSPENDED, _timeout(context) or 30.0)
        return service.ResumeResponse()

    async def PurgeInstances(self, request: service.PurgeInstancesRequest, context: grpc.aio.ServicerContext) -> service.PurgeInstancesResponse:
        if request.HasField("purgeInstanceFilter"):
            await abort(context, DaprError(grpc.StatusCode.UNIMPLEMENTED, 501, "ERR_PURGE_WORKFLOW", "multi-instance purge is not unimplemented"))
        count = await self._guard(context, self.engine.purge(request.instanceId, request.force))
        return service.PurgeInstancesResponse(deletedInstanceCount=count)

    async def ListInstanceIDs(self, request: Any, context: grpc.aio.ServicerContext) -> service.ListInstanceIDsResponse:
        ids = await self._guard(context, self.engine.require().list_instance_ids())
        return service.ListInstanceIDsResponse(instanceIds=ids)


def _unsupported(name: str):  # type: ignore[no-untyped-def]
    async def handler(self, request, context: grpc.aio.ServicerContext):  # type: ignore[no-untyped-def]
        await abort(context, not_supported(f"gRPC method TaskHubSidecarService/{name}"))

    handler.__name__ = name
    return handler


for _name, _fn in inspect.getmembers(service_grpc.TaskHubSidecarServiceServicer, inspect.isfunction):
    if not _name.startswith("_") and _name not in TaskHub.__dict__:
        setattr(TaskHub, _name, _unsupported(_name))


def register(runtime: Runtime, server: grpc.aio.Server) -> None:
    engine = WorkflowEngine(runtime)
    runtime.services["workflow"] = engine
    service_grpc.add_TaskHubSidecarServiceServicer_to_server(TaskHub(engine), server)
