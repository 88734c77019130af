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
    s.stop()


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


@pytest.mark.parametrize("stack", [True], indirect=True, ids=["aof"])
def test_H3_6_activity_result_waits_for_the_actor_store_and_the_activity_runs_once(stack: WorkflowStack) -> None:
    """An activity that finishes while the actor store's Redis is down: daprd keeps its result
    in a reminder of its own (``activity-result-<id>``, retried every second, logged as
    ``failed to invoke scheduled actor reminder named: activity-result-... due to: failed to
    load workflow metadata: ...``) and delivers it once Redis is back: the workflow completes
    and the activity ran once, not twice. (Notebook 06's fault-isolation demo relies on it.)"""
    from cookbook.redis_server import RedisServer

    counters = RedisServer(port=stack.ports.take(), workdir=stack.tmp / "counters").start()  # survives the outage
    worker = stack.sidecar.app_process(
        "worker", [sys.executable, str(WORKER)], env={"COUNTER_REDIS_URL": counters.url, "PYTHONPATH": str(ROOT)},
    )
    log = worker.log_path
    worker.ready = lambda: log.exists() and "worker started" in log.read_text()
    try:
        worker.start_and_wait(60)
        client = stack.workflow_client()
        client.schedule_new_workflow("crashy", instance_id="o1")
        c = counters.client()
        wait_until(lambda: c.get("count:o1") == b"1", what="slow_step running")
        stack.redis_server.kill()
        c.set("release:o1", 1)  # the activity finishes while the actor store is down
        sidecar_log = stack.sidecar.process.log_path
        wait_until(lambda: "failed to invoke scheduled actor reminder named: activity-result-" in sidecar_log.read_text(),
                   timeout=30, what="the result's delivery to fail", details=stack.sidecar.log_tail)
        line = next(x for x in sidecar_log.read_text().splitlines() if "named: activity-result-" in x)
        assert "due to: failed to load workflow metadata: " in line, line
        stack.redis_server.process.start_and_wait(15)
        state = client.wait_for_workflow_completion("o1", timeout_in_seconds=60)
        assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED, state
        assert json.loads(state.serialized_output) == ["prepared", "done on attempt 1"]
        assert c.get("count:o1") == b"1"  # the result waited; the activity did not run again
    finally:
        worker.terminate()
        counters.stop()


def test_H_start_waits_for_a_worker(stack: WorkflowStack) -> None:
    """daprd 1.18 registers its workflow actors only while a worker's GetWorkItems stream is
    open: a start made before any worker connects is retried (placement: "did not find address
    for actor") until one does. A caller that gives up first (deadline) leaves nothing behind;
    one that waits gets its instance started once the worker is there."""
    from concurrent.futures import ThreadPoolExecutor

    import grpc

    from localdapr.workflow.protos import service, service_grpc

    stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{stack.sidecar.grpc_port}"))
    with pytest.raises(grpc.RpcError) as err:
        stub.StartInstance(service.CreateInstanceRequest(instanceId="gave-up", name="crashy"), timeout=2)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(stack.workflow_client().schedule_new_workflow, "crashy", instance_id="waited")
        worker = start_worker(stack)
        try:
            assert waiting.result(timeout=60) == "waited"
            wait_until(lambda: stack.redis.get("count:waited") == b"1")  # it runs: slow_step started
            finish(stack, "waited")
        finally:
            worker.terminate()
    assert stack.workflow_client().get_workflow_state("gave-up") is None
    assert stack.workflow_keys("gave-up") == []


def test_H_calls_on_an_instance_fail_once_no_worker_is_connected(stack: WorkflowStack) -> None:
    """When the last worker goes, daprd 1.18 unregisters its workflow actors: stored state is
    still read (GetInstance), but a call through the instance's actor fails after placement's
    lookup retries (about 5 s) with FAILED_PRECONDITION "did not find address for actor"."""
    from datetime import datetime, timedelta, timezone

    import grpc

    from localdapr.workflow.protos import history, service, service_grpc

    worker = start_worker(stack)
    try:
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        stack.workflow_client().schedule_new_workflow("crashy", instance_id="orphan", start_at=later)
    finally:
        worker.terminate()
    metadata = f"http://127.0.0.1:{stack.sidecar.http_port}/v1.0/metadata"
    wait_until(lambda: "workflows" not in httpx.get(metadata).json(), what="the worker's stream to close")
    assert stack.workflow_client().get_workflow_state("orphan").runtime_status == wf.WorkflowStatus.PENDING
    stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{stack.sidecar.grpc_port}"))
    lookup = "failed to lookup actor: api error: code = FailedPrecondition desc = did not find address for actor 'dapr.internal.default.crashapp.workflow/orphan'"
    with pytest.raises(grpc.RpcError) as err:
        stub.RaiseEvent(service.RaiseEventRequest(instanceId="orphan", name="go"), timeout=60)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.FAILED_PRECONDITION, lookup)
    with pytest.raises(grpc.RpcError) as err:
        stub.TerminateInstance(service.TerminateRequest(instanceId="orphan"), timeout=60)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.FAILED_PRECONDITION, "failed to submit termination request: " + lookup)
    prefix = "crashapp||dapr.internal.default.crashapp.workflow||orphan||"
    assert stack.workflow_keys("orphan") == [prefix + "inbox-000000", prefix + "metadata"]  # nothing was added
    assert history.HistoryEvent.FromString(stack.redis.hget(prefix + "inbox-000000", "data")).HasField("executionStarted")


@pytest.mark.parametrize("stack", [True], indirect=True)
def test_H_redis_down_is_a_clear_error_and_loses_nothing(stack: WorkflowStack) -> None:
    """With the actor store's Redis down, workflow calls fail with daprd's errors (gRPC UNKNOWN
    "failed to load workflow metadata: <redis error>", wrapped per API; HTTP 500 ERR_*_WORKFLOW)
    instead of hanging or crashing; the instance started before is intact afterwards. A worker
    is connected: without one daprd would only wait (test_H_start_waits_for_a_worker)."""
    from datetime import datetime, timedelta, timezone

    import grpc

    worker = start_worker(stack)
    try:
        client = stack.workflow_client()
        # Scheduled for later, so nothing runs: the test is about the store, not the worker.
        later = datetime.now(timezone.utc) + timedelta(hours=1)
        client.schedule_new_workflow("crashy", instance_id="before-outage", start_at=later)
        stack.redis_server.kill()
        with pytest.raises(grpc.RpcError) as err:
            client.schedule_new_workflow("crashy", instance_id="during-outage", start_at=later)
        assert err.value.code() == grpc.StatusCode.UNKNOWN
        assert err.value.details().startswith("failed to create workflow instance: failed to load workflow metadata: ")
        with pytest.raises(grpc.RpcError) as err:
            client.get_workflow_state("before-outage")
        assert err.value.code() == grpc.StatusCode.UNKNOWN
        assert err.value.details().startswith("failed to load workflow metadata: ")
        base = f"http://127.0.0.1:{stack.sidecar.http_port}/v1.0/workflows/dapr"
        got = httpx.get(f"{base}/before-outage", timeout=60)
        assert got.status_code == 500 and got.json()["errorCode"] == "ERR_GET_WORKFLOW"
        assert got.json()["message"].startswith(
            "error while getting workflow info on instance 'before-outage': failed to get workflow metadata for 'before-outage': "
            "failed to fetch workflow metadata: failed to load workflow metadata: "
        )
        started = httpx.post(f"{base}/crashy/start?instanceID=http-during-outage", timeout=60)  # daprd retries ~15 s
        assert started.status_code == 500 and started.json()["errorCode"] == "ERR_START_WORKFLOW"
        assert started.json()["message"].startswith(
            "error starting workflow 'crashy': unable to start workflow: failed to start workflow: failed to load workflow metadata: "
        )
        assert stack.sidecar.process.alive
        stack.redis_server.restart(kill=False)
        state = client.get_workflow_state("before-outage")
        assert state is not None and state.instance_id == "before-outage"
        assert state.runtime_status == wf.WorkflowStatus.PENDING
        assert client.get_workflow_state("during-outage") is None
        assert client.get_workflow_state("http-during-outage") is None
    finally:
        worker.terminate()
