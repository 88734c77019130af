"""A dapr-agents 1.0.9 DurableAgent with a scripted LLM completes a run with one tool call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from cookbook.llm import ScriptedChatClient, read_call_log
from tests.stacks import SidecarStack as WorkflowStack


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_durable_agent_run_with_one_tool_call(wf_stack: WorkflowStack, tmp_path: Path) -> None:
    import dapr.ext.workflow as wf
    from dapr_agents import AgentRunner, DurableAgent, tool
    from dapr_agents.agents.configs import AgentRegistryConfig, AgentStateConfig
    from dapr_agents.storage.daprstores.stateservice import StateStoreService

    used: list[str] = []

    @tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        used.append(city)
        return f"Sunny in {city}"

    log = tmp_path / "llm.jsonl"
    llm = ScriptedChatClient(
        [{"tool_calls": [{"name": "GetWeather", "arguments": {"city": "Paris"}}]}, {"content": "It is sunny in Paris."}],
        call_log=log,
    )
    runtime = wf.WorkflowRuntime(host="127.0.0.1", port=str(wf_stack.sidecar.grpc_port))
    agent = DurableAgent(
        name="WeatherAgent", role="Weather assistant", instructions=["Answer weather questions"], tools=[get_weather], llm=llm,
        state=AgentStateConfig(store=StateStoreService(store_name="statestore")),
        registry=AgentRegistryConfig(store=StateStoreService(store_name="statestore"), team_name="smoke"),
        runtime=runtime,
    )
    runner = AgentRunner()
    try:
        runner.workflow(agent)
        out = runner.run_sync(agent, {"task": "Weather in Paris?"}, instance_id="smoke-1", timeout_in_seconds=60)
    finally:
        runner.shutdown(agent)
        runtime.shutdown()
    assert used == ["Paris"]
    final = json.loads(out) if isinstance(out, str) else out
    assert "sunny in Paris" in json.dumps(final)
    turns = [c for c in read_call_log(log) if c["kind"] == "turn"]
    assert [t["turn"] for t in turns] == [0, 1]
    state = wf_stack.workflow_client().get_workflow_state("smoke-1")
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED
    entry = json.loads(wf_stack.redis.hget("wfapp||weatheragent:_workflow_smoke-1", "data"))
    roles = [m["role"] for m in entry["messages"]]
    assert roles.count("tool") == 1 and roles[-1] == "assistant"
