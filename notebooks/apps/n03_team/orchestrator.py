"""The orchestrator app of notebook 03: a DurableAgent that only coordinates.

``AgentExecutionConfig(orchestration_mode=...)`` is what makes it an orchestrator in dapr-agents
1.0.9 (the seed's ``LLMOrchestrator`` is gone): its workflow ``dapr.agents.Coordinator.workflow``
delegates to the child workflow ``dapr.agents.Coordinator.orchestration``, which finds the team
in the registry and calls each agent's workflow in the agent's own app, at most
``max_iterations`` times. AGENT mode asks the LLM for a plan and the next step; RANDOM and
ROUNDROBIN pick agents without an LLM.
"""

from __future__ import annotations

import os
import signal
import threading

from dapr_agents import AgentRunner, DurableAgent
from dapr_agents.agents.configs import AgentExecutionConfig, AgentRegistryConfig, AgentStateConfig, OrchestrationMode
from dapr_agents.storage.daprstores.stateservice import StateStoreService
from team_llms import Planner

MODE = OrchestrationMode(os.environ.get("ORCHESTRATION_MODE", "agent"))  # agent | random | roundrobin

coordinator = DurableAgent(
    name="Coordinator",
    role="Coordinates the team",
    goal="Get the brief written by the team",
    llm=Planner(members=["Researcher", "Writer"], steps=int(os.environ.get("PLAN_STEPS", "4"))),
    execution=AgentExecutionConfig(orchestration_mode=MODE, max_iterations=int(os.environ.get("MAX_ITERATIONS", "3"))),
    state=AgentStateConfig(store=StateStoreService(store_name="workflowstatestore")),
    registry=AgentRegistryConfig(store=StateStoreService(store_name="agentstatestore"), team_name="briefing"),
)
runner = AgentRunner()
runner.workflow(coordinator)  # host the workflows; the notebook starts runs with DaprWorkflowClient
print(f"orchestrator ready mode={MODE.value}", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
runner.shutdown(coordinator)
os._exit(0)  # do not wait for a turn still held at the notebook's gate
