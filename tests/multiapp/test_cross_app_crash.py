"""Cross-app workflows survive kill -9: of the app that runs the activity's sidecar, of the
child workflow's app (its worker), and of the parent's sidecar while the child runs. After the
restarts the parent completes, and a step whose completion was recorded is not run again (a step
killed in flight runs again: at-least-once, as inside one app). Both runtimes.
"""

from __future__ import annotations

import json
from typing import Iterator

import dapr.ext.workflow as wf
import pytest

from cookbook.processes import wait_until
from tests.multiapp.team import Team, start_team
from tests.runtimes import local_only


@pytest.fixture
def team(dapr_runtime: str) -> Iterator[Team]:
    t = start_team(dapr_runtime, "xcrash")
    yield t
    t.stop()


def count(team: Team, name: str) -> int:
    return int(team.redis.get(name) or 0)


def test_kill_9_of_target_sidecar_target_app_and_parent_sidecar(team: Team) -> None:
    client = team.client("a")
    client.schedule_new_workflow("cross_slow", input="k1", instance_id="k1")
    wait_until(lambda: count(team, "runs:slow_shout:k1") == 1, 60, "slow_shout running in app B")

    team.sidecars["b"].restart(kill=True)  # B's sidecar dies with the activity in flight
    team.redis.set("release:shout:k1", 1)
    wait_until(lambda: count(team, "runs:slow_wrap:k1") == 1, 120, "the child's activity running in app C")
    shouts = count(team, "runs:slow_shout:k1")
    assert shouts >= 1

    team.workers["c"].kill()  # the child's app dies mid-activity ...
    team.workers["c"].start_and_wait(60)
    wait_until(lambda: count(team, "runs:slow_wrap:k1") == 2, 120, "slow_wrap run again by the restarted app C")
    team.sidecars["a"].restart(kill=True)  # ... and the parent's sidecar while the child waits
    team.redis.set("release:wrap:k1", 1)

    state = team.client("a").wait_for_workflow_completion("k1", timeout_in_seconds=120)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED, state.failure_details
    shouted, greeted = json.loads(state.serialized_output)
    assert shouted.startswith("K1! (run ") and greeted == "hello <k1> (run 2)"
    assert count(team, "runs:slow_shout:k1") == shouts  # recorded as completed: not run again
    assert count(team, "runs:slow_wrap:k1") == 2
    parent = team.history("a", "k1")
    assert sum("taskCompleted" in e for e in parent) == 1 and sum("childWorkflowInstanceCompleted" in e for e in parent) == 1
    assert team.history("c", "k1:0002")[-1]["executionCompleted"]["workflowStatus"] == "ORCHESTRATION_STATUS_COMPLETED"


def test_kill_9_of_the_child_apps_sidecar_during_the_child(team: Team) -> None:
    client = team.client("a")
    team.redis.set("release:shout:k2", 1)
    client.schedule_new_workflow("cross_slow", input="k2", instance_id="k2")
    wait_until(lambda: count(team, "runs:slow_wrap:k2") == 1, 60, "the child's activity running in app C")
    assert count(team, "runs:slow_shout:k2") == 1

    team.sidecars["c"].restart(kill=True)  # C's sidecar dies while its child workflow waits on its activity
    team.redis.set("release:wrap:k2", 1)
    state = client.wait_for_workflow_completion("k2", timeout_in_seconds=120)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED, state.failure_details
    shouted, greeted = json.loads(state.serialized_output)
    assert shouted == "K2! (run 1)" and greeted.startswith("hello <k2> (run ")
    assert count(team, "runs:slow_shout:k2") == 1  # B's activity completed before the crash: not run again
    child = team.history("c", "k2:0002")
    assert sum("taskCompleted" in e for e in child) == 1
    assert child[-1]["executionCompleted"]["workflowStatus"] == "ORCHESTRATION_STATUS_COMPLETED"


@local_only("the app directory is the local sidecar's stand-in for placement")
def test_directory_lists_serving_apps_and_a_killed_sidecar_goes_stale(team: Team) -> None:
    from localdapr.workflow.directory import entry_key

    keys = {role: entry_key("default", app) for role, app in team.apps.items()}
    wait_until(lambda: all(team.redis.exists(k) for k in keys.values()), 30, "every app listed")
    entry = json.loads(team.redis.get(keys["b"]))
    assert entry["appID"] == team.apps["b"] and entry["pid"] == team.sidecars["b"].pid
    assert entry["grpcPort"] == team.sidecars["b"].grpc_port
    assert 0 < team.redis.pttl(keys["b"]) <= 5000

    team.workers["b"].terminate()  # no worker: B hosts no workflow actors, as with daprd
    wait_until(lambda: not team.redis.exists(keys["b"]), 30, "B unlisted once its worker left")
    team.workers["b"].start_and_wait(60)
    wait_until(lambda: team.redis.exists(keys["b"]), 30, "B listed again")

    team.sidecars["b"].kill()  # kill -9: nobody deletes the entry; it expires
    wait_until(lambda: not team.redis.exists(keys["b"]), 30, "B's entry stale after a kill -9")
    assert team.redis.exists(keys["a"]) and team.redis.exists(keys["c"])
