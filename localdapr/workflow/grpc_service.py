"""``TaskHubSidecarService`` on the Dapr gRPC port: thin translation onto the engine (spec H)."""

from __future__ import annotations

import inspect
from typing import Any, AsyncIterator

import grpc
from google.protobuf import empty_pb2

from localdapr.api.grpc.base import abort
from localdapr.api.grpc.streams import ShutdownRequested, until_shutdown
from localdapr.errors import DaprError, not_supported
from localdapr.runtime import Runtime
from localdapr.state.errors import STORE_FAILURES
from localdapr.workflow.engine import WorkflowEngine
from localdapr.workflow.errors import BackendError
from localdapr.workflow.protos import TERMINAL, history, orchestration, service, service_grpc
from localdapr.workflow.runtimestate import event, sv

S = orchestration


class TaskHub(service_grpc.TaskHubSidecarServiceServicer):
    def __init__(self, engine: WorkflowEngine) -> None:
        self.engine = engine

    async def _guard(self, context: grpc.aio.ServicerContext, coro: Any, wrap: str | None = None) -> Any:
        """Await ``coro``, answering its failures as daprd does.

        A backend failure (no actor store, the store's Redis down) keeps daprd's gRPC code;
        ``wrap`` is the prefix daprd's method adds (StartInstance: "failed to create workflow
        instance: "), without it the bare text is sent, as GetInstance does.
        """
        try:
            return await coro
        except DaprError as err:
            await abort(context, err)
        except BackendError as err:
            await context.abort(err.code, err.bare if wrap is None else wrap + err.wrapped)
        except STORE_FAILURES as exc:  # a save failed after a successful load
            await context.abort(grpc.StatusCode.UNKNOWN, (wrap or "") + f"failed to save workflow state: {exc}")

    async def Hello(self, request: empty_pb2.Empty, context: grpc.aio.ServicerContext) -> empty_pb2.Empty:
        return empty_pb2.Empty()

    async def GetWorkItems(self, request: service.GetWorkItemsRequest, context: grpc.aio.ServicerContext) -> AsyncIterator[service.WorkItem]:
        # Accepted even without an actor state store, as daprd does (its calls fail instead).
        # On shutdown daprd ends it with CANCELLED "shutting down" (durabletask-go's
        # errShuttingDown), so the SDK worker stops instead of reconnecting.
        try:
            async for item in until_shutdown(self.engine.streams.serve(), self.engine.runtime.shutdown_requested):
                yield item
        except ShutdownRequested:
            await context.abort(grpc.StatusCode.CANCELLED, "shutting down")

    async def CompleteOrchestratorTask(self, request: service.WorkflowResponse, context: grpc.aio.ServicerContext) -> service.CompleteTaskResponse:
        if not self.engine.streams.complete(("wf", request.instanceId), request):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown instance ID: {request.instanceId}")
        return service.CompleteTaskResponse()

    async def CompleteActivityTask(self, request: service.ActivityResponse, context: grpc.aio.ServicerContext) -> service.CompleteTaskResponse:
        if not self.engine.streams.complete(("act", request.instanceId, request.taskId), request):
            await context.abort(grpc.StatusCode.NOT_FOUND, f"unknown instance ID/task ID combo: {request.instanceId}/{request.taskId}")
        return service.CompleteTaskResponse()

    async def StartInstance(self, request: service.CreateInstanceRequest, context: grpc.aio.ServicerContext) -> service.CreateInstanceResponse:
        iid = await self._guard(context, self.engine.create(request), wrap="failed to create workflow instance: ")
        if not request.HasField("scheduledStartTimestamp"):
            # daprd returns once the first turn ran (no longer PENDING), spec H3.1, however long
            # that takes: only the caller's deadline ends the wait.
            await self._guard(context, self.engine.wait_for(iid, lambda s: s.status() != S.ORCHESTRATION_STATUS_PENDING, None))
        return service.CreateInstanceResponse(instanceId=iid)

    async def GetInstance(self, request: service.GetInstanceRequest, context: grpc.aio.ServicerContext) -> service.GetInstanceResponse:
        state = await self._guard(context, self.engine.load(request.instanceId))
        if not state.exists:
            return service.GetInstanceResponse(exists=False)
        return service.GetInstanceResponse(exists=True, workflowState=state.to_workflow_state(request.getInputsAndOutputs))

    async def _wait(self, request: Any, context: grpc.aio.ServicerContext, done: Any) -> service.GetInstanceResponse:
        # No time limit of its own, as daprd: the caller's deadline cancels the wait and the
        # caller gets DEADLINE_EXCEEDED (the SDK's wait_for_workflow_* turn that into TimeoutError).
        state = await self._guard(context, self.engine.wait_for(request.instanceId, done, None))
        if not state.exists:
            return service.GetInstanceResponse(exists=False)
        return service.GetInstanceResponse(exists=True, workflowState=state.to_workflow_state(request.getInputsAndOutputs))

    # An instance that does not exist yet is waited for too: daprd's workflow actor registers
    # the status stream and answers once the instance is created and meets the condition.
    async def WaitForInstanceStart(self, request: service.GetInstanceRequest, context: grpc.aio.ServicerContext) -> service.GetInstanceResponse:
        return await self._wait(request, context, lambda s: s.exists and s.status() != S.ORCHESTRATION_STATUS_PENDING)

    async def WaitForInstanceCompletion(self, request: service.GetInstanceRequest, context: grpc.aio.ServicerContext) -> service.GetInstanceResponse:
        return await self._wait(request, context, lambda s: s.exists and s.status() in TERMINAL)

    # The four below add an event through the instance's workflow actor, as durabletask-go's
    # grpcExecutor does (backend.AddNewWorkflowEvent; errors shown as daprd wraps them), and the
    # last three then wait for its effect like daprd, bounded by the caller's deadline only.
    async def RaiseEvent(self, request: service.RaiseEventRequest, context: grpc.aio.ServicerContext) -> service.RaiseEventResponse:
        ev = event(eventRaised=history.EventRaisedEvent(name=request.name, input=request.input if request.HasField("input") else None))
        await self._guard(context, self.engine.raise_event(request.instanceId, ev), wrap="")
        return service.RaiseEventResponse()

    async def TerminateInstance(self, request: service.TerminateRequest, context: grpc.aio.ServicerContext) -> service.TerminateResponse:
        ev = event(executionTerminated=history.ExecutionTerminatedEvent(input=request.output if request.HasField("output") else None, recurse=request.recursive))
        await self._guard(context, self.engine.raise_event(request.instanceId, ev), wrap="failed to submit termination request: ")
        await self._guard(context, self.engine.wait_for(request.instanceId, lambda s: s.status() in TERMINAL, None))
        return service.TerminateResponse()

    async def SuspendInstance(self, request: service.SuspendRequest, context: grpc.aio.ServicerContext) -> service.SuspendResponse:
        ev = event(executionSuspended=history.ExecutionSuspendedEvent(input=sv(request.reason.value or None)))
        await self._guard(context, self.engine.raise_event(request.instanceId, ev), wrap="")
        await self._guard(context, self.engine.wait_for(request.instanceId, lambda s: s.status() in TERMINAL | {S.ORCHESTRATION_STATUS_SUSPENDED}, None))
        return service.SuspendResponse()

    async def ResumeInstance(self, request: service.ResumeRequest, context: grpc.aio.ServicerContext) -> service.ResumeResponse:
        ev = event(executionResumed=history.ExecutionResumedEvent(input=sv(request.reason.value or None)))
        await self._guard(context, self.engine.raise_event(request.instanceId, ev), wrap="")
        await self._guard(context, self.engine.wait_for(request.instanceId, lambda s: s.status() in TERMINAL | {S.ORCHESTRATION_STATUS_RUNNING}, None))
        return service.ResumeResponse()

    async def PurgeInstances(self, request: service.PurgeInstancesRequest, context: grpc.aio.ServicerContext) -> service.PurgeInstancesResponse:
        if request.HasField("purgeInstanceFilter"):  # daprd 1.18.2: errors.New, typo included
            await context.abort(grpc.StatusCode.UNKNOWN, "multi-instance purge is not unimplemented")
        purge = self.engine.purge(request.instanceId, request.force, request.recursive)
        count = await self._guard(context, purge, wrap="failed to purge workflow state: ")
        return service.PurgeInstancesResponse(deletedInstanceCount=count)

    async def ListInstanceIDs(self, request: Any, context: grpc.aio.ServicerContext) -> service.ListInstanceIDsResponse:
        ids = await self._guard(context, self.engine.list_instance_ids())
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
