"""daprd's "universal" workflow API: what its HTTP routes and the Dapr service's ``*WorkflowBeta1``
/ ``*WorkflowAlpha1`` RPCs share (dapr pkg/api/universal/workflow.go).

One place for the checks and error texts, so both API layers answer alike: instance IDs
validated as ``validateInstanceID`` does, backend failures wrapped in daprd's ``messages.Err*``
APIErrors (gRPC code + HTTP status + errorCode), a missing instance 404/NOT_FOUND where daprd
tests ``errors.Is(err, api.ErrInstanceNotFound)``. The durabletask API (``grpc_service.py``) is
another door onto the same engine, with durabletask-go's own answers.
"""

from __future__ import annotations

from typing import Any, Awaitable, Callable

import grpc

from localdapr.errors import DaprError
from localdapr.state.errors import STORE_FAILURES
from localdapr.workflow.errors import BackendError
from localdapr.workflow.protos import history, orchestration, service
from localdapr.workflow.runtimestate import event, sv

MAX_INSTANCE_ID_LENGTH = 64
# daprd's wfengine statusMap: the statuses up to SUSPENDED by name; any later one (STALLED) is
# "UNKNOWN" on the HTTP API (gRPC GetInstance does say STALLED).
STATUS_NAMES = {v: k.replace("ORCHESTRATION_STATUS_", "") for k, v in orchestration.OrchestrationStatus.items()
                if v <= orchestration.ORCHESTRATION_STATUS_SUSPENDED}

# daprd 1.18.2's texts, checked by running it. 404s: its ErrWorkflowInstanceNotFound has one %s
# but is given two arguments, hence Go's "%!(EXTRA ...)" in the text; reproduced as is.
_NOT_FOUND = "unable to find workflow with the provided instance ID: {instance_id}%!(EXTRA *fmt.wrapError="
# operation: (errorCode, message, not-found message or None); ``{err}`` is the backend's error.
FAILURES: dict[str, tuple[str, str, str | None]] = {
    "start": ("ERR_START_WORKFLOW", "error starting workflow '{name}': unable to start workflow: failed to start workflow: {err}", None),
    "get": ("ERR_GET_WORKFLOW", "error while getting workflow info on instance '{instance_id}': failed to get workflow metadata for "
            "'{instance_id}': failed to fetch workflow metadata: {err}", None),
    "raise_event": ("ERR_RAISE_EVENT_WORKFLOW", "error raising event on workflow '{instance_id}': failed to raise event {event_name} on "
                    "workflow {instance_id}: failed to raise event: {err}", None),
    "terminate": ("ERR_TERMINATE_WORKFLOW", "error terminating workflow '{instance_id}': failed to terminate workflow {instance_id}: "
                  "failed to submit termination request:: {err}", _NOT_FOUND + "failed to submit termination request:: {err})"),
    "pause": ("ERR_PAUSE_WORKFLOW", "error pausing workflow {instance_id}: failed to pause workflow {instance_id}: failed to suspend workflow: {err}", None),
    "resume": ("ERR_RESUME_WORKFLOW", "error resuming workflow {instance_id}: failed to resume workflow {instance_id}: failed to resume workflow: {err}", None),
    "purge": ("ERR_PURGE_WORKFLOW", "error purging workflow {instance_id}: failed to Purge workflow {instance_id}: failed to purge workflow state: {err}",
              _NOT_FOUND + "failed to purge workflow state: {err})"),
}


def not_found(instance_id: str) -> DaprError:
    return DaprError(grpc.StatusCode.NOT_FOUND, 404, "ERR_INSTANCE_ID_NOT_FOUND", f"unable to find workflow with the provided instance ID: {instance_id}")


def validate_instance_id(instance_id: str, is_create: bool) -> None:
    """daprd's validateInstanceID: never empty; for a start also at most 64 bytes and only
    letters, digits (Unicode ones too), '-' and '_' (dapr/dapr#6156)."""
    if not instance_id:
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_INSTANCE_ID_PROVIDED_MISSING", "no instance ID was provided")
    if not is_create:
        return
    if len(instance_id.encode(errors="surrogatepass")) > MAX_INSTANCE_ID_LENGTH:
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_INSTANCE_ID_TOO_LONG",
                        f"workflow instance ID exceeds the max length of {MAX_INSTANCE_ID_LENGTH} characters")
    if any(not (c.isalpha() or c.isdecimal() or c in "_-") for c in instance_id):
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_INSTANCE_ID_INVALID",
                        f"workflow instance ID '{instance_id}' is invalid: only alphanumeric and underscore characters are allowed")


def _text(operation: str, data: bytes | None, err: str, **fields: str) -> str | None:
    """The body as the proto string daprd puts it in: invalid UTF-8 cannot be marshalled, and
    daprd answers that as the operation's failure (``err`` is where its text says so)."""
    if not data:
        return None
    try:
        return data.decode()
    except UnicodeDecodeError:
        code, message, _ = FAILURES[operation]
        raise DaprError(grpc.StatusCode.INTERNAL, 500, code, message.format(err=err, **fields)) from None


async def _wrapped(operation: str, call: Awaitable[Any], **fields: str) -> Any:
    """Await a backend call, answering its failure as daprd's APIError for ``operation``."""
    code, message, missing = FAILURES[operation]
    try:
        return await call
    except BackendError as err:
        if err.not_found and missing is not None:
            raise DaprError(grpc.StatusCode.NOT_FOUND, 404, "ERR_INSTANCE_ID_NOT_FOUND", missing.format(err=err.wrapped, **fields)) from err
        raise DaprError(grpc.StatusCode.INTERNAL, 500, code, message.format(err=err.wrapped, **fields)) from err
    except STORE_FAILURES as exc:
        raise DaprError(grpc.StatusCode.INTERNAL, 500, code, message.format(err=exc, **fields)) from exc


class UniversalWorkflowApi:
    """The operations, on the sidecar's workflow engine."""

    def __init__(self, engine: Any) -> None:
        self.engine = engine

    async def start(self, name: str, instance_id: str, data: bytes | None, gave_up: Callable[[], Awaitable[bool]] | None = None) -> str:
        """Blocks until a worker is connected, as daprd does; given up when the caller goes away.
        An empty ID is a generated UUID (daprd validates it afterwards; a UUID always passes)."""
        if instance_id:
            validate_instance_id(instance_id, is_create=True)
        if not name:
            raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_WORKFLOW_NAME_MISSING", "workflow name is not configured")
        text = _text("start", data, "failed to marshal CreateWorkflowInstanceRequest: string field contains invalid UTF-8", name=name)
        # daprd always sends the body as the input (wrapperspb.String), an empty one too.
        req = service.CreateInstanceRequest(instanceId=instance_id, name=name, input=sv(text or ""))
        return await _wrapped("start", self.engine.create(req, gave_up=gave_up), name=name, instance_id=instance_id)

    async def get(self, instance_id: str) -> dict[str, Any] | None:
        """The instance as daprd's GetWorkflowResponse has it, or None when there is none."""
        validate_instance_id(instance_id, is_create=False)
        state = await _wrapped("get", self.engine.load(instance_id), instance_id=instance_id)
        if not state.exists:
            return None
        ws = state.to_workflow_state(True)
        # As daprd's wfengine client: each property only when the instance has it.
        props: dict[str, str] = {}
        if ws.HasField("customStatus"):
            props["dapr.workflow.custom_status"] = ws.customStatus.value
        if ws.HasField("input"):
            props["dapr.workflow.input"] = ws.input.value
        if ws.HasField("output"):
            props["dapr.workflow.output"] = ws.output.value
        if ws.HasField("failureDetails"):
            props["dapr.workflow.failure.error_type"] = ws.failureDetails.errorType
            props["dapr.workflow.failure.error_message"] = ws.failureDetails.errorMessage
            if ws.failureDetails.HasField("stackTrace"):
                props["dapr.workflow.failure.stack_trace"] = ws.failureDetails.stackTrace.value
        return {"instance_id": instance_id, "workflow_name": ws.name, "created_at": ws.createdTimestamp,
                "last_updated_at": ws.lastUpdatedTimestamp, "runtime_status": STATUS_NAMES.get(ws.workflowStatus, "UNKNOWN"),
                "properties": props}

    async def raise_event(self, instance_id: str, event_name: str, data: bytes | None) -> None:
        validate_instance_id(instance_id, is_create=False)
        if not event_name:
            raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_WORKFLOW_EVENT_NAME_MISSING", "missing workflow event name")
        text = _text("raise_event", data, "string field contains invalid UTF-8", instance_id=instance_id, event_name=event_name)
        ev = event(eventRaised=history.EventRaisedEvent(name=event_name, input=sv(text) if text else None))
        await _wrapped("raise_event", self.engine.raise_event(instance_id, ev), instance_id=instance_id, event_name=event_name)

    async def terminate(self, instance_id: str) -> None:
        # Recursive (Recursive: true), and it does not wait for the instance to end.
        validate_instance_id(instance_id, is_create=False)
        ev = event(executionTerminated=history.ExecutionTerminatedEvent(recurse=True))
        await _wrapped("terminate", self.engine.raise_event(instance_id, ev), instance_id=instance_id)

    async def pause(self, instance_id: str) -> None:
        validate_instance_id(instance_id, is_create=False)
        ev = event(executionSuspended=history.ExecutionSuspendedEvent())
        await _wrapped("pause", self.engine.raise_event(instance_id, ev), instance_id=instance_id)

    async def resume(self, instance_id: str) -> None:
        validate_instance_id(instance_id, is_create=False)
        ev = event(executionResumed=history.ExecutionResumedEvent())
        await _wrapped("resume", self.engine.raise_event(instance_id, ev), instance_id=instance_id)

    async def purge(self, instance_id: str) -> None:
        validate_instance_id(instance_id, is_create=False)
        await _wrapped("purge", self.engine.purge(instance_id, recursive=True), instance_id=instance_id)
