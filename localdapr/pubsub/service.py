"""Publishing and delivery outcomes, shared by gRPC, HTTP and the subscription manager."""

from __future__ import annotations

import json
from typing import Any

import grpc

from localdapr.errors import DaprError
from localdapr.pubsub.cloudevents import envelope
from localdapr.pubsub.redis_streams import RedisStreamsPubSub, StreamMessage
from localdapr.runtime import Runtime


def get_pubsub(runtime: Runtime, name: str) -> RedisStreamsPubSub:
    pubsub = runtime.pubsubs.get(name)
    if pubsub is None:
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 404, "ERR_PUBSUB_NOT_FOUND", f"pubsub {name} is not found",
                        reason="DAPR_PUBSUB_NOT_FOUND", resource=("pubsub", name))
    return pubsub


async def publish(runtime: Runtime, pubsub_name: str, topic: str, data: bytes, content_type: str, metadata: dict[str, str]) -> None:
    pubsub = get_pubsub(runtime, pubsub_name)
    if not topic:
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 404, "ERR_TOPIC_NAME_EMPTY", f"topic is empty in pubsub {pubsub_name}")
    if metadata.get("rawPayload", "").lower() == "true":
        body = data
    else:
        body = envelope(data, content_type, topic=topic, pubsub=pubsub_name, source=runtime.app_id, metadata=metadata)
    try:
        await pubsub.publish(topic, body, metadata)
    except Exception as exc:  # noqa: BLE001 - broker failures map to daprd's publish error
        raise DaprError(grpc.StatusCode.INTERNAL, 500, "ERR_PUBSUB_PUBLISH_MESSAGE",
                        f"error when publishing to topic {topic} in pubsub {pubsub_name}: {exc}") from exc


def parse_event(msg: StreamMessage) -> dict[str, Any]:
    """The CloudEvent stored in the stream (raw payloads are wrapped for the subscriber)."""
    if msg.metadata.get("rawPayload", "").lower() == "true":
        return {"id": msg.id, "source": "", "type": "com.dapr.event.sent", "specversion": "1.0",
                "datacontenttype": "application/octet-stream", "data_base64": __import__("base64").b64encode(msg.data).decode(),
                "topic": msg.topic}
    return json.loads(msg.data)


async def settle(runtime: Runtime, pubsub_name: str, msg: StreamMessage, outcome: str, dead_letter_topic: str) -> None:
    """What happens after delivery (Dapr 1.17, no resiliency policy): success acks; drop and
    failure go to the dead-letter topic if there is one (then ack), else the failure is raised
    and the component acknowledges it anyway (spec F2.4, F3.4)."""
    if outcome == "success":
        return
    if dead_letter_topic:
        pubsub = get_pubsub(runtime, pubsub_name)
        await pubsub.publish(dead_letter_topic, msg.data, msg.metadata)
        return
    if outcome == "drop":
        return
    raise RuntimeError(f"subscriber asked to retry message {msg.id}; without a resiliency policy Dapr 1.17 does not retry")
