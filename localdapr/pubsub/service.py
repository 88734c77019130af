"""Publishing and delivery outcomes, shared by gRPC, HTTP and the subscription manager.

Publishing follows daprd's ``PublishEvent`` (gRPC) and ``onPublish`` (HTTP) handlers: the same
validation order and errors, the CloudEvent from :mod:`localdapr.pubsub.cloudevents`, and the
same request metadata handed to the component. The two transports differ in daprd and so they
do here: over gRPC an empty metadata map is *nil* (the stream entry has no ``metadata`` field)
and a raw payload's metadata gains ``traceid``/``tracestate``; over HTTP the map always exists
(``metadata`` is ``{}``).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any, Awaitable, Callable

from localdapr import resiliency
from localdapr.pubsub import cloudevents, errors, gocompat
from localdapr.pubsub.redis_streams import Cancelled, RedisStreamsPubSub, StreamMessage
from localdapr.resiliency import RetryPolicy
from localdapr.runtime import Runtime

log = logging.getLogger("localdapr.pubsub")

METADATA_KEY_PUBSUB = "pubsubName"  # added to a message's metadata on delivery (rtpubsub.MetadataKeyPubSub)


def get_pubsub(runtime: Runtime, name: str) -> RedisStreamsPubSub:
    runtime.check_implemented(name, "pubsub")  # a pubsub daprd has and the local sidecar only lists
    pubsub = runtime.pubsubs.get(name)
    if pubsub is None:
        raise errors.not_found(name)
    return pubsub


def is_raw_payload(name: str, metadata: dict[str, str]) -> bool:
    """contrib metadata.IsRawPayload; an invalid boolean is daprd's metadata error."""
    value = metadata.get("rawPayload", "")
    if not value:
        return False
    try:
        return gocompat.parse_bool(value)
    except ValueError:
        raise errors.metadata_error(name, metadata, f"rawPayload value must be a valid boolean: actual is '{value}'") from None


def validate(runtime: Runtime, pubsub_name: str, topic: str, metadata: dict[str, str]) -> tuple[RedisStreamsPubSub, bool]:
    """daprd's ``validateAndGetPubsubAndTopic``: the pubsub and whether the request is a raw
    payload, or daprd's error (empty name, not found, empty topic, bad ``rawPayload``)."""
    if not pubsub_name:
        raise errors.name_empty(metadata)
    pubsub = get_pubsub(runtime, pubsub_name)
    if not topic:
        raise errors.topic_empty(pubsub_name, metadata)
    return pubsub, is_raw_payload(pubsub_name, metadata)


def envelope_bytes(runtime: Runtime, pubsub_name: str, topic: str, data: bytes, content_type: str, metadata: dict[str, str],
                   trace: tuple[str, str]) -> bytes:
    """runtime/pubsub.NewCloudEvent + ApplyMetadata, marshalled as Go does; daprd's
    ``cannot create cloudevent`` error when a cloudevents+json body is not a JSON object."""
    try:
        event = cloudevents.new_envelope(data, content_type, topic=topic, pubsub=pubsub_name, source=runtime.app_id,
                                         trace_id=trace[0], trace_state=trace[1], metadata=metadata)
    except cloudevents.CloudEventError as exc:
        raise errors.cloudevent_creation(pubsub_name, runtime.app_id, str(exc)) from exc
    return gocompat.dumps_bytes(event)


async def publish(runtime: Runtime, pubsub_name: str, topic: str, data: bytes, content_type: str, metadata: dict[str, str],
                  *, transport: str, trace: tuple[str, str] = ("", "")) -> None:
    """Publish as daprd does over ``transport`` ("grpc" or "http"); ``trace`` is the caller's
    (traceid, tracestate) from :mod:`localdapr.pubsub.tracecontext`."""
    pubsub, raw = validate(runtime, pubsub_name, topic, metadata)
    md: dict[str, str] | None = dict(metadata)
    if transport == "grpc" and not metadata:
        md = None  # Go: maps.Clone(nil) is nil, and the component writes no metadata field
    if raw:
        body = data
        if transport == "grpc":
            md = {**(md or {}), "traceid": trace[0], "tracestate": trace[1]}
    else:
        body = envelope_bytes(runtime, pubsub_name, topic, data, content_type, metadata, trace)
    await write(pubsub, pubsub_name, topic, body, md)


async def write(pubsub: RedisStreamsPubSub, pubsub_name: str, topic: str, body: bytes, metadata: dict[str, str] | None) -> None:
    """The component's Publish; a broker failure is daprd's ``ERR_PUBSUB_PUBLISH_MESSAGE``."""
    try:
        await pubsub.publish(topic, body, metadata)
    except Exception as exc:  # noqa: BLE001 - broker failures map to daprd's publish error
        raise errors.publish_failed(pubsub_name, topic, f"redis streams: error from publish: {exc}") from exc


def event_for_delivery(msg: StreamMessage, pubsub_name: str, sub_metadata: dict[str, str]) -> dict[str, Any]:
    """The CloudEvent daprd's subscription handler builds from a stream entry (runtime
    subscription.go). ``rawPayload`` is the *subscription's* metadata, not the publisher's; an
    entry that is not a CloudEvent JSON object raises ValueError (daprd: dead letter or drop).
    Tracing attributes missing from the event are taken from the entry's metadata."""
    raw = gocompat.parse_bool(sub_metadata["rawPayload"]) if sub_metadata.get("rawPayload") else False
    if raw:
        event = cloudevents.from_raw_payload(msg.data, msg.topic, pubsub_name)
        for key in ("traceid", "traceparent", "tracestate"):
            if key in msg.metadata:
                event[key] = msg.metadata[key]
        if "traceparent" in msg.metadata:
            event["traceid"] = msg.metadata["traceparent"]
        return event
    event = gocompat.loads_strict(msg.data)
    if not isinstance(event, dict):
        raise ValueError("json: cannot unmarshal into Go value of type map[string]interface {}")
    if "traceid" not in event and "traceid" in msg.metadata:
        event["traceid"] = msg.metadata["traceid"]
    if "traceparent" not in event and "traceparent" in msg.metadata:
        event["traceparent"] = event["traceid"] = msg.metadata["traceparent"]
    if "tracestate" not in event and "tracestate" in msg.metadata:
        event["tracestate"] = msg.metadata["tracestate"]
    return event


async def dead_letter(runtime: Runtime, pubsub_name: str, msg: StreamMessage, topic: str) -> None:
    """sendToDeadLetter: the entry's original bytes, with its metadata plus ``pubsubName``."""
    pubsub = get_pubsub(runtime, pubsub_name)
    await pubsub.publish(topic, msg.data, {**msg.metadata, METADATA_KEY_PUBSUB: pubsub_name})


async def settle(runtime: Runtime, pubsub_name: str, msg: StreamMessage, outcome: str, dead_letter_topic: str, event_id: Any = None) -> None:
    """What happens after delivery with no resiliency policy (daprd 1.18): success acks; drop
    and failure (RETRY included) go to the dead-letter topic if there is one, then ack; without
    one a drop is acked and a failure is raised, which the component acknowledges anyway
    (components-contrib redis ``processMessage``), so it is not redelivered (spec F2.4, F3.4)."""
    if outcome == "success":
        return
    if dead_letter_topic:
        await dead_letter(runtime, pubsub_name, msg, dead_letter_topic)
        return
    if outcome == "drop":
        return
    # daprd's postman error, which the component logs ("Error processing Redis message ...")
    # before acknowledging: with no resiliency policy there is no retry.
    raise RuntimeError(f"RETRY status returned from app while processing pub/sub event {event_id}: retriable error occurred")


Deliver = Callable[[dict[str, Any]], Awaitable[str]]


class DeliveryTimeout(Exception):
    """The app did not answer within ``processingTimeout``: daprd's handler context expired."""


async def handle(runtime: Runtime, pubsub_name: str, msg: StreamMessage, sub_metadata: dict[str, str], dead_letter_topic: str,
                 deliver: Deliver) -> None:
    """daprd's per-message subscription handler around one transport's ``deliver`` (which
    returns "success", "retry" or "drop", raises ``Cancelled`` to leave the entry pending, or
    ``DeliveryTimeout``).

    An entry that cannot be read as a CloudEvent, or an expired one, never reaches the app: it
    goes to the dead-letter topic if there is one, else it is dropped (acknowledged). Returning
    normally acknowledges the entry; raising makes the component acknowledge it too.
    """
    try:
        event = event_for_delivery(msg, pubsub_name, sub_metadata)
    except ValueError as exc:
        log.error("error deserializing cloud event in pubsub %s and topic %s: %s", pubsub_name, msg.topic, exc)
        if dead_letter_topic:
            await dead_letter(runtime, pubsub_name, msg, dead_letter_topic)
            return
        raise
    if cloudevents.has_expired(event):
        log.warning("dropping expired pub/sub event %s as of %s", event.get("id"), event.get("expiration"))
        if dead_letter_topic:
            try:
                await dead_letter(runtime, pubsub_name, msg, dead_letter_topic)
            except Exception as exc:  # noqa: BLE001 - daprd ignores this error too
                log.error("error sending message to dead letter, origin topic: %s dead letter topic %s err: %s", msg.topic, dead_letter_topic, exc)
        return
    policy = inbound_retry(runtime, pubsub_name)
    delays = policy.delays() if policy is not None else iter(())
    while True:
        try:
            outcome = await deliver(event)
        except DeliveryTimeout as exc:
            # daprd: the component's context expired, so the entry is not acknowledged and the
            # redelivery loop sends it again (not to the dead-letter topic; checked on daprd 1.18).
            log.error("Error processing Redis message %s: %s", msg.id, exc)
            raise Cancelled(str(exc)) from exc
        if outcome in ("success", "drop"):
            break
        # daprd's policy runner: a RETRY answer is an error, retried while the component's
        # inbound retry policy allows; then dead letter (or the error) as without a policy.
        delay = next(delays, None)
        if delay is None:
            break
        log.warning("encountered a retriable error while publishing a subscribed message to topic %s, err: <nil>", msg.topic)
        await asyncio.sleep(delay)
    await settle(runtime, pubsub_name, msg, outcome, dead_letter_topic, event.get("id"))


def inbound_retry(runtime: Runtime, pubsub_name: str) -> RetryPolicy | None:
    """The pub/sub component's inbound retry policy from the Resiliency resources (read once)."""
    if "resiliency" not in runtime.services:
        runtime.services["resiliency"] = resiliency.load(list(runtime.options.resources_paths), runtime.app_id)
    return runtime.services["resiliency"].inbound_retry(pubsub_name)
