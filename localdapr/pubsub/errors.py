"""daprd's pub/sub API errors (``pkg/api/errors/pubsub.go``), details in daprd's order.

daprd builds these with dapr/kit's error builder: a ``ResourceInfo`` (type ``pubsub``, the
pubsub name, owner ``""``, the message as description) *before* the ``ErrorInfo``, except for
"not found"/"not configured", which have no ResourceInfo. The shared :class:`DaprError` writes
ErrorInfo first and a ResourceInfo without description (what daprd's state API does), so pub/sub
errors use this subclass.
"""

from __future__ import annotations

from typing import Any

import grpc
from google.rpc import error_details_pb2, status_pb2
from grpc_status import rpc_status

from localdapr.errors import _CODE_VALUES, ERROR_DOMAIN, DaprError, _pack


class PubSubError(DaprError):
    """A DaprError whose ResourceInfo (if any) comes first and carries the message."""

    def http_body(self) -> dict[str, Any]:
        body: dict[str, Any] = {"errorCode": self.error_code, "message": self.message}
        details: list[dict[str, Any]] = []
        if self.resource:
            details.append({"@type": "type.googleapis.com/google.rpc.ResourceInfo", "description": self.message, "owner": "",
                            "resource_name": self.resource[1], "resource_type": self.resource[0]})
        details.append({"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": ERROR_DOMAIN,
                        "metadata": dict(self.metadata), "reason": self.reason})
        body["details"] = details  # keys in daprd's (alphabetical) order
        return body

    def grpc_status(self) -> grpc.Status:
        status = status_pb2.Status(code=_CODE_VALUES[self.grpc_code], message=self.message)
        if self.resource:
            _pack(status, error_details_pb2.ResourceInfo(resource_type=self.resource[0], resource_name=self.resource[1], description=self.message))
        _pack(status, error_details_pb2.ErrorInfo(reason=self.reason, domain=ERROR_DOMAIN, metadata=self.metadata))
        return rpc_status.to_status(status)


def _build(name: str, metadata: dict[str, str] | None, grpc_code: grpc.StatusCode, http_status: int, message: str,
           error_code: str, reason: str, *, resource: bool = True) -> PubSubError:
    return PubSubError(grpc_code, http_status, error_code, message, reason=reason, metadata=dict(metadata or {}),
                       resource=("pubsub", name) if resource else None)


def name_empty(metadata: dict[str, str] | None) -> PubSubError:
    return _build("", metadata, grpc.StatusCode.INVALID_ARGUMENT, 404, "pubsub name is empty", "ERR_PUBSUB_EMPTY", "DAPR_PUBSUB_NAME_EMPTY")


def not_found(name: str) -> PubSubError:
    return _build(name, None, grpc.StatusCode.INVALID_ARGUMENT, 404, f"pubsub {name} is not found", "ERR_PUBSUB_NOT_FOUND",
                  "DAPR_PUBSUB_NOT_FOUND", resource=False)


def topic_empty(name: str, metadata: dict[str, str] | None) -> PubSubError:
    return _build(name, metadata, grpc.StatusCode.INVALID_ARGUMENT, 404, f"topic is empty in pubsub {name}",
                  "ERR_TOPIC_NAME_EMPTY", "DAPR_PUBSUB_TOPIC_NAME_EMPTY")


def metadata_error(name: str, metadata: dict[str, str], problem: str) -> PubSubError:
    return _build(name, metadata, grpc.StatusCode.INVALID_ARGUMENT, 400, f"failed deserializing metadata. Error: {problem}",
                  "ERR_PUBSUB_REQUEST_METADATA", "DAPR_PUBSUB_METADATA_DESERIALIZATION")


def cloudevent_creation(name: str, app_id: str, problem: str) -> PubSubError:
    return _build(name, {"appID": app_id, "error": problem}, grpc.StatusCode.INVALID_ARGUMENT, 500, "cannot create cloudevent",
                  "ERR_PUBSUB_CLOUD_EVENTS_SER", "DAPR_PUBSUB_CLOUD_EVENT_CREATION")


def publish_failed(name: str, topic: str, problem: str) -> PubSubError:
    message = f"error when publishing to topic {topic} in pubsub {name}: {problem}"
    return _build(name, {"topic": topic, "error": problem}, grpc.StatusCode.INTERNAL, 500, message,
                  "ERR_PUBSUB_PUBLISH_MESSAGE", "DAPR_PUBSUB_PUBLISH_MESSAGE")


def _app(app_id: str, problem: str | None) -> dict[str, str]:
    """``WithAppError``: ``appID``, plus ``error`` when there is one."""
    return {"appID": app_id} if problem is None else {"appID": app_id, "error": problem}


def marshal_events(name: str, topic: str, app_id: str, problem: str) -> PubSubError:
    """Bulk publish: an entry without ``entryId`` or with a repeated one."""
    return _build(name, _app(app_id, problem), grpc.StatusCode.INVALID_ARGUMENT, 400,
                  f"error marshaling events to bytes for topic {topic} pubsub {name}. error: {problem}",
                  "ERR_PUBSUB_EVENTS_SER", "DAPR_PUBSUB_MARSHAL_EVENTS")


def unmarshal_events(name: str, topic: str, app_id: str, problem: str) -> PubSubError:
    """HTTP bulk publish: the body is not a JSON array of entries (Go's decoder text)."""
    return _build(name, _app(app_id, None), grpc.StatusCode.INVALID_ARGUMENT, 400,
                  f"error when unmarshaling the request for topic {topic} pubsub {name}: {problem}",
                  "ERR_PUBSUB_EVENTS_SER", "DAPR_PUBSUB_UNMARSHAL_EVENTS")


def marshal_envelope(name: str, topic: str, app_id: str, problem: str) -> PubSubError:
    """HTTP bulk publish: an entry's event does not match its ``contentType``."""
    return _build(name, _app(app_id, problem), grpc.StatusCode.INVALID_ARGUMENT, 400,
                  f"error when marshalling cloud event envelope for topic {topic} pubsub {name}: {problem}",
                  "ERR_PUBSUB_EVENTS_SER", "DAPR_PUBSUB_MARSHAL_ENVELOPE")


def outbox(app_id: str, problem: str) -> PubSubError:
    """``PubSubOutbox``: the transaction's internal outbox publish failed (no ResourceInfo)."""
    return PubSubError(grpc.StatusCode.INTERNAL, 500, "ERR_PUBLISH_OUTBOX", f"error while publishing outbox message: {problem}",
                       reason="DAPR_PUBSUB_OUTBOX", metadata={"appID": app_id, "error": problem})


def outbox_projection_panic(index: int, length: int) -> DaprError:
    """Where daprd 1.18.2 panics (``slice bounds out of range``) and its process exits: a
    transaction whose projections make its in-place removal run past the end."""
    return DaprError(grpc.StatusCode.INTERNAL, 500, "ERR_PUBLISH_OUTBOX",
                     f"outbox.projection operations in this order make daprd 1.18 panic (runtime error: slice bounds out of range "
                     f"[{index}:{length}]) and exit; the local sidecar refuses the transaction instead: put each projection "
                     "right after the operation it projects")
