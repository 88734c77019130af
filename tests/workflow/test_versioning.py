"""Workflow versioning and patching (dapr SDK 1.18: ``versioned_workflow``, ``ctx.is_patched``),
as daprd 1.18.2 records them and stalls on them, on both runtimes.

What daprd does (run side by side with the local sidecar; source: dapr's
``pkg/actors/targets/workflow/orchestrator/versioning.go`` and durabletask-go's
``backend/orchestration.go`` / ``runtimestate/applier.go``):

* the version the worker reports goes on the turn's WorkflowStarted event: a versioned
  workflow's name on every turn, its patches only on the turn that first applied them
  (``compactPatches``); GetInstance shows the version name of the first WorkflowStarted;
* a replay that needs a version the worker does not have, or whose patches do not start with
  the recorded ones, stalls: an ExecutionStalled event (VERSION_NOT_AVAILABLE / PATCH_MISMATCH,
  daprd's description), the turn's events dropped and the inbox kept, status STALLED, and every
  call on the instance refused with "actor is stalled" until a worker connects again; a worker
  with the right code then finishes it.
"""

from __future__ import annotations

import json
import uuid
from typing import Any, Callable, Iterator

import dapr.ext.workflow as wf
import grpc
import httpx
import pytest
from google.protobuf import json_format

from cookbook.processes import wait_until
from localdapr.workflow.protos import history, service, service_grpc
from tests.stacks import SidecarStack


def rows(stack: SidecarStack, instance: str) -> dict[str, Any]:
    """The instance's workflow rows, decoded (timestamps and ids dropped)."""
    from localdapr.workflow.protos import backend

    out: dict[str, Any] = {}
    for key in stack.workflow_keys(instance):
        leaf = key.rsplit("||", 1)[1]
        data = stack.redis.hget(key, "data")
        if data is None:  # deleted by a save between listing and reading (an inbox row consumed)
            continue
        if leaf == "metadata":
            out[leaf] = json_format.MessageToDict(backend.BackendWorkflowStateMetadata.FromString(data))
        elif leaf.startswith(("history-", "inbox-")):
            ev = json_format.MessageToDict(history.HistoryEvent.FromString(data))
            ev.pop("timestamp")
            ev.pop("router", None)
            for kind in ("executionStarted", "taskScheduled", "taskCompleted"):
                ev.get(kind, {}).pop("workflowInstance", None)
                ev.get(kind, {}).pop("taskExecutionId", None)
            out[leaf] = ev
    return out


def started_versions(stack: SidecarStack, instance: str) -> list[dict[str, Any]]:
    """The ``version`` of each WorkflowStarted in history, in order ({} when it has none)."""
    return [v["workflowStarted"] for k, v in sorted(rows(stack, instance).items()) if k.startswith("history-") and "workflowStarted" in v]


def get_instance(stack: SidecarStack, instance: str) -> dict[str, Any]:
    stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{stack.sidecar.grpc_port}"))
    state = stub.GetInstance(service.GetInstanceRequest(instanceId=instance, getInputsAndOutputs=True), timeout=30).workflowState
    return {"version": state.version.value if state.HasField("version") else None}


class Worker:
    """An in-process SDK worker whose registered code a test swaps (shut down, start another),
    as deploying a new version of an app does."""

    def __init__(self, stack: SidecarStack) -> None:
        self.stack = stack
        self.rt: wf.WorkflowRuntime | None = None
        self.said: list[str] = []

    def start(self, register: Callable[[wf.WorkflowRuntime], None]) -> None:
        self.stop()
        rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(self.stack.sidecar.grpc_port))

        @rt.activity(name="say")
        def say(ctx, text: str) -> str:  # type: ignore[no-untyped-def]
            self.said.append(text)
            return text

        register(rt)
        rt.start()
        self.rt = rt

    def stop(self) -> None:
        if self.rt is not None:
            self.rt.shutdown()
            self.rt = None


@pytest.fixture
def worker(wf_stack: SidecarStack) -> Iterator[Worker]:
    w = Worker(wf_stack)
    yield w
    w.stop()


def versioned(version: str):  # type: ignore[no-untyped-def]
    def flow(ctx, _):  # type: ignore[no-untyped-def]
        yield ctx.call_activity("say", input=f"{version} start")
        yield ctx.wait_for_external_event("go")
        yield ctx.call_activity("say", input=f"{version} end")
        return version

    flow.__name__ = version
    return flow


def register_versions(*versions: str, latest: str) -> Callable[[wf.WorkflowRuntime], None]:
    def register(rt: wf.WorkflowRuntime) -> None:
        for v in versions:
            rt.register_versioned_workflow(versioned(v), name="vflow", version_name=v, is_latest=v == latest)

    return register


def register_patched(with_p1: bool) -> Callable[[wf.WorkflowRuntime], None]:
    def register(rt: wf.WorkflowRuntime) -> None:
        @rt.workflow(name="pflow")
        def pflow(ctx, _):  # type: ignore[no-untyped-def]
            if with_p1:
                yield ctx.call_activity("say", input="p1 patched" if ctx.is_patched("p1") else "p1 not patched")
            yield ctx.wait_for_external_event("go")
            if ctx.is_patched("p2"):
                yield ctx.call_activity("say", input="p2 patched")
            return "p"

    return register


def waiting_for_event(stack: SidecarStack, instance: str) -> None:
    """Until the workflow has armed its wait for "go" (its TimerCreated is in history)."""
    wait_until(lambda: any("timerCreated" in v for v in rows(stack, instance).values()), timeout=30)


def iid(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def test_H_versioned_workflow_records_its_version(wf_stack: SidecarStack, worker: Worker) -> None:
    worker.start(register_versions("v1", latest="v1"))
    client = wf_stack.workflow_client()
    instance = client.schedule_new_workflow("vflow", instance_id=iid("v"))
    waiting_for_event(wf_stack, instance)
    assert get_instance(wf_stack, instance)["version"] == "v1"
    client.raise_workflow_event(instance, "go")
    state = client.wait_for_workflow_completion(instance, timeout_in_seconds=30)
    assert json.loads(state.serialized_output) == "v1"
    # every turn's WorkflowStarted carries the version name (4 turns: start, activity, event, activity)
    assert started_versions(wf_stack, instance) == [{"version": {"name": "v1"}}] * 4


def test_H_patches_are_recorded_on_the_turn_that_applied_them(wf_stack: SidecarStack, worker: Worker) -> None:
    worker.start(register_patched(with_p1=True))
    client = wf_stack.workflow_client()
    instance = client.schedule_new_workflow("pflow", instance_id=iid("p"))
    waiting_for_event(wf_stack, instance)
    client.raise_workflow_event(instance, "go")
    client.wait_for_workflow_completion(instance, timeout_in_seconds=30)
    assert "p1 patched" in worker.said and "p2 patched" in worker.said
    # turn 1 applied p1, turn 3 p2; replays that saw them again record nothing (compactPatches)
    assert started_versions(wf_stack, instance) == [{"version": {"patches": ["p1"]}}, {}, {"version": {"patches": ["p2"]}}, {}]
    assert get_instance(wf_stack, instance)["version"] is None


def test_H_a_replay_the_worker_cannot_do_stalls_until_the_right_code_runs(wf_stack: SidecarStack, worker: Worker) -> None:
    client = wf_stack.workflow_client()
    worker.start(lambda rt: (register_versions("v1", latest="v1")(rt), register_patched(with_p1=True)(rt)))
    by_version = client.schedule_new_workflow("vflow", instance_id=iid("sv"))
    by_patch = client.schedule_new_workflow("pflow", instance_id=iid("sp"))
    doomed = client.schedule_new_workflow("vflow", instance_id=iid("st"))
    for instance in (by_version, by_patch, doomed):
        waiting_for_event(wf_stack, instance)
    before = {i: rows(wf_stack, i) for i in (by_version, by_patch)}

    # "deploy" code without v1 and without the p1 check: the next replay of each stalls
    worker.start(lambda rt: (register_versions("v2", latest="v2")(rt), register_patched(with_p1=False)(rt)))
    for instance in (by_version, by_patch, doomed):
        client.raise_workflow_event(instance, "go")
    for instance in (by_version, by_patch, doomed):
        wait_until(lambda: client.get_workflow_state(instance).runtime_status == wf.WorkflowStatus.STALLED, timeout=30)
    stalled = {
        by_version: {"reason": "VERSION_NOT_AVAILABLE", "description": "Version not available: v1"},
        by_patch: {"description": "Patch mismatch. History patches: [p1], current patches: []. "},  # PATCH_MISMATCH is enum 0
    }
    for instance, event in stalled.items():
        now = rows(wf_stack, instance)
        n = int(before[instance]["metadata"]["historyLength"])
        # the turn's events are dropped, the raised event waits in the inbox
        assert {k: v for k, v in now.items() if k.startswith("history-")} == {
            **{k: v for k, v in before[instance].items() if k.startswith("history-")},
            f"history-{n:06d}": {"eventId": -1, "executionStalled": event},
        }
        assert now["inbox-000000"] == {"eventId": -1, "eventRaised": {"name": "go"}}
        assert now["metadata"] == {"inboxLength": "1", "historyLength": str(n + 1), "generation": "1"}
    assert get_instance(wf_stack, by_version)["version"] == "v1"

    # a stalled workflow's actor refuses calls (daprd holds its lock while stalled)
    stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{wf_stack.sidecar.grpc_port}"))
    refused = f"failed to invoke method for workflow '{by_version}': actor is stalled"
    with pytest.raises(grpc.RpcError) as err:
        client.raise_workflow_event(by_version, "go")
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, refused)
    with pytest.raises(grpc.RpcError) as err:
        stub.SuspendInstance(service.SuspendRequest(instanceId=by_version), timeout=30)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, refused)
    with pytest.raises(grpc.RpcError) as err:
        client.terminate_workflow(doomed)
    assert (err.value.code(), err.value.details()) == (
        grpc.StatusCode.UNKNOWN, f"failed to submit termination request: failed to invoke method for workflow '{doomed}': actor is stalled")
    base = f"http://127.0.0.1:{wf_stack.sidecar.http_port}/v1.0/workflows/dapr/{by_version}"
    assert httpx.get(base, timeout=30).json()["runtimeStatus"] == "UNKNOWN"  # daprd's HTTP status map stops at SUSPENDED
    answer = httpx.post(f"{base}/raiseEvent/go", timeout=30)
    assert (answer.status_code, answer.json()) == (500, {
        "errorCode": "ERR_RAISE_EVENT_WORKFLOW",
        "message": f"error raising event on workflow '{by_version}': failed to raise event go on workflow {by_version}: failed to raise event: " + refused,
    })
    with pytest.raises(grpc.RpcError) as err:  # the actor itself answers a single purge
        stub.PurgeInstances(service.PurgeInstancesRequest(instanceId=by_version), timeout=30)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, "failed to purge workflow state: " + refused)
    with pytest.raises(grpc.RpcError) as err:  # a recursive one reads the instance first
        stub.PurgeInstances(service.PurgeInstancesRequest(instanceId=by_version, recursive=True), timeout=30)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, "failed to purge workflow state: orchestration has not yet completed")

    # the right code comes back (v1 beside the new latest v2; the p1 check restored): both finish
    worker.start(lambda rt: (register_versions("v1", "v2", latest="v2")(rt), register_patched(with_p1=True)(rt)))
    assert client.wait_for_workflow_completion(by_version, timeout_in_seconds=60).runtime_status == wf.WorkflowStatus.COMPLETED
    assert client.wait_for_workflow_completion(by_patch, timeout_in_seconds=60).runtime_status == wf.WorkflowStatus.COMPLETED
    assert "v1 end" in worker.said and "v2 start" not in worker.said
    done = rows(wf_stack, by_version)
    n = int(before[by_version]["metadata"]["historyLength"])
    # the stalled event stays in history; the run that follows starts with the kept event
    assert [done[f"history-{i:06d}"] for i in (n, n + 1, n + 2)] == [
        {"eventId": -1, "executionStalled": stalled[by_version]},
        {"eventId": -1, "workflowStarted": {"version": {"name": "v1"}}},
        {"eventId": -1, "eventRaised": {"name": "go"}},
    ]
    assert "inbox-000000" not in done
