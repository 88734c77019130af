"""How a streaming subscription (SubscribeTopicEventsAlpha1) ends, and what the SDK does next (issue 20).

The dapr SDK reconnects when a stream ends with UNKNOWN/UNAVAILABLE/INTERNAL and gives up on
OK, so the end status is part of the contract. Every status here is daprd 1.18.2's, observed
with a hand-driven gRPC client (tests/pubsub/streams.py).
"""

from __future__ import annotations

import json
import logging
import threading
from typing import Any

import grpc
import httpx
import pytest
from dapr.common.pubsub.subscription import StreamCancelledError, StreamInactiveError
from grpc_status import rpc_status

from cookbook.processes import wait_until
from tests.pubsub.streams import RawStream, answer, initial, subscribe
from tests.stacks import SidecarStack as PubSubStack

UNKNOWN, INVALID_ARGUMENT, CANCELLED = grpc.StatusCode.UNKNOWN, grpc.StatusCode.INVALID_ARGUMENT, grpc.StatusCode.CANCELLED


def _channel(stack: PubSubStack) -> grpc.Channel:
    return grpc.insecure_channel(f"127.0.0.1:{stack.sidecar.grpc_port}")


def _publish(stack: PubSubStack, topic: str, payload: dict[str, Any]) -> None:
    with stack.client() as c:
        c.publish_event("messagepubsub", topic, json.dumps(payload), data_content_type="application/json")


def test_F3_1_client_half_close_ends_the_stream_with_unknown_eof(ps_stack: PubSubStack) -> None:
    """What the SDK's start() race does: initial request, then the send side closes."""
    with _channel(ps_stack) as channel:
        stream = RawStream(channel, initial())
        assert stream.next().HasField("initial_response")
        stream.half_close()
        assert stream.status() == (UNKNOWN, "EOF")
        assert stream.received.empty()
        nothing = RawStream(channel)
        nothing.half_close()
        assert nothing.status() == (UNKNOWN, "EOF")


def test_F3_1_bad_requests_end_the_stream(ps_stack: PubSubStack) -> None:
    cases = [
        ([answer("x")], (UNKNOWN, "initial request is required")),
        ([initial(pubsub="")], (UNKNOWN, "pubsubName is required")),
        ([initial(topic="")], (UNKNOWN, "topic is required")),
        ([initial(), initial()], (UNKNOWN, "duplicate initial request received")),
        ([initial(pubsub="nope")], (INVALID_ARGUMENT, "pubsub nope is not found")),
    ]
    with _channel(ps_stack) as channel:
        for requests, expected in cases:
            stream = RawStream(channel, *requests)
            assert stream.status() == expected, requests
        stream = RawStream(channel, initial(pubsub="nope"))
        stream.status()
        details = rpc_status.from_call(stream.call).details  # type: ignore[union-attr]
        assert [d.type_url for d in details] == ["type.googleapis.com/google.rpc.ErrorInfo"] and b"DAPR_PUBSUB_NOT_FOUND" in details[0].value
        # An answer for an id nobody waits for is logged and ignored; the stream goes on.
        stream = RawStream(channel, initial(topic="unknown-ids"), answer("no-such-id"))
        stream.next()
        _publish(ps_stack, "unknown-ids", {"n": 1})
        stream.send(answer(stream.next_event().id))
        wait_until(lambda: ps_stack.redis.xpending("unknown-ids", "psapp")["pending"] == 0)
        stream.half_close()
        assert stream.status() == (UNKNOWN, "EOF")


@pytest.mark.parametrize("ending", ["half-close", "cancel"])
def test_F3_1_message_in_flight_when_the_stream_ends_is_redelivered(ps_stack: PubSubStack, ending: str) -> None:
    """Sent, not answered, stream gone: not acknowledged, not dead-lettered; the next stream gets
    it again (after processingTimeout, 1 s here)."""
    with _channel(ps_stack) as channel:
        first = RawStream(channel, initial(topic="jobs", dead_letter_topic="jobs-dead"))
        first.next()
        _publish(ps_stack, "jobs", {"n": 1})
        event = first.next_event()
        if ending == "half-close":
            first.half_close()
            assert first.status() == (UNKNOWN, "EOF")
        else:
            first.call.cancel()
            assert first.status()[0] == CANCELLED
        assert ps_stack.redis.xpending("jobs", "psapp")["pending"] == 1
        second = RawStream(channel, initial(topic="jobs", dead_letter_topic="jobs-dead"))
        try:
            second.next()
            again = second.next_event()
            assert again.id == event.id and json.loads(again.data) == {"n": 1}
            second.send(answer(again.id))
            wait_until(lambda: ps_stack.redis.xpending("jobs", "psapp")["pending"] == 0)
        finally:
            second.close()
    assert ps_stack.redis.xlen("jobs-dead") == 0


def test_F3_1_unanswered_message_is_redelivered_after_processing_timeout(ps_stack: PubSubStack) -> None:
    """No answer within processingTimeout: the same event comes again on the same stream (not
    to the dead-letter topic); one answer settles it."""
    with _channel(ps_stack) as channel:
        stream = RawStream(channel, initial(topic="slow", dead_letter_topic="slow-dead"))
        try:
            stream.next()
            _publish(ps_stack, "slow", {"n": 1})
            first = stream.next_event()
            again = stream.next_event()
            assert again.id == first.id
            stream.send(answer(again.id))
            wait_until(lambda: ps_stack.redis.xpending("slow", "psapp")["pending"] == 0)
        finally:
            stream.close()
    assert ps_stack.redis.xlen("slow-dead") == 0


def test_F3_1_sidecar_shutdown_ends_an_idle_stream_with_unknown(ps_stack: PubSubStack) -> None:
    """Also the workflow work-item stream: CANCELLED "shutting down", on which the workflow
    SDK's worker stops for good (it reconnects after UNAVAILABLE)."""
    from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2 as wpb
    from dapr.ext.workflow._durabletask.internal import orchestrator_service_pb2_grpc as wgrpc

    with _channel(ps_stack) as channel:
        stream = RawStream(channel, initial())
        stream.next()
        work_items = wgrpc.TaskHubSidecarServiceStub(channel).GetWorkItems(wpb.GetWorkItemsRequest())
        ended: list[grpc.RpcError] = []

        def read_work_items() -> None:
            try:
                next(work_items)  # the call starts when first read
            except grpc.RpcError as err:
                ended.append(err)

        reader = threading.Thread(target=read_work_items, daemon=True)
        reader.start()
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{ps_stack.sidecar.http_port}/v1.0/metadata").json()
                   .get("workflows", {}).get("connectedWorkers") == 1, what="the work-item stream connected")
        ps_stack.sidecar.terminate()
        assert stream.status() == (UNKNOWN, "stream closed")
        reader.join(30)
        assert [(err.code(), err.details()) for err in ended] == [(CANCELLED, "shutting down")]


def test_F3_1_sdk_reconnects_after_the_start_race(ps_stack: PubSubStack, caplog: pytest.LogCaptureFixture) -> None:
    """The SDK's start() race, forced: the sidecar ends the half-closed stream with UNKNOWN "EOF",
    the SDK reconnects, and a consumer loop like dapr-agents' (``for msg in sub``, skipping
    None) keeps receiving. With status OK the SDK would raise and the consumer would die."""
    caplog.set_level(logging.WARNING, logger="dapr.clients.grpc.subscription")
    received: list[Any] = []
    failures: list[BaseException] = []
    with ps_stack.client() as c:
        sub = subscribe(c, "messagepubsub", "orders", force_race=True)
        assert sub.races >= 1
        assert "Subscription stream error (StatusCode.UNKNOWN): EOF — reconnecting" in caplog.text

        def consume() -> None:
            try:
                for msg in sub:
                    if msg is None:
                        continue
                    received.append(msg.data())
                    sub.respond_success(msg)
            except (StreamCancelledError, StreamInactiveError):
                pass  # sub.close(): the normal end
            except Exception as exc:  # noqa: BLE001 - what dapr-agents' consumer would die of
                failures.append(exc)

        consumer = threading.Thread(target=consume, daemon=True)
        consumer.start()
        try:
            for n in (1, 2):
                c.publish_event("messagepubsub", "orders", json.dumps({"n": n}), data_content_type="application/json")
            wait_until(lambda: received == [{"n": 1}, {"n": 2}] or failures, what="both messages consumed")
            assert not failures
            wait_until(lambda: ps_stack.redis.xpending("orders", "psapp")["pending"] == 0)
        finally:
            sub.close()
            consumer.join(10)
