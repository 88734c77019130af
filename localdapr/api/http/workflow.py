"""HTTP workflow routes (spec H3.7): ``/v1.0/workflows/dapr/...`` (and ``v1.0-beta1``)."""

from __future__ import annotations

import functools
from typing import Any, Awaitable, Callable

import grpc
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from localdapr.errors import DaprError
from localdapr.state.errors import STORE_FAILURES
from localdapr.workflow.errors import BackendError
from localdapr.workflow.protos import history, orchestration, service
from localdapr.workflow.runtimestate import event, sv

router = APIRouter()
# daprd serves every API version and takes any workflow component name (its universal API ignores it).
PREFIXES = ("/v1.0/workflows/{component}", "/v1.0-beta1/workflows/{component}", "/v1.0-alpha1/workflows/{component}")
MAX_INSTANCE_ID_LENGTH = 64
_STATUS = {v: k.replace("ORCHESTRATION_STATUS_", "") for k, v in orchestration.OrchestrationStatus.items()}


def _engine(request: Request):  # type: ignore[no-untyped-def]
    return request.app.state.runtime.services.get("workflow")


def _not_found(instance_id: str) -> DaprError:
    return DaprError(grpc.StatusCode.NOT_FOUND, 404, "ERR_INSTANCE_ID_NOT_FOUND", f"unable to find workflow with the provided instance ID: {instance_id}")


def validate_new_instance_id(instance_id: str) -> None:
    """daprd's universal validateInstanceID for a start: at most 64 bytes, only letters, digits
    (Unicode ones too), '-' and '_' (dapr/dapr#6156). An empty ID is generated instead."""
    if len(instance_id.encode(errors="surrogateescape")) > MAX_INSTANCE_ID_LENGTH:
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_INSTANCE_ID_TOO_LONG",
                        f"workflow instance ID exceeds the max length of {MAX_INSTANCE_ID_LENGTH} characters")
    if any(not (c.isalpha() or c.isdecimal() or c in "_-") for c in instance_id):
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_INSTANCE_ID_INVALID",
                        f"workflow instance ID '{instance_id}' is invalid: only alphanumeric and underscore characters are allowed")


async def start(name: str, request: Request, component: str = "dapr") -> Response:
    instance_id = request.query_params.get("instanceID", "")
    validate_new_instance_id(instance_id)
    body = (await request.body()).decode()
    req = service.CreateInstanceRequest(instanceId=instance_id, name=name, input=sv(body) if body else None)
    # Blocks until a worker is connected, as daprd does; given up when the client goes away.
    iid = await _engine(request).create(req, gave_up=request.is_disconnected)
    return JSONResponse({"instanceID": iid}, status_code=202)


async def get(instance_id: str, request: Request, component: str = "dapr") -> Response:
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


async def raise_event(instance_id: str, event_name: str, request: Request, component: str = "dapr") -> Response:
    body = (await request.body()).decode()
    await _engine(request).raise_event(instance_id, event(eventRaised=history.EventRaisedEvent(name=event_name, input=sv(body) if body else None)))
    return Response(status_code=202)


async def terminate(instance_id: str, request: Request, component: str = "dapr") -> Response:
    # daprd's HTTP terminate is recursive (universal API: Recursive: true) and does not wait.
    await _engine(request).raise_event(instance_id, event(executionTerminated=history.ExecutionTerminatedEvent(recurse=True)))
    return Response(status_code=202)


async def pause(instance_id: str, request: Request, component: str = "dapr") -> Response:
    await _engine(request).raise_event(instance_id, event(executionSuspended=history.ExecutionSuspendedEvent()))
    return Response(status_code=202)


async def resume(instance_id: str, request: Request, component: str = "dapr") -> Response:
    await _engine(request).raise_event(instance_id, event(executionResumed=history.ExecutionResumedEvent()))
    return Response(status_code=202)


async def purge(instance_id: str, request: Request, component: str = "dapr") -> Response:
    await _engine(request).purge(instance_id, recursive=True)
    return Response(status_code=202)


def _backend_failures(code: str, message: str, not_found: str | None) -> Callable[[Callable[..., Awaitable[Response]]], Callable[..., Awaitable[Response]]]:
    """A workflow backend failure becomes daprd's answer for this route: 500 ``code`` with
    ``message`` (daprd's APIError format around the wrapping its workflow client and
    durabletask-go's client add, ``{err}`` being the backend's error), or, for routes where daprd
    tests ``errors.Is(err, api.ErrInstanceNotFound)``, 404 ERR_INSTANCE_ID_NOT_FOUND with
    ``not_found``. The placeholders are the route's path parameters."""

    def wrap(handler: Callable[..., Awaitable[Response]]) -> Callable[..., Awaitable[Response]]:
        @functools.wraps(handler)
        async def wrapper(*args: Any, **kwargs: Any) -> Response:
            try:
                return await handler(*args, **kwargs)
            except BackendError as err:
                if err.not_found and not_found is not None:
                    raise DaprError(grpc.StatusCode.NOT_FOUND, 404, "ERR_INSTANCE_ID_NOT_FOUND", not_found.format(err=err.wrapped, **kwargs)) from err
                raise DaprError(grpc.StatusCode.INTERNAL, 500, code, message.format(err=err.wrapped, **kwargs)) from err
            except STORE_FAILURES as exc:
                raise DaprError(grpc.StatusCode.INTERNAL, 500, code, message.format(err=exc, **kwargs)) from exc

        return wrapper

    return wrap


# daprd 1.18.2's answers, checked by running it (404s: its ErrWorkflowInstanceNotFound has one
# %s but is given two arguments, hence Go's "%!(EXTRA ...)" in the text; reproduced as is).
_NOT_FOUND = "unable to find workflow with the provided instance ID: {instance_id}%!(EXTRA *fmt.wrapError="
_ROUTES = [  # path, handler, errorCode, message, 404 message (None: the route has no 404 for it)
    ("/{name}/start", start, "ERR_START_WORKFLOW", "error starting workflow '{name}': unable to start workflow: failed to start workflow: {err}", None),
    ("/{instance_id}", get, "ERR_GET_WORKFLOW",
     "error while getting workflow info on instance '{instance_id}': failed to get workflow metadata for '{instance_id}': "
     "failed to fetch workflow metadata: {err}", None),
    ("/{instance_id}/raiseEvent/{event_name}", raise_event, "ERR_RAISE_EVENT_WORKFLOW",
     "error raising event on workflow '{instance_id}': failed to raise event {event_name} on workflow {instance_id}: failed to raise event: {err}", None),
    ("/{instance_id}/terminate", terminate, "ERR_TERMINATE_WORKFLOW",
     "error terminating workflow '{instance_id}': failed to terminate workflow {instance_id}: failed to submit termination request:: {err}",
     _NOT_FOUND + "failed to submit termination request:: {err})"),
    ("/{instance_id}/pause", pause, "ERR_PAUSE_WORKFLOW",
     "error pausing workflow {instance_id}: failed to pause workflow {instance_id}: failed to suspend workflow: {err}", None),
    ("/{instance_id}/resume", resume, "ERR_RESUME_WORKFLOW",
     "error resuming workflow {instance_id}: failed to resume workflow {instance_id}: failed to resume workflow: {err}", None),
    ("/{instance_id}/purge", purge, "ERR_PURGE_WORKFLOW",
     "error purging workflow {instance_id}: failed to Purge workflow {instance_id}: failed to purge workflow state: {err}",
     _NOT_FOUND + "failed to purge workflow state: {err})"),
]
for _prefix in PREFIXES:
    for _path, _handler, _code, _message, _missing in _ROUTES:
        router.add_api_route(_prefix + _path, _backend_failures(_code, _message, _missing)(_handler), methods=["GET" if _handler is get else "POST"])
