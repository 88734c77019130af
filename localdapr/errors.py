"""Dapr API errors with daprd's HTTP status, ``errorCode`` tag and gRPC status.

One exception type serves both API layers so a building block raises once and each layer
translates it the way daprd does (spec D.1): HTTP body ``{"errorCode", "message", "details"?}``
and a gRPC status carrying ``google.rpc.ErrorInfo`` / ``ResourceInfo`` / ``BadRequest`` details.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

ERROR_DOMAIN = "dapr.io"


@dataclass
class DaprError(Exception):
    """An error as daprd reports it. ``reason`` set => a "rich" error with details."""

    grpc_code: grpc.StatusCode
    http_status: int
    error_code: str
    message: str
    reason: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    # (resource_type, resource_name), e.g. ("state", "statestore")
    resource: tuple[str, str] | None = None
    # (field, description) for a google.rpc.BadRequest field violation
    bad_request: tuple[str, str] | None = None
    # HTTP-only ErrorInfo metadata (daprd adds {"appID": ...} on some HTTP handlers only)
    http_metadata: dict[str, str] | None = None
    # daprd's HTTP handler answers this one with messages.NewAPIErrorHTTP: errorCode and message
    # only, while its gRPC side (apierrors.Basic) carries the rich details.
    http_plain: bool = False
    # When daprd's HTTP handler words the same failure differently from its gRPC one.
    http_message: str | None = None

    def __post_init__(self) -> None:
        super().__init__(self.message)

    def __str__(self) -> str:
        return self.message

    # ---- HTTP -------------------------------------------------------------------------
    def http_body(self) -> dict[str, Any]:
        """daprd's JSON error. With a field violation the details come as dapr/kit's error
        builder adds them (BadRequest, ResourceInfo, ErrorInfo: InvalidKeyName), its nil
        metadata map printed as ``null`` and an empty field left out."""
        body: dict[str, Any] = {"errorCode": self.error_code, "message": self.http_message if self.http_message is not None else self.message}
        if not self.reason or self.http_plain:
            return body
        metadata = dict(self.http_metadata if self.http_metadata is not None else self.metadata)
        info = {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": self.reason, "domain": ERROR_DOMAIN,
                "metadata": metadata if metadata or not self.bad_request else None}
        resource = [{"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resource_type": self.resource[0],
                     "resource_name": self.resource[1], "owner": "", "description": ""}] if self.resource else []
        if self.bad_request:
            violation = {"field": self.bad_request[0], "description": self.bad_request[1]}
            if not violation["field"]:
                del violation["field"]
            bad = {"@type": "type.googleapis.com/google.rpc.BadRequest", "field_violations": [violation]}
            body["details"] = [bad, *resource, info]
        else:
            body["details"] = [info, *resource]
        return body

    # ---- gRPC -------------------------------------------------------------------------
    def grpc_status(self) -> grpc.Status:
        status = status_pb2.Status(code=_CODE_VALUES[self.grpc_code], message=self.message)
        if self.reason:
            details: list[Any] = [error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata)]
            if self.resource:
                details.append(error_details_pb2.ResourceInfo(resource_type=self.resource[0], resource_name=self.resource[1]))
            if self.bad_request:
                violation = error_details_pb2.BadRequest.FieldViolation(field=self.bad_request[0], description=self.bad_request[1])
                details = [error_details_pb2.BadRequest(field_violations=[violation]), *details[1:], details[0]]
            for detail in details:
                _pack(status, detail)
        return rpc_status.to_status(status)


def _pack(status: status_pb2.Status, message: Any) -> None:
    detail = any_pb2.Any()
    detail.Pack(message)
    status.details.append(detail)


_CODE_VALUES = {code: code.value[0] for code in grpc.StatusCode}
assert code_pb2.INVALID_ARGUMENT == _CODE_VALUES[grpc.StatusCode.INVALID_ARGUMENT]


def not_supported(what: str) -> DaprError:
    """The one error for everything daprd has and this sidecar does not (never silent)."""
    return DaprError(
        grpc.StatusCode.UNIMPLEMENTED,
        501,
        "ERR_NOT_SUPPORTED_BY_LOCAL_SIDECAR",
        f"{what} is not supported by the local sidecar (localdapr); run a real daprd for it",
    )


def no_api_route() -> DaprError:
    """What daprd answers for a path under an API prefix that matches none of its routes (an
    empty state key, an empty workflow or event name): its service-invocation fallback route
    takes it and finds no app ID."""
    return DaprError(grpc.StatusCode.NOT_FOUND, 404, "ERR_DIRECT_INVOKE", "failed getting app id either from the URL path or the header dapr-app-id")


INIT_FAILURE = "INIT_COMPONENT_FAILURE"
CREATE_FAILURE = "CREATE_COMPONENT_FAILURE"


def init_error(kind: str, log_name: str, detail: str) -> str:
    """daprd's ``rterrors.NewInit`` text: ``[KIND]: initialization error occurred for x (t/v): detail``."""
    return f"[{kind}]: initialization error occurred for {log_name}: {detail}"


class ComponentError(Exception):
    """A component (or resources folder) that stops start-up, worded as daprd words it.

    ``message`` is daprd's own text for the failure, so logs and tests read the same on both
    runtimes. ``hint`` is what only the local sidecar adds (the file, which metadata field to
    check); it is printed after daprd's text, never instead of it. ``kind`` is the daprd error
    kind the runtime wraps a component's failure in (None: daprd returns it unwrapped).
    """

    def __init__(self, message: str, hint: str = "", kind: str | None = INIT_FAILURE) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.kind = kind

    def __str__(self) -> str:
        return f"{self.message} (localdapr: {self.hint})" if self.hint else self.message
