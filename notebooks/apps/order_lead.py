"""The orchestrator app of notebook 09: its final message is broadcast to the team.

``OrderLead`` is a DurableAgent with ``orchestration_mode=ROUNDROBIN`` (no LLM needed to pick a
member) and ``AgentPubSubConfig(broadcast_topic="team.broadcast")``. A ``TriggerAction`` message on
its topic starts its workflow; it hands the task to ``Packer`` (the one member in its registry
team, hosted in this same app) and, when the orchestration is done, publishes its final message to
the broadcast topic. In dapr-agents 1.0.9 only an orchestrator publishes there; every agent that
subscribed to the topic (OrderAgent in the order-desk app) records it in its memory.

Both agents share one WorkflowRuntime (``agent.register(runtime)`` before it starts): one app,
one workflow worker, so the sidecar never hands a work item to a worker that lacks it. (The second
agent's start logs a harmless "The worker is already running" traceback: it tries to start the
shared runtime again.)
"""

from __future__ import annotations

import os
import signal
import threading

import dapr.ext.workflow as wf
from dapr_agents import AgentRunner, DurableAgent
from dapr_agents.agents.configs import (
    AgentExecutionConfig,
    AgentPubSubConfig,
    AgentRegistryConfig,
    AgentStateConfig,
    OrchestrationMode,
)
from dapr_agents.storage.daprstores.stateservice import StateStoreService

from cookbook.llm import make_llm

LLM = os.environ.get("AGENT_LLM", "scripted")
STORE = StateStoreService(store_name="workflowstatestore")
REGISTRY = AgentRegistryConfig(store=STORE, team_name="orders")

packer = DurableAgent(
    name="Packer",
    role="Packs orders",
    llm=make_llm(LLM, [{"content": "Order #42 packed in 2 boxes, label printed."}]),
    state=AgentStateConfig(store=STORE),
    registry=REGISTRY,
)
lead = DurableAgent(
    name="OrderLead",
    role="Leads the order team",
    llm=make_llm(LLM, [{"content": "Round done."}]),  # round-robin picks without it; only the run's summary asks
    execution=AgentExecutionConfig(orchestration_mode=OrchestrationMode.ROUNDROBIN, max_iterations=1),
    state=AgentStateConfig(store=STORE),
    registry=REGISTRY,
    pubsub=AgentPubSubConfig(pubsub_name="messagepubsub", agent_topic="orders.lead", broadcast_topic="team.broadcast"),
)
runtime = wf.WorkflowRuntime()
for agent in (packer, lead):
    agent.register(runtime)  # both agents' workflows on one worker, before it starts
runner = AgentRunner()
runner.workflow(packer)  # starts the shared runtime
runner.subscribe(lead)   # its topic starts runs; its broadcast topic too (it ignores its own)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("lead ready", flush=True)
stop.wait()
runner.shutdown(lead)
runner.shutdown(packer)
os._exit(0)
