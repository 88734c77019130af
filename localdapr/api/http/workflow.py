"""HTTP workflow routes (spec H3.7): ``/v1.0/workflows/dapr/...`` (and ``v1.0-beta1``)."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

import grpc
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from localdapr.errors import DaprError
from localdapr.state.errors import STORE_FAILURES
from localdapr.workflow.protos import history, orchestration, service
from localdapr.workflow.runtimestate import event, sv

router = APIRouter()
PREFIXES = ("/v1.0/workflows/dapr", "/v1.0-beta1/workflows/dapr")
_STATUS = {v: k.replace("ORCHESTRATION_STATUS_", "") for k, v in orchestration.OrchestrationStatus.items()}


def _engine(request: Request):  # type: ignore[no-untyped-def]
    engine = request.app.state.runtime.services.get("workflow")
    engine.require()
    return engine


def _not_found(instance_id: str) -> DaprError:
    return DaprError(grpc.StatusCode.NOT_FOUND, 404, "ERR_INSTANCE_ID_NOT_FOUND", f"unable to find workflow with the provided instance ID: {instance_id}")


async def start(name: str, request: Request) -> Response:
    body = (await request.body()).decode()
    req = service.CreateInstanceRequest(instanceId=request.query_params.get("instanceID", ""), name=name, input=sv(body) if body else None)
    iid = await _engine(request).create(req)
    return JSONResponse({"instanceID": iid}, status_code=202)


async def get(instance_id: str, request: Request) -> Response:
    state = await _engine(request).load(instance_id)
    if not state.exists:
        raise _not_found(instance_id)
    ws = state.to_workflow_state(True)
    props = {"dapr.workflow.input": ws.input.value if ws.HasField("input") else ""}
    if ws.HasField("output"):
        props["dapr.workflow.output"] = ws.output.value
    if ws.HasField("customStatus"):
        props["dapr.workflow.custom_status"] = ws.customStatus.value
    if ws.HasField("failureDetails"):
        props["dapr.workflow.failure.error_message"] = ws.failureDetails.errorMessage
    return JSONResponse({
        "instanceID": instance_id, "workflowName": ws.name,
        "createdAt": ws.createdTimestamp.ToJsonString(), "lastUpdatedAt": ws.lastUpdatedTimestamp.ToJsonString(),
        "runtimeStatus": _STATUS.get(ws.workflowStatus, "UNKNOWN"), "properties": props,
    })


async def _add(request: Request, instance_id: str, ev: history.HistoryEvent) -> Response:
    engine = _engine(request)
    if not (await engine.load(instance_id)).exists:
        raise _not_found(instance_id)
    await engine.raise_event(instance_id, ev)
    return Response(status_code=202)


async def raise_event(instance_id: str, event_name: str, request: Request) -> Response:
    body = (await request.body()).decode()
    return await _add(request, instance_id, event(eventRaised=history.EventRaisedEvent(name=event_name, input=sv(body) if body else None)))


async def terminate(instance_id: str, request: Request) -> Response:
    return await _add(request, instance_id, event(executionTerminated=history.ExecutionTerminatedEvent()))


async def pause(instance_id: str, request: Request) -> Response:
    return await _add(request, instance_id, event(executionSuspended=history.ExecutionSuspendedEvent()))


async def resume(instance_id: str, request: Request) -> Response:
    return await _add(request, instance_id, event(executionResumed=history.ExecutionResumedEvent()))


async def purge(instance_id: str, request: Request) -> Response:
    if not await _engine(request).purge(instance_id):
        raise _not_found(instance_id)
    return Response(status_code=202)


def _store_failures(code: str, message: str) -> Callable[[Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]]:
    """The actor state store failing (Redis down, refusing) becomes daprd's 500 for this route,
    e.g. ERR_START_WORKFLOW "error starting workflow 'x': ...", instead of a bare 500."""

    def wrap(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(handler)
        async def wrapper(*args: Any, **kwargs: Any) -> Response:
            try:
                return await handler(*args, **kwargs)
            except STORE_FAILURES as exc:
                target = kwargs.get("name") or kwargs.get("instance_id", "")
                raise DaprError(grpc.StatusCode.INTERNAL, 500, code, message.format(target, exc)) from exc

        return wrapper

    return wrap


_ROUTES = [  # path, handler, daprd's error for a store failure (pkg/messages)
    ("/{name}/start", start, "ERR_START_WORKFLOW", "error starting workflow '{}': {}"),
    ("/{instance_id}", get, "ERR_GET_WORKFLOW", "error while getting workflow info on instance '{}': {}"),
    ("/{instance_id}/raiseEvent/{event_name}", raise_event, "ERR_RAISE_EVENT_WORKFLOW", "error raising event on workflow '{}': {}"),
    ("/{instance_id}/terminate", terminate, "ERR_TERMINATE_WORKFLOW", "error terminating workflow '{}': {}"),
    ("/{instance_id}/pause", pause, "ERR_PAUSE_WORKFLOW", "error pausing workflow '{}': {}"),
    ("/{instance_id}/resume", resume, "ERR_RESUME_WORKFLOW", "error resuming workflow '{}': {}"),
    ("/{instance_id}/purge", purge, "ERR_PURGE_WORKFLOW", "error purging workflow '{}': {}"),
]
for _prefix in PREFIXES:
    for _path, _handler, _code, _message in _ROUTES:
        router.add_api_route(_prefix + _path, _store_failures(_code, _message)(_handler), methods=["GET" if _handler is get else "POST"])
