"""daprd 1.18's actor API errors (pkg/messages/predefined.go): code, HTTP status, gRPC code, text."""

from __future__ import annotations

import grpc

from localdapr.errors import DaprError

_S = grpc.StatusCode


def _e(code: _S, status: int, tag: str, message: str) -> DaprError:
    return DaprError(code, status, tag, message)


def instance_missing() -> DaprError:
    return _e(_S.INTERNAL, 400, "ERR_ACTOR_INSTANCE_MISSING", "actor instance is missing")


def runtime_not_found() -> DaprError:
    return _e(_S.INTERNAL, 500, "ERR_ACTOR_RUNTIME_NOT_FOUND",
              'the state store is not configured to use the actor runtime. Have you set the - name: actorStateStore value: "true" in your state store component file?')


def no_placement() -> DaprError:
    return _e(_S.UNAVAILABLE, 400, "ERR_ACTOR_NO_PLACEMENT", "placement service is not configured")


def invoke_failed(detail: str) -> DaprError:
    return _e(_S.INTERNAL, 500, "ERR_ACTOR_INVOKE_METHOD", f"error invoke actor method: {detail}")


def state_get_failed(detail: str) -> DaprError:
    return _e(_S.INTERNAL, 500, "ERR_ACTOR_STATE_GET", f"error getting actor state: {detail}")


def transaction_failed(detail: str, code: _S = _S.INTERNAL) -> DaprError:
    return _e(code, 500, "ERR_ACTOR_STATE_TRANSACTION_SAVE", f"error saving actor transaction state: {detail}")


def reminder_create_failed(detail: str) -> DaprError:
    return _e(_S.INTERNAL, 500, "ERR_ACTOR_REMINDER_CREATE", f"error creating actor reminder: {detail}")


def reminder_not_found(name: str) -> DaprError:
    return _e(_S.NOT_FOUND, 404, "ERR_ACTOR_REMINDER_NOT_FOUND", f"actor reminder not found: {name}")


def reminder_exists(name: str) -> DaprError:
    return _e(_S.ALREADY_EXISTS, 409, "ERR_ACTOR_REMINDER_ALREADY_EXISTS", f"actor reminder already exists: {name}")


def reminder_not_hosted() -> DaprError:
    return _e(_S.PERMISSION_DENIED, 403, "ERR_ACTOR_REMINDER_NON_HOSTED", "operations on actor reminders are only possible on hosted actor types")


def timer_create_failed(detail: str) -> DaprError:
    return _e(_S.INTERNAL, 500, "ERR_ACTOR_TIMER_CREATE", f"error creating actor timer: {detail}")


def type_reserved(actor_type: str) -> DaprError:
    return _e(_S.PERMISSION_DENIED, 403, "ERR_ACTOR_TYPE_RESERVED",
              f'actor type "{actor_type}" is reserved for the Dapr workflow runtime; direct actor API access is not permitted')


def malformed(detail: str) -> DaprError:
    return _e(_S.INVALID_ARGUMENT, 400, "ERR_MALFORMED_REQUEST", f"failed deserializing HTTP body: {detail}")


def bad_request(detail: str) -> DaprError:
    return _e(_S.INVALID_ARGUMENT, 400, "ERR_BAD_REQUEST", f"invalid request: {detail}")


class LookupFailed(Exception):
    """No sidecar hosts the actor type (placement has no address for it)."""

    def __init__(self, actor_type: str, actor_id: str) -> None:
        self.text = f"failed to lookup actor: api error: code = FailedPrecondition desc = did not find address for actor '{actor_type}/{actor_id}'"
        super().__init__(self.text)


class AppCallFailed(Exception):
    """The app's answer to an actor call was not a success (text as daprd words it)."""
