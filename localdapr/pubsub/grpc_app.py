"""The gRPC app channel for pub/sub (``--app-protocol grpc``): daprd's ``AppCallback`` client.

daprd asks a gRPC app for its programmatic subscriptions with ``ListTopicSubscriptions``
(UNIMPLEMENTED means "none"), and delivers each message with ``OnTopicEvent``
(``pkg/runtime/subscription/postman/grpc``): the ``TopicEventRequest`` built from the CloudEvent
(as for streaming subscriptions, with the subscription rule's ``path``), the entry's metadata
plus ``pubsubName`` and the event's ``traceparent`` as gRPC metadata. How the answer settles the message:

* ``SUCCESS`` (or an empty reply, which decodes as SUCCESS): acknowledged;
* ``RETRY``, an unknown status, any gRPC error: a failure, which with no resiliency policy goes
  to the dead-letter topic or is dropped;
* ``DROP``: dropped (dead-letter topic if any);
* the app answers UNIMPLEMENTED (it has no handler for the topic/path): acknowledged as handled,
  *not* dead-lettered (daprd: "non-retriable error");
* no answer within ``processingTimeout``: left pending, redelivered.

Bulk subscriptions (``bulkSubscribe.enabled``) are delivered by :mod:`localdapr.pubsub.bulk_subscribe`.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc
from dapr.proto.runtime.v1 import appcallback_pb2, appcallback_pb2_grpc
from google.protobuf import empty_pb2, struct_pb2

from localdapr.pubsub import cloudevents, service, tracecontext
from localdapr.appchannel import app_headers

log = logging.getLogger("localdapr.pubsub")

_STATUS = {appcallback_pb2.TopicEventResponse.SUCCESS: "success", appcallback_pb2.TopicEventResponse.RETRY: "retry",
           appcallback_pb2.TopicEventResponse.DROP: "drop"}
ZERO_TRACEPARENT = "00-" + "0" * 32 + "-" + "0" * 16 + "-00"
# Not forwarded as gRPC metadata (WithCustomGRPCMetadata).
_SKIPPED_HEADERS = {"content-type", "content-length"}


def event_request(event: dict[str, Any], topic: str, pubsub: str, *, path: str) -> appcallback_pb2.TopicEventRequest:
    """GRPCEnvelopeFromSubscriptionMessage (raises ValueError where daprd fails the delivery);
    shared with streaming subscriptions, whose path is always "/"."""
    ext = struct_pb2.Struct()
    ext.update(cloudevents.extensions(event))
    return appcallback_pb2.TopicEventRequest(
        id=cloudevents.attribute(event, "id"), source=cloudevents.attribute(event, "source"),
        type=cloudevents.attribute(event, "type"), spec_version=cloudevents.attribute(event, "specversion"),
        data_content_type=cloudevents.attribute(event, "datacontenttype"), data=cloudevents.payload_bytes(event),
        topic=topic, pubsub_name=pubsub, path=path, extensions=ext,
    )


class GrpcAppChannel:
    """One insecure gRPC channel to the app on ``--app-port``."""

    def __init__(self, address: str) -> None:
        self.channel = grpc.aio.insecure_channel(address, interceptors=[_AppToken()])
        self.callback = appcallback_pb2_grpc.AppCallbackStub(self.channel)

    async def list_subscriptions(self) -> list[appcallback_pb2.TopicSubscription]:
        """``GetSubscriptionsGRPC``: UNIMPLEMENTED is an app without subscriptions."""
        try:
            response = await self.callback.ListTopicSubscriptions(empty_pb2.Empty(), timeout=60)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                log.info("pubsub subscriptions: gRPC app does not implement ListTopicSubscriptions")
                return []
            raise
        return list(response.subscriptions)

    async def deliver(self, event: dict[str, Any], topic: str, pubsub_name: str, path: str, metadata: dict[str, str],
                      timeout: float | None) -> str:
        """``OnTopicEvent`` for one message; returns "success", "retry" or "drop" (raises
        ``service.DeliveryTimeout`` past ``processingTimeout``)."""
        event_id = event.get("id")
        try:
            request = event_request(event, topic, pubsub_name, path=path)
        except ValueError as exc:
            log.debug("error returned from app while processing pub/sub event: %s", exc)
            return "retry"
        md = [(k.lower(), v) for k, v in {**metadata, service.METADATA_KEY_PUBSUB: pubsub_name}.items()
              if k.lower() not in _SKIPPED_HEADERS and k.lower() != "traceparent" and _valid_metadata(k, v)]
        md.insert(0, ("traceparent", _traceparent(event)))
        try:
            response = await self.callback.OnTopicEvent(request, metadata=md, timeout=timeout)
        except grpc.aio.AioRpcError as exc:
            if exc.code() == grpc.StatusCode.DEADLINE_EXCEEDED and timeout is not None:
                raise service.DeliveryTimeout(f"app did not answer event {event_id} within processingTimeout") from exc
            if exc.code() == grpc.StatusCode.UNIMPLEMENTED:
                log.warning("non-retriable error returned from app while processing pub/sub event %s: %s", event_id, _rpc_text(exc))
                return "success"
            log.debug("error returned from app while processing pub/sub event %s: retriable error occurred: %s", event_id, _rpc_text(exc))
            return "retry"
        outcome = _STATUS.get(response.status)
        if outcome is None:
            log.debug("unknown status returned from app while processing pub/sub event %s, status: %s", event_id, response.status)
            return "retry"
        if outcome == "drop":
            log.warning("DROP status returned from app while processing pub/sub event %s", event_id)
        return outcome

    async def close(self) -> None:
        await self.channel.close()


def _traceparent(event: dict[str, Any]) -> str:
    """daprd sends the event's trace context (``traceparent``, else ``traceid``) as the call's
    ``traceparent``, normalised; the all-zero context when it has none or an invalid one
    (observed on daprd 1.18.2 with no tracing configuration)."""
    value = event.get("traceparent")
    if value is None:
        value = event.get("traceid")
    return (tracecontext.parse_traceparent(value) if isinstance(value, str) else "") or ZERO_TRACEPARENT


def _valid_metadata(key: str, value: str) -> bool:
    """grpcio refuses keys that are not lowercase ASCII tokens and non-printable values; such an
    entry is left out (logged) rather than failing the delivery."""
    ok = bool(key) and all(c.isascii() and (c.isalnum() or c in "-_.") for c in key) and not key.lower().startswith("grpc-")
    ok = ok and all(" " <= c <= "~" for c in value)
    if not ok:
        log.debug("metadata %r is not valid gRPC metadata; not forwarded to the app", key)
    return ok


def _rpc_text(exc: grpc.aio.AioRpcError) -> str:
    """Go's ``rpc error: code = X desc = Y``."""
    code = "".join(part.capitalize() for part in exc.code().name.split("_"))
    return f"rpc error: code = {code} desc = {exc.details()}"


def wants_bulk(entry: appcallback_pb2.TopicSubscription) -> bool:
    return entry.HasField("bulk_subscribe") and entry.bulk_subscribe.enabled


class _AppToken(grpc.aio.UnaryUnaryClientInterceptor):
    """Every app-channel call carries APP_API_TOKEN as ``dapr-api-token`` metadata, as daprd's
    gRPC app channel does (read when the call is made, like the HTTP channel's headers)."""

    async def intercept_unary_unary(self, continuation, client_call_details, request):  # type: ignore[no-untyped-def]
        extra = list(app_headers().items())
        if extra:
            metadata = list(client_call_details.metadata or []) + extra
            client_call_details = client_call_details._replace(metadata=grpc.aio.Metadata(*metadata))
        return await continuation(client_call_details, request)

