"""Crash recovery (spec H3.6): the same instance completes after kill -9 of the sidecar, the
worker, both, or a Redis restart with AOF on; a killed worker's activity runs once more only."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Iterator

import dapr.ext.workflow as wf
import httpx
import pytest

from cookbook.processes import ManagedProcess, wait_until
from tests.stacks import SidecarStack as WorkflowStack
from tests.workflow.conftest import start_workflow_stack

WORKER = Path(__file__).with_name("worker_app.py")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def stack(request: pytest.FixtureRequest, dapr_runtime: str) -> Iterator[WorkflowStack]:
    s = start_workflow_stack("crashapp", dapr_runtime, appendonly=getattr(request, "param", False))
    yield s
    s.sidecar.stop()
    s.redis_server.stop()


def start_worker(stack: WorkflowStack) -> ManagedProcess:
    worker = stack.sidecar.app_process(
        "worker", [sys.executable, str(WORKER)], env={"COUNTER_REDIS_URL": stack.redis_server.url, "PYTHONPATH": str(ROOT)},
    )
    log = worker.log_path
    worker.ready = lambda: log.exists() and log.read_text().count("worker started") >= worker.starts
    worker.start_and_wait(60)
    return worker


def begin(stack: WorkflowStack, instance: str) -> wf.DaprWorkflowClient:
    client = stack.workflow_client()
    client.schedule_new_workflow("crashy", instance_id=instance)
    wait_until(lambda: stack.redis.get(f"count:{instance}") == b"1")  # slow_step is running
    return client


def finish(stack: WorkflowStack, instance: str) -> wf.WorkflowState:
    stack.redis.set(f"release:{instance}", 1)
    client = stack.workflow_client()
    state = client.wait_for_workflow_completion(instance, timeout_in_seconds=60)
    assert state is not None and state.instance_id == instance
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED, state.failure_details
    return state


def test_H3_6_worker_killed_during_activity(stack: WorkflowStack) -> None:
    worker = start_worker(stack)
    try:
        begin(stack, "w1")
        worker.kill()
        worker.start_and_wait(60)
        state = finish(stack, "w1")
        assert json.loads(state.serialized_output) == ["prepared", "done on attempt 2"]
        assert stack.redis.get("count:w1") == b"2"  # the interrupted activity ran once more, not more
        assert stack.redis.get("prep:w1") == b"1"  # completed steps are replayed, not re-run
    finally:
        worker.terminate()


def test_H3_6_sidecar_killed_during_activity(stack: WorkflowStack) -> None:
    worker = start_worker(stack)
    try:
        begin(stack, "s1")
        stack.sidecar.kill()
        stack.redis.set("release:s1", 1)  # the activity finishes while the sidecar is down
        stack.sidecar.restart()
        state = finish(stack, "s1")
        assert json.loads(state.serialized_output)[0] == "prepared"
        assert int(stack.redis.get("count:s1")) <= 2 and stack.redis.get("prep:s1") == b"1"
    finally:
        worker.terminate()


def test_H3_6_sidecar_and_worker_killed_together(stack: WorkflowStack) -> None:
    worker = start_worker(stack)
    try:
        begin(stack, "b1")
        worker.kill()
        stack.sidecar.kill()
        stack.sidecar.restart()
        worker.start_and_wait(60)
        state = finish(stack, "b1")
        assert json.loads(state.serialized_output) == ["prepared", "done on attempt 2"]
        assert stack.redis.get("count:b1") == b"2" and stack.redis.get("prep:b1") == b"1"
    finally:
        worker.terminate()


@pytest.mark.parametrize("stack", [True], indirect=True, ids=["aof"])
def test_H3_6_redis_restart_with_aof(stack: WorkflowStack) -> None:
    worker = start_worker(stack)
    try:
        begin(stack, "r1")
        stack.redis_server.restart(kill=True)
        state = finish(stack, "r1")
        assert json.loads(state.serialized_output)[0] == "prepared"
        assert stack.redis.get("prep:r1") == b"1"
    finally:
        worker.terminate()


@pytest.mark.parametrize("stack", [True], indirect=True)
def test_H_redis_down_is_a_clear_error_and_loses_nothing(stack: WorkflowStack) -> None:
    """With the actor store's Redis down, starting a workflow fails with INTERNAL naming the
    store (not an unexpected exception); the instance started before is intact afterwards."""
    from datetime import datetime, timedelta, timezone

    import grpc

    client = stack.workflow_client()
    # Scheduled for later, so the call returns without waiting for a first turn (no worker here).
    later = datetime.now(timezone.utc) + timedelta(hours=1)
    client.schedule_new_workflow("crashy", instance_id="before-outage", start_at=later)
    stack.redis_server.kill()
    with pytest.raises(grpc.RpcError) as err:
        client.schedule_new_workflow("crashy", instance_id="during-outage", start_at=later)
    assert err.value.code() == grpc.StatusCode.INTERNAL
    assert "actor state store statestore is unavailable" in err.value.details()
    base = f"http://127.0.0.1:{stack.sidecar.http_port}/v1.0/workflows/dapr"
    got = httpx.get(f"{base}/before-outage")
    assert got.status_code == 500 and got.json()["errorCode"] == "ERR_GET_WORKFLOW"
    assert got.json()["message"].startswith("error while getting workflow info on instance 'before-outage': ")
    started = httpx.post(f"{base}/crashy/start?instanceID=http-during-outage")
    assert started.status_code == 500 and started.json()["errorCode"] == "ERR_START_WORKFLOW"
    assert stack.sidecar.process.alive
    stack.redis_server.restart(kill=False)
    state = client.get_workflow_state("before-outage")
    assert state is not None and state.instance_id == "before-outage"
    assert client.get_workflow_state("during-outage") is None
