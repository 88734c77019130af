"""Workflow backend failures, worded the way daprd 1.18.2 words them at each API.

daprd's answers were captured by running it; tests/workflow asserts them on both runtimes
(test_H1_1_without_an_actor_store..., test_H_redis_down..., test_H3_1...). The backend error
is one, each layer wraps it:

* no ``actorStateStore`` component: the actor state API's ``messages.ErrActorRuntimeNotFound``,
  gRPC INTERNAL. gRPC GetInstance shows it bare; StartInstance as
  ``failed to create workflow instance: api error: code = Internal desc = <text>``.
* the actor store's Redis down: ``failed to load workflow metadata: <redis error>`` with gRPC
  UNKNOWN (a plain Go error), StartInstance prefixing ``failed to create workflow instance: ``.
* HTTP wraps either as ERR_START_WORKFLOW / ERR_GET_WORKFLOW (``localdapr/api/http/workflow.py``).

The redis error text itself is redis-py's, not go-redis's (``dial tcp ...: connect: connection
refused``); everything around it is daprd's.
"""

from __future__ import annotations

import grpc

NO_ACTOR_STORE = (
    "the state store is not configured to use the actor runtime. Have you set the - name: actorStateStore "
    'value: "true" in your state store component file?'
)
_API_ERROR = "api error: code = Internal desc = "


class BackendError(RuntimeError):
    """The workflow backend (actor state store) failed.

    ``bare`` is the text daprd's gRPC GetInstance shows; ``wrapped`` is the same error as the
    layers that wrap it with ``%w`` print it (an APIError prints as ``api error: code = ...``).
    A RuntimeError so a reminder step that meets it is retried like any other failed step.
    """

    def __init__(self, code: grpc.StatusCode, bare: str, wrapped: str, not_found: bool = False) -> None:
        super().__init__(bare)
        self.code = code
        self.bare = bare
        self.wrapped = wrapped
        self.not_found = not_found  # wraps api.ErrInstanceNotFound (daprd's HTTP answers 404 for some routes)


def no_actor_store() -> BackendError:
    return BackendError(grpc.StatusCode.INTERNAL, NO_ACTOR_STORE, _API_ERROR + NO_ACTOR_STORE)


def store_unavailable(exc: BaseException) -> BackendError:
    text = f"failed to load workflow metadata: {exc}"
    return BackendError(grpc.StatusCode.UNKNOWN, text, text)


def already_exists(instance_id: str) -> BackendError:
    """The workflow actor's ``codes.AlreadyExists`` status, which StartInstance wraps with %w:
    daprd answers ALREADY_EXISTS "failed to create workflow instance: rpc error: code =
    AlreadyExists desc = an active workflow with ID '<id>' already exists"."""
    text = f"an active workflow with ID '{instance_id}' already exists"
    return BackendError(grpc.StatusCode.ALREADY_EXISTS, text, "rpc error: code = AlreadyExists desc = " + text)


def actor_not_found(actor_type: str, instance_id: str) -> BackendError:
    """No worker connected, so daprd 1.18.2 hosts no workflow actor: placement's
    ``messages.ErrActorNoAddress`` (FAILED_PRECONDITION) after its NotFound retries. Calls made
    through the actor router show it as ``failed to lookup actor: api error: ...``; the status
    streams (WaitForInstanceStart/Completion) bare."""
    text = f"did not find address for actor '{actor_type}/{instance_id}'"
    return BackendError(
        grpc.StatusCode.FAILED_PRECONDITION, text, "failed to lookup actor: api error: code = FailedPrecondition desc = " + text
    )


def instance_not_found(context: str = "") -> BackendError:
    """durabletask-go's ``api.ErrInstanceNotFound`` (a plain error, so gRPC UNKNOWN), after
    ``context`` (e.g. purge's "failed to fetch workflow state: ")."""
    text = context + "no such instance exists"
    return BackendError(grpc.StatusCode.UNKNOWN, text, text, not_found=True)


def not_completed() -> BackendError:
    """durabletask-go's ``api.ErrNotCompleted``: purging a workflow that has not finished."""
    return BackendError(grpc.StatusCode.UNKNOWN, "orchestration has not yet completed", "orchestration has not yet completed")


def actor_stalled(instance_id: str) -> BackendError:
    """A stalled workflow's actor (daprd holds its lock while stalled) refuses every call with
    the actor lock's ``errors.NewStalled`` through the router: gRPC UNKNOWN."""
    text = f"failed to invoke method for workflow '{instance_id}': actor is stalled"
    return BackendError(grpc.StatusCode.UNKNOWN, text, text)


def missing_row(instance_id: str, kind: str, index: int, length: int) -> BackendError:
    """daprd 1.18.2's LoadWorkflowState (wfengine/state/state.go) when the metadata declares a row
    the bulk read did not return: a plain error (gRPC UNKNOWN). Seen transiently when a status read
    lands between the writes of a concurrent save; the caller may ask again."""
    text = (f"workflow '{instance_id}': {kind} key '{kind}-{index:06d}' declared in metadata ({kind}Length={length}) "
            "but missing from state store (transient store read failure or partial save?)")
    return BackendError(grpc.StatusCode.UNKNOWN, text, text)
