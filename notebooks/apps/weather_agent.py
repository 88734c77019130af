"""The agent process notebook 02 starts, kills with SIGKILL and restarts.

A DurableAgent (dapr-agents 1.0.9) with the scripted LLM and one tool. The tool counts every
execution in Redis and then waits until the notebook sets the release key, so the notebook can
crash the process (or the sidecar) while the tool is running. The agent only hosts its workflow
(``AgentRunner.workflow``); the notebook starts runs with DaprWorkflowClient.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import redis
from dapr_agents import AgentRunner, DurableAgent, tool
from dapr_agents.agents.configs import AgentRegistryConfig, AgentStateConfig
from dapr_agents.storage.daprstores.stateservice import StateStoreService

from cookbook.llm import make_llm

r = redis.Redis.from_url(os.environ["AGENT_REDIS_URL"])
CITY = os.environ.get("AGENT_CITY", "Paris")


@tool
def get_weather(city: str) -> str:
    """Current weather for a city."""
    runs = r.incr("cookbook:tool_runs")
    while not r.exists("cookbook:release"):  # the notebook releases the tool
        time.sleep(0.02)
    return f"Sunny, 21°C in {city} (tool run {runs})"


llm = make_llm(
    os.environ.get("AGENT_LLM", "scripted"),
    [{"tool_calls": [{"name": "GetWeather", "arguments": {"city": CITY}}]}, {"content": f"It is sunny and 21°C in {CITY}."}],
)
agent = DurableAgent(
    name="WeatherAgent",
    role="Weather assistant",
    instructions=["Answer weather questions with the get_weather tool."],
    tools=[get_weather],
    llm=llm,
    state=AgentStateConfig(store=StateStoreService(store_name="workflowstatestore")),
    registry=AgentRegistryConfig(store=StateStoreService(store_name="agentstatestore"), team_name="weather"),
)
runner = AgentRunner()
runner.workflow(agent)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
print("agent ready", flush=True)
stop.wait()
runner.shutdown(agent)
