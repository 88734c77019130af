"""One member of a dapr-agents 1.0.9 team, run as its own app (own sidecar): an orchestrator
(``ROLE=orchestrator``, ``MODE=random|roundrobin|agent``, ``MAX_ITERATIONS``; in AGENT mode ``PLAN``
names the members its planning LLM picks, in order) or an agent. Scripted LLM (no
network); every LLM call is logged to ``SCRIPTED_LLM_LOG``. Prints ``agent ready <workflow>``
once its workflows are registered and it is in the team registry.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import warnings

warnings.filterwarnings("ignore", category=DeprecationWarning)

import dapr.ext.workflow as wf  # noqa: E402
from dapr_agents import AgentRunner, DurableAgent  # noqa: E402
from dapr_agents.agents.configs import AgentExecutionConfig, AgentRegistryConfig, AgentStateConfig  # noqa: E402
from dapr_agents.storage.daprstores.stateservice import StateStoreService  # noqa: E402

from cookbook.llm import ScriptedChatClient  # noqa: E402


class PlanningScript(ScriptedChatClient):
    """The AGENT-mode orchestrator's LLM: a plan of one step per member of ``PLAN`` (agent names),
    then "next: member k" and "step k done" for each, "completed" after the last. Counted per
    process: fine for a run without crashes (a completed activity is never asked again)."""

    def __init__(self, members: list[str]) -> None:
        super().__init__([{"content": "Plan carried out."}])
        self.members, self.asked = members, 0

    def generate(self, messages=None, *, tools=None, response_format=None, stream=False, **kwargs):  # type: ignore[no-untyped-def]
        kind = getattr(response_format, "__name__", "")
        if kind == "IterablePlanStep":
            return response_format(objects=[{"step": i + 1, "description": f"{m} does part {i + 1}", "status": "not_started"}
                                            for i, m in enumerate(self.members)])
        if kind == "NextStep":
            k = min(self.asked, len(self.members) - 1)
            self.asked += 1
            return response_format(next_agent=self.members[k], instruction=f"Do part {k + 1}.", step=k + 1)
        if kind == "ProgressCheckOutput":
            last = self.asked >= len(self.members)
            return response_format(verdict="completed" if last else "continue", plan_needs_update=False,
                                   plan_status_update=[{"step": self.asked, "status": "completed"}])
        return super().generate(messages, tools=tools, response_format=response_format, stream=stream, **kwargs)

name, role, team = os.environ["AGENT_NAME"], os.environ["ROLE"], os.environ["TEAM"]
turns = json.loads(os.environ.get("SCRIPT") or "[]") or [{"content": f"{name} handled it."}] * 30
execution = None
if role == "orchestrator":
    execution = AgentExecutionConfig(orchestration_mode=os.environ["MODE"], max_iterations=int(os.environ.get("MAX_ITERATIONS", "2")))
runtime = wf.WorkflowRuntime(host="127.0.0.1", port=os.environ["DAPR_GRPC_PORT"])
class HeldScript(ScriptedChatClient):
    """``HOLD=1``: every chat turn is counted in Redis (``llm:<name>``) and waits for
    ``release:<name>``, so a test can kill the app or its sidecar while the agent is mid-task."""

    def generate(self, messages=None, *, tools=None, response_format=None, stream=False, **kwargs):  # type: ignore[no-untyped-def]
        if response_format is None:
            import time

            import redis

            r = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])
            r.incr(f"llm:{name}")
            while not r.exists(f"release:{name}"):
                time.sleep(0.02)
        return super().generate(messages, tools=tools, response_format=response_format, stream=stream, **kwargs)


if os.environ.get("PLAN"):
    llm: ScriptedChatClient = PlanningScript(os.environ["PLAN"].split(","))
else:
    llm = HeldScript(turns) if os.environ.get("HOLD") else ScriptedChatClient(turns)
agent = DurableAgent(
    name=name, role=f"{name} role", goal=f"Help as {name}", instructions=[f"You are {name}."], llm=llm,
    state=AgentStateConfig(store=StateStoreService(store_name="statestore")),
    registry=AgentRegistryConfig(store=StateStoreService(store_name="agentstatestore"), team_name=team),
    execution=execution, runtime=runtime,
)
runner = AgentRunner()
runner.workflow(agent)
print(f"agent ready {agent.agent_workflow_name}", flush=True)
stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
stop.wait()
runner.shutdown(agent)
runtime.shutdown()
