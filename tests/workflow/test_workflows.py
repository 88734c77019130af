"""Workflow semantics through the official SDK (WorkflowRuntime + DaprWorkflowClient), spec H."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Iterator

import dapr.ext.workflow as wf
import pytest

from tests.stacks import SidecarStack as WorkflowStack

calls: dict[str, int] = {}


def _count(name: str) -> int:
    calls[name] = calls.get(name, 0) + 1
    return calls[name]


@pytest.fixture(scope="module")
def runtime(wf_stack: WorkflowStack) -> Iterator[wf.WorkflowRuntime]:
    rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(wf_stack.sidecar.grpc_port))

    @rt.activity(name="greet")
    def greet(ctx, name: str) -> str:
        return f"Hello {name}"

    @rt.activity(name="square")
    def square(ctx, n: int) -> int:
        return n * n

    @rt.activity(name="flaky")
    def flaky(ctx, key: str) -> str:
        if _count(key) < 3:
            raise ValueError(f"attempt {calls[key]} failed")
        return f"ok after {calls[key]}"

    @rt.activity(name="boom")
    def boom(ctx, _: object) -> None:
        raise RuntimeError("kaboom")

    @rt.workflow(name="chain")
    def chain(ctx, _):
        a = yield ctx.call_activity(greet, input="a")
        b = yield ctx.call_activity(greet, input="b")
        return [a, b]

    @rt.workflow(name="fanout")
    def fanout(ctx, n: int):
        results = yield wf.when_all([ctx.call_activity(square, input=i) for i in range(n)])
        return sum(results)

    @rt.workflow(name="timer")
    def timer(ctx, seconds: float):
        yield ctx.create_timer(timedelta(seconds=seconds))
        return "woke"

    @rt.workflow(name="approval")
    def approval(ctx, _):
        decision = yield ctx.wait_for_external_event("approve")
        return {"approved": decision}

    @rt.workflow(name="child")
    def child(ctx, n: int):
        return (yield ctx.call_activity(square, input=n))

    @rt.workflow(name="parent")
    def parent(ctx, _):
        a = yield ctx.call_child_workflow(child, input=3)
        b = yield ctx.call_child_workflow(child, input=4, instance_id=f"{ctx.instance_id}-explicit")
        return a + b

    @rt.workflow(name="retrying")
    def retrying(ctx, key: str):
        policy = wf.RetryPolicy(first_retry_interval=timedelta(milliseconds=100), max_number_of_attempts=5)
        return (yield ctx.call_activity(flaky, input=key, retry_policy=policy))

    @rt.workflow(name="failing")
    def failing(ctx, _):
        yield ctx.call_activity(boom, input=None)

    @rt.workflow(name="counter")
    def counter(ctx, n: int):
        if n < 3:
            ctx.continue_as_new(n + 1)
            return None
        return n

    rt.start()
    yield rt
    rt.shutdown()


def iid() -> str:
    return f"wf-{uuid.uuid4().hex[:8]}"


def run(stack: WorkflowStack, name: str, payload: object = None, timeout: int = 30) -> wf.WorkflowState:
    client = stack.workflow_client()
    instance = client.schedule_new_workflow(name, input=payload, instance_id=iid())
    state = client.wait_for_workflow_completion(instance, timeout_in_seconds=timeout)
    assert state is not None
    return state


def test_H_chaining_and_daprd_key_layout(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    state = run(wf_stack, "chain")
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED
    assert json.loads(state.serialized_output) == ["Hello a", "Hello b"]
    keys = wf_stack.workflow_keys(state.instance_id)
    prefix = f"wfapp||dapr.internal.default.wfapp.workflow||{state.instance_id}||"
    assert prefix + "metadata" in keys and prefix + "customStatus" in keys and prefix + "history-000000" in keys
    assert all(wf_stack.redis.type(k) == b"hash" for k in keys)
    from localdapr.workflow.protos import backend, history

    meta = backend.BackendWorkflowStateMetadata.FromString(wf_stack.redis.hget(prefix + "metadata", "data"))
    assert meta.inboxLength == 0 and meta.historyLength == sum(k.startswith(prefix + "history-") for k in keys)
    first = history.HistoryEvent.FromString(wf_stack.redis.hget(prefix + "history-000000", "data"))
    assert first.HasField("workflowStarted") or first.HasField("executionStarted")


def test_H_fan_out_fan_in(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    # 150 activities start together: more than the Redis pool (10 per CPU) and than redis-py's
    # default pool limit (100), so the steps must queue for connections rather than fail.
    state = run(wf_stack, "fanout", 150)
    assert json.loads(state.serialized_output) == sum(i * i for i in range(150))


def test_H_durable_timer(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    import time

    started = time.monotonic()
    state = run(wf_stack, "timer", 1.0)
    assert json.loads(state.serialized_output) == "woke"
    assert time.monotonic() - started >= 0.95


def test_H3_4_external_event(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    client = wf_stack.workflow_client()
    instance = client.schedule_new_workflow("approval", instance_id=iid())
    client.wait_for_workflow_start(instance, timeout_in_seconds=10)
    assert client.get_workflow_state(instance).runtime_status == wf.WorkflowStatus.RUNNING
    client.raise_workflow_event(instance, "approve", data=True)
    state = client.wait_for_workflow_completion(instance, timeout_in_seconds=10)
    assert json.loads(state.serialized_output) == {"approved": True}
    with pytest.raises(Exception, match="no such instance"):
        client.raise_workflow_event("never-started", "approve", data=True)


def test_H_child_workflows(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    state = run(wf_stack, "parent")
    assert json.loads(state.serialized_output) == 25
    child = wf_stack.workflow_client().get_workflow_state(f"{state.instance_id}-explicit")
    assert child is not None and child.runtime_status == wf.WorkflowStatus.COMPLETED


def test_H_activity_retry_policy(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    key = uuid.uuid4().hex
    state = run(wf_stack, "retrying", key)
    assert json.loads(state.serialized_output) == "ok after 3" and calls[key] == 3


def test_H_failed_workflow_reports_status_and_details(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    state = run(wf_stack, "failing")
    assert state.runtime_status == wf.WorkflowStatus.FAILED
    assert state.failure_details is not None and "kaboom" in state.failure_details.message


def test_H_continue_as_new(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    state = run(wf_stack, "counter", 0)
    assert json.loads(state.serialized_output) == 3
    from localdapr.workflow.protos import backend

    prefix = f"wfapp||dapr.internal.default.wfapp.workflow||{state.instance_id}||"
    meta = backend.BackendWorkflowStateMetadata.FromString(wf_stack.redis.hget(prefix + "metadata", "data"))
    assert meta.generation == 4  # three continue-as-new resets


def test_H3_4_terminate_suspend_resume_purge(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    client = wf_stack.workflow_client()
    paused = client.schedule_new_workflow("approval", instance_id=iid())
    client.wait_for_workflow_start(paused, timeout_in_seconds=10)
    client.pause_workflow(paused)
    assert client.get_workflow_state(paused).runtime_status == wf.WorkflowStatus.SUSPENDED
    client.raise_workflow_event(paused, "approve", data="while paused")
    client.resume_workflow(paused)
    state = client.wait_for_workflow_completion(paused, timeout_in_seconds=10)
    assert json.loads(state.serialized_output) == {"approved": "while paused"}

    doomed = client.schedule_new_workflow("approval", instance_id=iid())
    client.wait_for_workflow_start(doomed, timeout_in_seconds=10)
    client.terminate_workflow(doomed, output="stopped")
    state = client.get_workflow_state(doomed)
    assert state.runtime_status == wf.WorkflowStatus.TERMINATED
    assert wf_stack.workflow_keys(doomed)
    client.purge_workflow(doomed)
    assert wf_stack.workflow_keys(doomed) == []
    assert client.get_workflow_state(doomed) is None


def test_H3_1_reusing_an_active_instance_id_fails(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    client = wf_stack.workflow_client()
    instance = client.schedule_new_workflow("approval", instance_id=iid())
    with pytest.raises(Exception, match="already exists"):
        client.schedule_new_workflow("approval", instance_id=instance)
    client.terminate_workflow(instance)
    # a finished instance id can be started again
    client.schedule_new_workflow("chain", instance_id=instance)
    assert client.wait_for_workflow_completion(instance, timeout_in_seconds=10).runtime_status == wf.WorkflowStatus.COMPLETED


def test_H3_7_http_routes(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    import time

    import httpx

    base = f"http://127.0.0.1:{wf_stack.sidecar.http_port}/v1.0/workflows/dapr"
    r = httpx.post(f"{base}/approval/start?instanceID=http-1", content=b'"x"')
    assert r.status_code == 202 and r.json() == {"instanceID": "http-1"}
    assert httpx.post(f"{base}/http-1/raiseEvent/approve", json="yes").status_code == 202
    deadline = time.monotonic() + 10
    while httpx.get(f"{base}/http-1").json()["runtimeStatus"] != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    doc = httpx.get(f"{base}/http-1").json()
    assert doc["workflowName"] == "approval" and json.loads(doc["properties"]["dapr.workflow.output"]) == {"approved": "yes"}
    assert httpx.post(f"{base}/http-1/purge").status_code == 202
    missing = httpx.get(f"{base}/http-1")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "ERR_INSTANCE_ID_NOT_FOUND"


def test_H1_1_without_an_actor_store_workflows_fail_clearly(tmp_path, redis_server, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    from tests.conformance.conftest import component

    (tmp_path / "s.yaml").write_text(component("plain", "state.redis", {"redisHost": redis_server.address}))
    sidecar = sidecar_factory("no-actor-store", tmp_path)
    client = wf.DaprWorkflowClient(host="127.0.0.1", port=str(sidecar.grpc_port))
    with pytest.raises(Exception, match='actorStateStore'):
        client.schedule_new_workflow("chain", instance_id="x")
