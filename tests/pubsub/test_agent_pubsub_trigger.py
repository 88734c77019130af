"""A DurableAgent configured with AgentPubSubConfig runs when a task is published to its topic."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from dapr.clients import DaprClient

from cookbook.llm import ScriptedChatClient, read_call_log
from tests.stacks import SidecarStack as PubSubStack


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
# runner.shutdown() closes the consumer thread's stream, which dapr-agents 1.0.9 reports as an
# unhandled StreamCancelledError in that thread (known, harmless; see dapr-agents-1.0.md E.2).
@pytest.mark.filterwarnings("ignore::pytest.PytestUnhandledThreadExceptionWarning")
def test_agent_is_triggered_by_a_message_on_its_topic(ps_stack: PubSubStack, tmp_path: Path) -> None:
    import dapr.ext.workflow as wf
    from dapr_agents import AgentRunner, DurableAgent
    from dapr_agents.agents.configs import AgentPubSubConfig, AgentStateConfig
    from dapr_agents.storage.daprstores.stateservice import StateStoreService

    log = tmp_path / "llm.jsonl"
    runtime = wf.WorkflowRuntime(host="127.0.0.1", port=str(ps_stack.sidecar.grpc_port))
    agent = DurableAgent(
        name="OrderAgent", role="Order desk", llm=ScriptedChatClient([{"content": "Order #42 has shipped."}], call_log=log),
        state=AgentStateConfig(store=StateStoreService(store_name="statestore")),
        pubsub=AgentPubSubConfig(pubsub_name="messagepubsub", agent_topic="orders.requests"),
        runtime=runtime,
    )
    runner = AgentRunner()
    try:
        runner.subscribe(agent)
        with DaprClient(address=f"127.0.0.1:{ps_stack.sidecar.grpc_port}") as client:
            client.publish_event("messagepubsub", "orders.requests", json.dumps({"task": "status of #42"}),
                                 data_content_type="application/json", publish_metadata={"cloudevent.type": "TriggerAction"})
        deadline = time.monotonic() + 60
        entries: list[bytes] = []
        while time.monotonic() < deadline and not entries:
            entries = [k for k in ps_stack.redis.keys("psapp||orderagent:_workflow_*")]
            time.sleep(0.1)
        assert entries, "the published task started no agent run"
        instance = entries[0].decode().split("_workflow_", 1)[1]
        state = wf.DaprWorkflowClient(host="127.0.0.1", port=str(ps_stack.sidecar.grpc_port)).wait_for_workflow_completion(instance, timeout_in_seconds=60)
        assert state.runtime_status == wf.WorkflowStatus.COMPLETED
        entry = json.loads(ps_stack.redis.hget(entries[0], "data"))
        assert entry["messages"][0]["content"].endswith("status of #42")
        assert [c["turn"] for c in read_call_log(log) if c["kind"] == "turn"] == [0]
    finally:
        runner.shutdown(agent)
        runtime.shutdown()
