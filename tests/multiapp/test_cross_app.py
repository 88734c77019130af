"""Cross-app workflows: a workflow in app A calls an activity in app B and a child workflow in
app C (the shape of python-sdk's ``examples/workflow/cross-app*``), one sidecar per app on one
control plane and one Redis, on daprd and on the local sidecar.

What daprd 1.18.2 does was established by running it (this module, and the row-by-row diff in
``scripts/compare_cross_app_keys.py``) and from its source
(``pkg/actors/targets/workflow/orchestrator/activity.go``, ``messages/messages.go``, ``run.go``):
the activity runs on B's worker and writes no rows under B's prefix; the child's rows live
under C's prefix; the results come back to A's history with the routers asserted below.
"""

from __future__ import annotations

import json
from typing import Iterator

import dapr.ext.workflow as wf
import pytest

from cookbook.processes import wait_until
from tests.multiapp.team import Team, start_team

ACT, CHILD = "taskScheduled", "childWorkflowInstanceCreated"


def kinds(events: list[dict]) -> list[str]:
    return [next(k for k in e if k not in ("eventId", "timestamp", "router")) for e in events]


@pytest.fixture(scope="module")
def team(dapr_runtime: str) -> Iterator[Team]:
    t = start_team(dapr_runtime, "xapp")
    yield t
    t.stop()


def run(team: Team, workflow: str, iid: str, arg: str) -> wf.WorkflowState:
    client = team.client("a")
    client.schedule_new_workflow(workflow, input=arg, instance_id=iid)
    state = client.wait_for_workflow_completion(iid, timeout_in_seconds=90)
    assert state is not None
    return state


def test_activity_in_b_and_child_in_c_complete_with_rows_where_daprd_writes_them(team: Team) -> None:
    a, b, c = team.apps["a"], team.apps["b"], team.apps["c"]
    state = run(team, "cross_parent", "ok1", "ada")
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED, state.failure_details
    assert json.loads(state.serialized_output) == {"activity": "ADA!", "child": "hello <ADA!> from ok1:0002"}
    assert team.redis.get("runs:shout:ada") == b"1" and team.redis.get("runs:wrap:ADA!") == b"1"

    # rows: the parent under A, the child under C only, nothing under B (daprd's activity actor keeps none)
    assert team.keys("a", "ok1") and not team.keys("b", "ok1") and not team.keys("c", "ok1")
    assert team.keys("c", "ok1:0002") and not team.keys("a", "ok1:0002")
    assert not team.redis.keys(f"{b}||*")

    parent = team.history("a", "ok1")
    assert kinds(parent) == ["workflowStarted", "executionStarted", ACT, "workflowStarted", "taskCompleted", CHILD,
                             "workflowStarted", "childWorkflowInstanceCompleted", "executionCompleted"]
    routers = {k: e.get("router") for k, e in zip(kinds(parent), parent) if k != "workflowStarted"}
    assert routers == {
        "executionStarted": {"sourceAppID": a},
        ACT: {"sourceAppID": a, "targetAppID": b},
        "taskCompleted": {"sourceAppID": a, "targetAppID": b},
        CHILD: {"sourceAppID": a, "targetAppID": c},
        "childWorkflowInstanceCompleted": {"sourceAppID": c, "targetAppID": a},
        "executionCompleted": {"sourceAppID": a},
    }
    child = team.history("c", "ok1:0002")
    assert kinds(child) == ["workflowStarted", "executionStarted", ACT, "workflowStarted", "taskCompleted", "executionCompleted"]
    started = child[1]
    assert started["router"] == {"sourceAppID": a, "targetAppID": c}
    assert started["executionStarted"]["parentInstance"]["appID"] == a
    assert started["executionStarted"]["parentInstance"]["workflowInstance"]["instanceId"] == "ok1"
    assert child[2]["router"] == {"sourceAppID": c} and child[-1]["router"] == {"sourceAppID": c}


def test_errors_in_other_apps_are_task_failures_of_the_parent(team: Team) -> None:
    a, b, c = team.apps["a"], team.apps["b"], team.apps["c"]
    caught = run(team, "cross_failure", "err1", "bob")
    assert caught.runtime_status == wf.WorkflowStatus.COMPLETED, caught.failure_details
    assert json.loads(caught.serialized_output)["caught"] == "err1: Activity task #1 failed: boom in app B for bob"
    failed = next(e for e in team.history("a", "err1") if "taskFailed" in e)
    assert failed["taskFailed"]["failureDetails"]["errorType"] == "ValueError"
    assert failed["router"] == {"sourceAppID": a, "targetAppID": b}

    uncaught = run(team, "cross_uncaught", "err2", "cy")
    assert uncaught.runtime_status == wf.WorkflowStatus.FAILED
    assert uncaught.failure_details.error_type == "TaskFailedError"
    assert uncaught.failure_details.message == "Sub-orchestration task #1 failed: child in app C failed on cy"
    child_failed = next(e for e in team.history("a", "err2") if "childWorkflowInstanceFailed" in e)
    assert child_failed["router"] == {"sourceAppID": c, "targetAppID": a}
    assert child_failed["childWorkflowInstanceFailed"]["failureDetails"]["errorType"] == "RuntimeError"
    assert team.history("c", "err2:0001")[-1]["executionCompleted"]["workflowStatus"] == "ORCHESTRATION_STATUS_FAILED"


@pytest.fixture
def partial_team(dapr_runtime: str) -> Iterator[Team]:
    """Apps A and C only: B's sidecar (and worker) is started by the test."""
    t = start_team(dapr_runtime, "xlate", roles=("a", "c"))
    yield t
    t.stop()


def test_work_for_an_app_that_is_not_up_waits_and_runs_once_it_starts(partial_team: Team) -> None:
    """daprd: the call to B's activity actor fails ("did not find address for actor") and the
    workflow's reminder retries the turn until placement has B; the instance is RUNNING
    meanwhile. The local sidecar keeps the step in B's reminder set until a sidecar of B runs it."""
    team = partial_team
    client = team.client("a")
    client.schedule_new_workflow("cross_parent", input="late", instance_id="late1")
    state = client.wait_for_workflow_start("late1", timeout_in_seconds=60)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.RUNNING
    assert team.redis.get("runs:shout:late") is None
    team.add_sidecar("b")
    team.add_worker("b")
    done = client.wait_for_workflow_completion("late1", timeout_in_seconds=90)
    assert done is not None and done.runtime_status == wf.WorkflowStatus.COMPLETED, done.failure_details
    assert json.loads(done.serialized_output)["activity"] == "LATE!"
    assert team.redis.get("runs:shout:late") == b"1"


def test_recursive_purge_deletes_the_child_in_the_other_app(team: Team) -> None:
    """daprd's recursive purge calls the child's workflow actor in its own app
    (``recursivepurge.go``: the child's router target), so C's rows go too."""
    state = run(team, "cross_parent", "purge1", "eve")
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED, state.failure_details
    assert team.keys("c", "purge1:0002")
    team.client("a").purge_workflow("purge1", recursive=True)
    assert team.keys("a", "purge1") == [] and team.keys("c", "purge1:0002") == []


def test_recursive_terminate_reaches_the_child_in_the_other_app(team: Team) -> None:
    """daprd's ``terminateChildren``: once the terminated parent is saved, every child it created
    gets an ExecutionTerminated (recurse) through its own app's workflow actor."""
    client = team.client("a")
    client.schedule_new_workflow("cross_waiting", input="zed", instance_id="term1")
    in_c = team.client("c")
    # through C's workflow actor (daprd's GetInstance can read a half-written first save)
    started = in_c.wait_for_workflow_start("term1:0001", timeout_in_seconds=60)
    assert started is not None and started.runtime_status == wf.WorkflowStatus.RUNNING
    client.terminate_workflow("term1", recursive=True)
    parent = client.wait_for_workflow_completion("term1", timeout_in_seconds=60)
    assert parent is not None and parent.runtime_status == wf.WorkflowStatus.TERMINATED
    child = in_c.wait_for_workflow_completion("term1:0001", timeout_in_seconds=60)
    assert child is not None and child.runtime_status == wf.WorkflowStatus.TERMINATED
    terminated = [e for e in team.history("c", "term1:0001") if "executionTerminated" in e]
    assert len(terminated) == 1 and terminated[0]["executionTerminated"].get("recurse") is True
