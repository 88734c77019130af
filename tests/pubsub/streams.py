"""Streaming-subscription helpers for tests: a hand-driven gRPC stream, the SDK's start() race
observed (or forced), and a "next message" that copes with the SDK's reconnects.

Why: dapr SDK 1.18's ``Subscription.start()`` builds its request generator so that, if gRPC's
sending thread reaches the generator's ``while self._is_stream_active()`` before ``start()``
sets the flag, the generator ends and the client half-closes right after the initial request
(issue 20). daprd ends such a stream with UNKNOWN "EOF"; the SDK's ``next_message()`` then
reconnects and returns ``None`` (a message sent to the dead stream comes back after the
component's processingTimeout). Tests must therefore loop on ``next_message()`` until a message
arrives, and they can force the race to test what happens after it.
"""

from __future__ import annotations

import queue
import sys
import threading
from typing import Any, Callable

import grpc
from dapr.clients.grpc.subscription import Subscription
from dapr.proto.runtime.v1 import appcallback_pb2, dapr_pb2_grpc, pubsub_pb2

Request = pubsub_pb2.SubscribeTopicEventsRequestAlpha1


def initial(pubsub: str = "messagepubsub", topic: str = "orders", dead_letter_topic: str = "", **metadata: str) -> Request:
    return Request(initial_request=pubsub_pb2.SubscribeTopicEventsRequestInitialAlpha1(
        pubsub_name=pubsub, topic=topic, dead_letter_topic=dead_letter_topic, metadata=metadata))


def answer(event_id: str, status: int = appcallback_pb2.TopicEventResponse.SUCCESS) -> Request:
    return Request(event_processed=pubsub_pb2.SubscribeTopicEventsRequestProcessedAlpha1(
        id=event_id, status=appcallback_pb2.TopicEventResponse(status=status)))


class RawStream:
    """One SubscribeTopicEventsAlpha1 call whose requests (and half-close) the test sends.

    A thread reads the responses into a queue and records the final status, so a test can wait
    for either with a deadline instead of blocking forever.
    """

    _END = object()

    def __init__(self, channel: grpc.Channel, *requests: Request) -> None:
        self._outgoing: queue.Queue[Any] = queue.Queue()
        for request in requests:
            self._outgoing.put(request)
        self.received: queue.Queue[pubsub_pb2.SubscribeTopicEventsResponseAlpha1] = queue.Queue()
        self.ended = threading.Event()
        self.code: grpc.StatusCode | None = None
        self.details = ""
        self.call = dapr_pb2_grpc.DaprStub(channel).SubscribeTopicEventsAlpha1(self._requests())
        threading.Thread(target=self._read, daemon=True, name="raw-subscription-reader").start()

    def _requests(self) -> Any:
        while True:
            item = self._outgoing.get()
            if item is self._END:
                return  # the generator ends: gRPC half-closes the client side
            yield item

    def _read(self) -> None:
        try:
            for response in self.call:
                self.received.put(response)
            self.code, self.details = self.call.code(), self.call.details() or ""
        except grpc.RpcError as err:
            self.code, self.details = err.code(), err.details() or ""
        finally:
            self.ended.set()

    def send(self, request: Request) -> None:
        self._outgoing.put(request)

    def half_close(self) -> None:
        self._outgoing.put(self._END)

    def next(self, timeout: float = 30.0) -> pubsub_pb2.SubscribeTopicEventsResponseAlpha1:
        return self.received.get(timeout=timeout)

    def next_event(self, timeout: float = 30.0) -> appcallback_pb2.TopicEventRequest:
        response = self.next(timeout)
        assert response.HasField("event_message"), response
        return response.event_message

    def status(self, timeout: float = 30.0) -> tuple[grpc.StatusCode | None, str]:
        """The status the stream ended with (waits for the end)."""
        assert self.ended.wait(timeout), "the stream did not end"
        return self.code, self.details

    def close(self) -> None:
        self.call.cancel()
        self.ended.wait(10)


class ObservedSubscription(Subscription):
    """The SDK's Subscription, telling whether its start() race happened (and able to force it).

    ``raced``: the request generator found the stream inactive right after the initial request
    and ended, so this stream is half-closed and the sidecar ends it (daprd: UNKNOWN "EOF").
    The check and the SDK's ``_set_stream_active()`` take the same lock, so once ``start()``
    has returned, ``raced`` is final for that stream. ``settled`` is set when a start() ended
    without the race: from then on no earlier stream of this subscription is alive on the
    sidecar, because the SDK only restarts after reading the raced stream's final status.
    (Publishing while a raced stream is still ending is not safe on daprd 1.18.2: a message
    its dying subscription reads is acknowledged undelivered, "no streamer subscribed".)
    ``force_race=True`` makes the first start() race, deterministically.
    """

    def __init__(self, *args: Any, force_race: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.force_race = force_race
        self._generator_checked = threading.Event()
        self._generators: list[Any] = []  # frames of the request generators seen so far
        self.raced = False
        self.races = 0
        self.settled = threading.Event()

    def _is_stream_active(self) -> bool:
        caller = sys._getframe(1)
        if caller.f_code.co_name != "outgoing_request_iterator":
            return super()._is_stream_active()
        with self._stream_lock:
            first_check = not any(frame is caller for frame in self._generators)
            if first_check:  # later checks are the loop after each answer, not the race
                self._generators.append(caller)
                if not self._stream_active:
                    self.raced = True
                    self.races += 1
            active = self._stream_active
        self._generator_checked.set()
        return active

    def _set_stream_active(self) -> None:
        if self.force_race:
            # The race, forced: the generator's check comes first, as when gRPC's thread wins.
            self.force_race = False
            assert self._generator_checked.wait(30), "the request generator never checked the stream flag"
        super()._set_stream_active()

    def start(self) -> None:
        with self._stream_lock:
            self.raced = False
        self.settled.clear()
        super().start()
        with self._stream_lock:
            raced = self.raced
        if not raced:
            self.settled.set()


class RaceFreeSubscription(Subscription):
    """The SDK's Subscription with its start() race removed: the stream flag is set before the
    stream is created, so the request generator never ends early. For tests about something
    else (crash redelivery) that must not depend on the race; the race itself is tested with
    ObservedSubscription."""

    def start(self) -> None:
        self._set_stream_active()
        super().start()


def subscribe(client: Any, pubsub: str, topic: str, *, force_race: bool = False, **kwargs: Any) -> ObservedSubscription:
    """``client.subscribe(...)`` that returns once the subscription's stream is one the SDK's
    race did not half-close. A raced stream is read once: the sidecar must end it with a status
    the SDK reconnects on (``next_message()`` then returns None); with OK the SDK raises."""
    sub = ObservedSubscription(client._stub, pubsub, topic, **kwargs, force_race=force_race)
    sub.start()
    while not sub.settled.is_set():
        assert _read_once(sub) is None, "a message arrived on a half-closed stream"
    return sub


def _bounded(call: Callable[[], Any], timeout: float, failure: str) -> Any:
    """Run a blocking SDK read in a thread, bounded by a deadline.

    ``next_message()`` blocks until something arrives; on a timeout the thread ends when the
    test closes the subscription. An exception in the read is raised here, in the test.
    """
    found: queue.Queue[Any] = queue.Queue()

    def read() -> None:
        try:
            found.put(call())
        except Exception as exc:  # noqa: BLE001 - handed to the test
            found.put(exc)

    threading.Thread(target=read, daemon=True, name="sdk-next-message").start()
    try:
        result = found.get(timeout=timeout)
    except queue.Empty:
        raise AssertionError(f"{failure} within {timeout:.0f}s") from None
    if isinstance(result, Exception):
        raise result
    return result


def _read_once(sub: Subscription, timeout: float = 30.0) -> Any:
    """One ``next_message()`` call, bounded by a deadline."""
    return _bounded(sub.next_message, timeout, "the stream did not end")


def next_message(sub: Subscription, timeout: float = 30.0) -> Any:
    """The next message of an SDK subscription, reading through the SDK's reconnects
    (``next_message()`` returns None after one) until a message or the deadline."""

    def until_a_message() -> Any:
        message = None
        while message is None:
            message = sub.next_message()
        return message

    return _bounded(until_a_message, timeout, "no message")
