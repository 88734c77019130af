"""A streaming subscriber run as its own process, so tests can SIGKILL it mid-message.

Each delivery increments ``deliveries:<payload>`` and then waits for ``release`` before
answering SUCCESS and setting ``processed:<payload>``.

Its subscriptions are race-free (tests/pubsub/streams.py): the tests using this app are about
crash redelivery, and with the SDK's start() race (issue 20) daprd 1.18.2 can acknowledge a
pending message undelivered when its reconnecting stream is half-closed at once ("no streamer
subscribed"). The race itself is tested in test_streaming_end.py and the agent trigger test.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time

import redis
from dapr.clients import DaprClient
from dapr.clients.grpc import client as grpc_client
from dapr.clients.grpc._response import TopicEventResponse

from tests.pubsub.streams import RaceFreeSubscription

r = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])


def handle(message) -> TopicEventResponse:  # type: ignore[no-untyped-def]
    payload = json.loads(message.data()) if isinstance(message.data(), (bytes, str)) else message.data()
    key = payload["n"] if isinstance(payload, dict) else str(payload)
    r.incr(f"deliveries:{key}")
    while not r.exists("release"):
        time.sleep(0.02)
    r.set(f"processed:{key}", 1)
    return TopicEventResponse("success")


grpc_client.Subscription = RaceFreeSubscription  # type: ignore[attr-defined,misc]
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
with DaprClient() as client:
    close = client.subscribe_with_handler(os.environ["PUBSUB"], os.environ["TOPIC"], handle)
    print("subscriber ready", flush=True)
    stop.wait()
    close()
