"""The agents notebook 10 maps, grows and cleans up: two DurableAgents in one process.

* ``KeyAgent``: default key layout, its memory in a separate store (``memorystore``, with a
  component-level ``ttlInSeconds``), registered in team ``keys``, subscribed to a pub/sub topic,
  and served over HTTP by ``AgentRunner.serve`` (so dapr-agents' own purge endpoint,
  ``POST /agent/instances/<id>/purge``, is there).
* ``CappedAgent``: ``AgentStateConfig(state_key_prefix=...)`` and ``StateStoreService(key_prefix=...)``
  change its per-run entry's key; ``max_iterations=3`` caps how far one run can grow.

The scripted LLM asks for the ``lookup`` tool as many times as the task says (``turns=N``), then
answers, so the notebook controls how many turns a run has. One test hook: while the Redis key
``cookbook:hold_purge`` exists, ``agent.purge(id)`` waits (and says so in ``cookbook:purge_held``),
so the notebook can kill the process in the middle of the purge route.
"""

from __future__ import annotations

import os
import re
import signal
import threading
import time
from typing import Any

import dapr.ext.workflow as wf
import redis
import uvicorn
from dapr_agents import AgentRunner, DurableAgent, tool
from dapr_agents.agents.configs import (
    AgentExecutionConfig,
    AgentMemoryConfig,
    AgentPubSubConfig,
    AgentRegistryConfig,
    AgentStateConfig,
)
from dapr_agents.memory import ConversationDaprStateMemory
from dapr_agents.storage.daprstores.stateservice import StateStoreService
from fastapi import FastAPI

from cookbook.llm import ScriptedChatClient, _role

r = redis.Redis.from_url(os.environ["AGENT_REDIS_URL"])
CAPPED_PREFIX = os.environ.get("AGENT_CAPPED_PREFIX", "acme:prod:capped")


@tool
def lookup(step: int) -> str:
    """Look up one fact needed for the task."""
    return f"fact {step}: " + "the quick brown fox jumps over the lazy dog; " * 6


class TurnsFromTask(ScriptedChatClient):
    """Calls ``Lookup`` until the run holds N tool turns (``turns=N`` in the task), then answers."""

    def generate(self, messages: Any = None, **kwargs: Any) -> Any:
        users = " ".join(str(m.get("content") if isinstance(m, dict) else getattr(m, "content", "")) for m in messages or [] if _role(m) == "user")
        n = int(found.group(1)) if (found := re.search(r"turns=(\d+)", users)) else 1
        self.turns = [{"tool_calls": [{"name": "Lookup", "arguments": {"step": i + 1}}]} for i in range(n)]
        self.turns.append({"content": f"Done after {n} lookups."})
        return super().generate(messages, **kwargs)


class Agent(DurableAgent):
    """A DurableAgent with the notebook's hook to stop a purge half-way: the route has purged the
    workflow and is about to call ``agent.purge(id)`` (entry, then memory)."""

    def purge(self, workflow_instance_id: str) -> None:
        if r.exists("cookbook:hold_purge"):
            r.set("cookbook:purge_held", workflow_instance_id)
            while r.exists("cookbook:hold_purge"):  # the notebook kills the process here
                time.sleep(0.02)
        super().purge(workflow_instance_id)


# One workflow runtime for both agents: with a runtime each, the sidecar sees two work-item
# streams for one app id and hands a run to the one that lacks its workflow ("... orchestrator
# was not registered", seen on daprd).
runtime = wf.WorkflowRuntime()


def make_agent(name: str, **kwargs: Any) -> DurableAgent:
    agent = Agent(
        runtime=runtime,
        name=name, role="Fact finder", instructions=["Use the lookup tool, then answer."], tools=[lookup],
        llm=TurnsFromTask([{"content": "unused"}]),
        memory=AgentMemoryConfig(store=ConversationDaprStateMemory(store_name="memorystore")),
        registry=AgentRegistryConfig(store=StateStoreService(store_name="agentstatestore"), team_name="keys"),
        **kwargs,
    )
    # dapr-agents 1.0.9 replaces a configured memory store by the state store whenever ``state``
    # is set (base.py:576-584); put the memory where the component says it should live.
    agent.memory = ConversationDaprStateMemory(store_name="memorystore", agent_name=agent.name)
    return agent


key_agent = make_agent(
    "KeyAgent",
    state=AgentStateConfig(store=StateStoreService(store_name="workflowstatestore")),
    pubsub=AgentPubSubConfig(pubsub_name="messagepubsub", agent_topic="keyagent.requests"),
    execution=AgentExecutionConfig(max_iterations=50),
)
capped = make_agent(
    "CappedAgent",
    state=AgentStateConfig(store=StateStoreService(store_name="workflowstatestore", key_prefix="tenant-a:"), state_key_prefix=CAPPED_PREFIX),
    execution=AgentExecutionConfig(max_iterations=3),
)

runner = AgentRunner()
app = FastAPI()
runner.serve(key_agent, app=app)      # workflow + pub/sub subscription + /agent/... routes
runner.workflow(capped)
server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=int(os.environ["AGENT_HTTP_PORT"]), log_level="warning"))
threading.Thread(target=server.run, daemon=True).start()
while not server.started:
    time.sleep(0.02)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("agent ready", flush=True)
stop.wait()
server.should_exit = True
runner.shutdown(key_agent)
runner.shutdown(capped)
runtime.shutdown()
