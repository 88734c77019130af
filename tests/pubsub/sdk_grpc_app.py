"""A subscriber written with the python SDK's gRPC app (``dapr.ext.grpc.App``), as in the
python-sdk ``pubsub-simple`` example: it records what each handler sees in Redis
(``sdk-received:<topic>``) so a test can check the SDK's view of a gRPC delivery."""

from __future__ import annotations

import json
import os

import redis
from cloudevents.sdk.event import v1
from dapr.clients.grpc._response import TopicEventResponse
from dapr.ext.grpc import App

r = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])
app = App()


def _record(topic: str, event: v1.Event) -> None:
    data = event.Data()
    r.rpush(f"sdk-received:{topic}", json.dumps({
        "id": event.EventID(), "subject": event.Subject(), "content_type": event.content_type, "source": event.Source(),
        "type": event.EventType(), "data": data.decode() if isinstance(data, bytes) else data,
        "extensions": {k: v for k, v in event.Extensions().items() if not k.startswith("_metadata_")},
        "metadata": {k[len("_metadata_"):]: v for k, v in event.Extensions().items() if k.startswith("_metadata_") and k != "_metadata_user-agent"},
    }))


@app.subscribe(pubsub_name="messagepubsub", topic="sdk-a")
def topic_a(event: v1.Event) -> TopicEventResponse:
    _record("sdk-a", event)
    return TopicEventResponse("success")


@app.subscribe(pubsub_name="messagepubsub", topic="sdk-d", dead_letter_topic="sdk-d-dead")
def topic_d(event: v1.Event) -> TopicEventResponse:
    _record("sdk-d", event)
    return TopicEventResponse("retry")


@app.subscribe(pubsub_name="messagepubsub", topic="sdk-d-dead")
def topic_d_dead(event: v1.Event) -> TopicEventResponse:
    _record("sdk-d-dead", event)
    return TopicEventResponse("success")


@app.subscribe(pubsub_name="messagepubsub", topic="sdk-none")
def topic_none(event: v1.Event) -> None:
    _record("sdk-none", event)  # no TopicEventResponse: the SDK answers with an empty message


app.run(int(os.environ["APP_PORT"]))
