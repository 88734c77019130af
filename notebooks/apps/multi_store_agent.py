"""The agent process notebook 06 starts: one DurableAgent whose four kinds of state live in four
state stores, each on its own Redis server.

* ``workflowstatestore`` (the sidecar's actor store): the workflow history; not named here, the
  sidecar uses it for every workflow;
* ``agentstatestore``: the agent's per-run entry (``AgentStateConfig``);
* ``memorystore``: the conversation memory (``AgentMemoryConfig``), re-assigned after
  construction because dapr-agents 1.0.9 replaces it with a memory on the state store;
* ``registrystore``: the team registry (``AgentRegistryConfig``, ``keyPrefix: none``).

The tool counts its runs in a file and waits for a release file (both in ``AGENT_CONTROL_DIR``),
not in Redis: the notebook kills each Redis in turn and the control must outlive all of them.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

from dapr_agents import AgentRunner, DurableAgent, tool
from dapr_agents.agents.configs import AgentMemoryConfig, AgentRegistryConfig, AgentStateConfig, WorkflowRetryPolicy
from dapr_agents.memory import ConversationDaprStateMemory
from dapr_agents.storage.daprstores.stateservice import StateStoreService

from cookbook.llm import make_llm

CONTROL = Path(os.environ["AGENT_CONTROL_DIR"])
TOPIC = os.environ.get("AGENT_TOPIC", "Dapr state stores")


@tool
def look_up(topic: str) -> str:
    """Look a topic up in the team's notes."""
    with (CONTROL / "tool-runs").open("a") as f:  # one line per execution
        f.write(f"{topic}\n")
    while not (CONTROL / "release").exists():  # the notebook releases the tool
        time.sleep(0.02)
    return f"Notes on {topic}: keep each kind of state in the store built for it."


llm = make_llm(
    os.environ.get("AGENT_LLM", "scripted"),
    [{"tool_calls": [{"name": "LookUp", "arguments": {"topic": TOPIC}}]}, {"content": f"Summary of the notes on {TOPIC}."}],
)
agent = DurableAgent(
    name="ResearchAgent",
    role="Research assistant",
    instructions=["Answer with the look_up tool."],
    tools=[look_up],
    llm=llm,
    # one try per state call (default 3): the workflow's retry policy below retries the whole step
    state=AgentStateConfig(store=StateStoreService(store_name="agentstatestore", retry_attempts=1)),
    registry=AgentRegistryConfig(store=StateStoreService(store_name="registrystore"), team_name="research"),
    memory=AgentMemoryConfig(store=ConversationDaprStateMemory(store_name="memorystore")),
    # A step that fails because a store is down is retried every second (default: 5 s, 3 times).
    retry_policy=WorkflowRetryPolicy(max_attempts=30, initial_backoff_seconds=1, max_backoff_seconds=1, backoff_multiplier=1),
)
print(f"memory store as constructed: {agent.memory.store_name}", flush=True)
agent.memory = ConversationDaprStateMemory(store_name="memorystore", agent_name=agent.name)  # dapr-agents 1.0.9 quirk
print(f"memory store after the fix: {agent.memory.store_name}", flush=True)

runner = AgentRunner()
runner.workflow(agent)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("agent ready", flush=True)
stop.wait()
runner.shutdown(agent)
