"""A dapr-agents 1.0.9 team in three apps, one sidecar each, on one Redis and one control plane:
an orchestrator (``DurableAgent`` with ``AgentExecutionConfig(orchestration_mode=...)``) in app
A and two agents in apps B and C, scripted LLMs. The orchestrator calls each agent's workflow as
a child workflow with ``router.targetAppID`` = the agent's registry ``appid``; the child must run
in the agent's own app (its rows under that app's prefix) and its answer return to A. Both
runtimes, for RANDOM, ROUNDROBIN and AGENT modes.
"""

from __future__ import annotations

import json
import sys
import time
from typing import Any, Iterator

import dapr.ext.workflow as wf
import pytest

from cookbook.processes import ManagedProcess
from tests.multiapp.team import ROOT, Team, start_team

APP = ROOT / "tests" / "multiapp" / "agent_app.py"
MEMBERS = {"b": "Frodo", "c": "Sam"}


def start_member(team: Team, role: str, name: str, extra: dict[str, str]) -> ManagedProcess:
    env = {"AGENT_NAME": name, "TEAM": "fellowship", "PYTHONPATH": str(ROOT), "ROLE": "agent", **extra}
    proc = team.sidecars[role].app_process(f"agent-{name}", [sys.executable, str(APP)], env=env)
    log = proc.log_path
    proc.ready = lambda: log.exists() and log.read_text().count("agent ready") >= proc.starts
    proc.start_and_wait(120)
    team.workers[name] = proc
    return proc


@pytest.fixture(scope="module")
def team(dapr_runtime: str) -> Iterator[Team]:
    t = start_team(dapr_runtime, "xteam", roles=(), workers=False)
    try:
        registry = (ROOT / "components" / "02-durable-agent-state" / "agentstatestore.yaml").read_text()
        (t.resources / "agentstatestore.yaml").write_text(registry.replace("localhost:6379", t.redis_server.address))
        for role in ("a", "b", "c"):
            t.add_sidecar(role)
        for role, name in MEMBERS.items():
            start_member(t, role, name, {})
        yield t
    finally:
        t.stop()


def cross_app_children(team: Team, root: str) -> list[dict[str, Any]]:
    """ChildWorkflowInstanceCreated events, in order, of every instance under A whose id starts
    with ``root`` (the orchestrator's workflow and its orchestration child) that target another app."""
    a = team.apps["a"]
    ids = sorted({k.split("||")[2] for k in (x.decode() for x in team.redis.keys(f"{a}||*workflow||{root}*||metadata"))})
    out = []
    for iid in ids:
        out += [e for e in team.history("a", iid) if "childWorkflowInstanceCreated" in e and e["router"].get("targetAppID", a) != a]
    return out


@pytest.mark.parametrize("mode, max_iterations", [("random", 2), ("roundrobin", 2), ("agent", 3)])
def test_orchestrator_runs_each_agent_in_its_own_app(team: Team, mode: str, max_iterations: int) -> None:
    boss = f"Boss{mode.capitalize()}"
    extra = {"ROLE": "orchestrator", "MODE": mode, "MAX_ITERATIONS": str(max_iterations)}
    if mode == "agent":
        extra["PLAN"] = "Frodo,Sam"
    orchestrator = start_member(team, "a", boss, extra)
    try:
        ready = [ln for ln in orchestrator.log_path.read_text().splitlines() if "agent ready" in ln][-1]
        iid = f"orch-{mode}"
        client = team.client("a")
        began = time.monotonic()
        client.schedule_new_workflow(ready.split()[-1], input={"task": "Take the ring to Mordor"}, instance_id=iid)
        state = client.wait_for_workflow_completion(iid, timeout_in_seconds=180)
        took = time.monotonic() - began
    finally:
        orchestrator.terminate()  # one orchestrator per mode; the agents serve every test
        team.workers.pop(boss)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED, state.failure_details
    print(f"{team.runtime} {mode}: orchestration completed in {took:.2f} s")

    children = cross_app_children(team, iid)
    targets = [e["router"]["targetAppID"] for e in children]
    by_app = {team.apps[r]: r for r in MEMBERS}
    assert set(targets) <= set(by_app) and 0 < len(children) <= max_iterations
    if mode == "roundrobin":
        assert sorted(targets) == sorted(by_app)  # each agent once in two turns
    if mode == "agent":
        assert targets == [team.apps["b"], team.apps["c"]]  # the plan's order; "completed" after step 2
    else:
        assert len(children) == max_iterations
    for event in children:
        child, role = event["childWorkflowInstanceCreated"]["instanceId"], by_app[event["router"]["targetAppID"]]
        assert event["childWorkflowInstanceCreated"]["name"] == f"dapr.agents.{MEMBERS[role]}.workflow"
        assert team.keys(role, child) and not team.keys("a", child)  # ran in the agent's own app
        rows = team.history(role, child)
        assert rows[1]["executionStarted"]["parentInstance"]["appID"] == team.apps["a"]
        assert rows[-1]["executionCompleted"]["workflowStatus"] == "ORCHESTRATION_STATUS_COMPLETED"
    final = json.loads(state.serialized_output)
    assert final["name"] == boss and final["role"] == "assistant"


@pytest.fixture
def fresh_team(dapr_runtime: str) -> Iterator[Team]:
    """A team of its own (it is crashed): Frodo's LLM calls wait for the test's release."""
    t = start_team(dapr_runtime, "xteamk", roles=(), workers=False)
    try:
        registry = (ROOT / "components" / "02-durable-agent-state" / "agentstatestore.yaml").read_text()
        (t.resources / "agentstatestore.yaml").write_text(registry.replace("localhost:6379", t.redis_server.address))
        for role in ("a", "b", "c"):
            t.add_sidecar(role)
        start_member(t, "b", "Frodo", {"HOLD": "1", "COUNTER_REDIS_URL": t.redis_server.url})
        start_member(t, "c", "Sam", {})
        start_member(t, "a", "Boss", {"ROLE": "orchestrator", "MODE": "roundrobin", "MAX_ITERATIONS": "2"})
        yield t
    finally:
        t.stop()


@pytest.mark.parametrize("victim", ["app", "sidecar"])
def test_orchestration_survives_kill_9_of_a_sub_agent(fresh_team: Team, victim: str) -> None:
    """kill -9 of Frodo's app (or of its sidecar) while Frodo's child workflow is in its LLM call:
    after the restart the orchestration completes; Frodo's turn ran again only because it was
    in flight, and every child completed exactly once in the orchestrator's history."""
    from cookbook.processes import wait_until

    team = fresh_team
    calls = lambda: int(team.redis.get("llm:Frodo") or 0)  # noqa: E731
    client = team.client("a")
    client.schedule_new_workflow("dapr.agents.Boss.workflow", input={"task": "Take the ring to Mordor"}, instance_id="crash1")
    wait_until(lambda: calls() == 1, 120, "Frodo in its LLM call")
    if victim == "app":
        team.workers["Frodo"].kill()
        team.workers["Frodo"].start_and_wait(120)
    else:
        team.sidecars["b"].restart(kill=True)
    wait_until(lambda: calls() >= 2, 120, "Frodo's turn run again after the restart")
    team.redis.set("release:Frodo", 1)
    state = team.client("a").wait_for_workflow_completion("crash1", timeout_in_seconds=180)
    assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED, state.failure_details
    children = cross_app_children(team, "crash1")
    assert sorted(e["router"]["targetAppID"] for e in children) == sorted([team.apps["b"], team.apps["c"]])
    a = team.apps["a"]
    ids = {k.decode().split("||")[2] for k in team.redis.keys(f"{a}||*workflow||crash1*||metadata")}
    done = [e for iid in ids for e in team.history("a", iid)
            if "childWorkflowInstanceCompleted" in e and e["router"]["sourceAppID"] != a]  # the agents' answers
    assert sorted(e["router"]["sourceAppID"] for e in done) == sorted([team.apps["b"], team.apps["c"]])
    frodo = next(e["childWorkflowInstanceCreated"]["instanceId"] for e in children if e["router"]["targetAppID"] == team.apps["b"])
    assert sum("executionCompleted" in e for e in team.history("b", frodo)) == 1


def test_agent_calls_an_agent_in_another_app_as_a_tool(team: Team) -> None:
    """Agents-as-tools: a plain agent in app A finds Frodo in the team registry (its ``load_tools``
    activity registers registry peers as tools with their ``appid``); its LLM calls the tool, and
    Frodo's workflow runs as a child in app B, its answer going back as the tool result."""
    script = [{"tool_calls": [{"name": "Frodo", "arguments": {"task": "Carry the ring."}}]}, {"content": "Frodo has it."}]
    gandalf = start_member(team, "a", "Gandalf", {"SCRIPT": json.dumps(script)})
    try:
        client = team.client("a")
        client.schedule_new_workflow("dapr.agents.Gandalf.workflow", input={"task": "Who carries the ring?"}, instance_id="tool1")
        state = client.wait_for_workflow_completion("tool1", timeout_in_seconds=180)
    finally:
        gandalf.terminate()
        team.workers.pop("Gandalf")
    assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED, state.failure_details
    assert "Frodo has it." in state.serialized_output
    children = cross_app_children(team, "tool1")
    assert [e["router"]["targetAppID"] for e in children] == [team.apps["b"]]
    child = children[0]["childWorkflowInstanceCreated"]
    assert child["name"] == "dapr.agents.Frodo.workflow" and "Carry the ring." in child["input"]
    rows = team.history("b", child["instanceId"])
    assert rows[-1]["executionCompleted"]["workflowStatus"] == "ORCHESTRATION_STATUS_COMPLETED"
    assert "Frodo handled it." in rows[-1]["executionCompleted"]["result"]
    done = next(e for e in team.history("a", "tool1") if "childWorkflowInstanceCompleted" in e)
    assert done["router"] == {"sourceAppID": team.apps["b"], "targetAppID": team.apps["a"]}
