"""A member agent of notebook 03's team, one app per member (``AGENT_NAME``: Researcher, Writer).

A plain DurableAgent in the team registry: the orchestrator finds it there (name, role, app id)
and runs its workflow ``dapr.agents.<Name>.workflow`` as a child workflow in this app. Its
scripted LLM waits at a gate the notebook opens, one chat turn at a time (``team_llms.py``).
"""

from __future__ import annotations

import os
import signal
import threading

from dapr_agents import AgentRunner, DurableAgent
from dapr_agents.agents.configs import AgentRegistryConfig, AgentStateConfig
from dapr_agents.storage.daprstores.stateservice import StateStoreService
from team_llms import GatedScript, redis_url

NAME = os.environ["AGENT_NAME"]

member = DurableAgent(
    name=NAME,
    role=f"{NAME} of the briefing team",
    goal=f"Do the {NAME.lower()}'s part of the brief",
    llm=GatedScript(NAME, redis_url()),
    state=AgentStateConfig(store=StateStoreService(store_name="workflowstatestore")),
    registry=AgentRegistryConfig(store=StateStoreService(store_name="agentstatestore"), team_name="briefing"),
)
runner = AgentRunner()
runner.workflow(member)
print(f"member ready {NAME}", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
runner.shutdown(member)
os._exit(0)  # do not wait for a turn still held at the notebook's gate
