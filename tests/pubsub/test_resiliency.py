"""A Resiliency resource's inbound retry policy on a pub/sub component (daprd 1.18.2,
``ComponentInboundPolicy`` around each delivery): a message the subscriber answers with RETRY is
delivered again ``maxRetries`` times, then goes to the dead-letter topic; SUCCESS on a retry
acknowledges it; a policy scoped to another app does not apply. Both runtimes."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Iterator

import pytest

from cookbook.processes import wait_until
from cookbook.redis_server import RedisServer
from tests.conformance.conftest import component
from tests.pubsub.streams import next_message, subscribe
from tests.stacks import SidecarStack, start_stack

APP = "rsapp"


def resiliency(name: str, component_name: str, max_retries: int, scopes: str = "") -> str:
    return textwrap.dedent(f"""\
        apiVersion: dapr.io/v1alpha1
        kind: Resiliency
        metadata:
          name: {name}
        {scopes}spec:
          policies:
            retries:
              twice:
                policy: constant
                duration: 200ms
                maxRetries: {max_retries}
          targets:
            components:
              {component_name}:
                inbound:
                  retry: twice
        """)


def resources(folder: Path, server: RedisServer) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pubsub.yaml").write_text(
        component("retrying", "pubsub.redis", {"redisHost": server.address}) + "---\n"
        + component("scopedout", "pubsub.redis", {"redisHost": server.address}))
    (folder / "resiliency.yaml").write_text(resiliency("inbound", "retrying", 2))
    (folder / "other.yaml").write_text(resiliency("other-app", "scopedout", 5, scopes="scopes: [someone-else]\n"))
    return folder


@pytest.fixture(scope="module")
def stack(dapr_runtime: str) -> Iterator[SidecarStack]:
    st = start_stack(APP, resources, dapr_runtime)
    yield st
    st.stop()


def _dead(stack: SidecarStack, topic: str) -> list[dict]:
    return [json.loads(f[b"data"])["data"] for _, f in stack.redis.xrange(topic)] if stack.redis.exists(topic) else []


def test_retry_answers_are_retried_then_dead_lettered(stack: SidecarStack) -> None:
    with stack.client() as c:
        sub = subscribe(c, "retrying", "jobs", dead_letter_topic="jobs-dead")
        try:
            c.publish_event("retrying", "jobs", json.dumps({"n": "poison"}), data_content_type="application/json")
            ids = []
            for _ in range(3):  # the delivery plus maxRetries 2
                msg = next_message(sub)
                assert msg.data() == {"n": "poison"}
                ids.append(msg.id())
                sub.respond_retry(msg)
            wait_until(lambda: _dead(stack, "jobs-dead") == [{"n": "poison"}])
            assert len(set(ids)) == 1  # the same event each time
            # A later message answered SUCCESS on its first retry is acknowledged, never dead-lettered.
            c.publish_event("retrying", "jobs", json.dumps({"n": "flaky"}), data_content_type="application/json")
            first = next_message(sub)
            sub.respond_retry(first)
            again = next_message(sub)
            assert again.id() == first.id() and again.data() == {"n": "flaky"}
            sub.respond_success(again)
            wait_until(lambda: stack.redis.xinfo_groups("jobs")[0]["pending"] == 0)
            assert _dead(stack, "jobs-dead") == [{"n": "poison"}]
        finally:
            sub.close()


def test_policy_scoped_to_another_app_does_not_apply(stack: SidecarStack) -> None:
    with stack.client() as c:
        sub = subscribe(c, "scopedout", "tasks", dead_letter_topic="tasks-dead")
        try:
            c.publish_event("scopedout", "tasks", json.dumps({"n": 1}), data_content_type="application/json")
            sub.respond_retry(next_message(sub))
            wait_until(lambda: _dead(stack, "tasks-dead") == [{"n": 1}])  # at once: no policy, no retry
            c.publish_event("scopedout", "tasks", json.dumps({"n": 2}), data_content_type="application/json")
            msg = next_message(sub)
            assert msg.data() == {"n": 2}  # not a redelivery of n=1
            sub.respond_success(msg)
        finally:
            sub.close()
