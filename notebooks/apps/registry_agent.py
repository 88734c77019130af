"""The agents notebook 04 registers, crashes and shuts down: one DurableAgent per process.

``run_agent(spec)`` is the whole app: build a DurableAgent with a registry (construction
registers it: ``agents:<team>:<Name>`` plus the name in ``agents:<team>:_index``), optionally host
its workflow, keep a heartbeat, and deregister on SIGTERM (``agent.stop()``). Started as a script,
this file is the fork launcher of ``cookbook/registry.py``: it imports dapr-agents once and forks
one process per agent, so five agents cost one import (about 9 s of CPU here) instead of five.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

from dapr_agents import AgentRunner, DurableAgent
from dapr_agents.agents.configs import (
    AgentExecutionConfig,
    AgentRegistryConfig,
    AgentStateConfig,
    OrchestrationMode,
)
from dapr_agents.storage.daprstores.stateservice import StateStoreService

from cookbook.llm import ScriptedChatClient

REGISTRY_STORE = "agentregistry"  # components/04-agent-registry/agentregistry.yaml
HEARTBEAT_TTL = 2                 # seconds; an entry whose heartbeat expired belongs to a dead process


class ToolListingLLM(ScriptedChatClient):
    """The scripted LLM, also writing down which tools the agent offered it on each call."""

    def generate(self, messages: Any = None, *, tools: Any = None, **kwargs: Any) -> Any:
        names = [getattr(t, "name", None) or (t.get("function", {}).get("name") if isinstance(t, dict) else str(t))
                 for t in (tools or [])]
        self._record({"kind": "tools", "tools": sorted(n for n in names if n)})
        return super().generate(messages, tools=tools, **kwargs)


def heartbeat(store: StateStoreService, key: str, stop: threading.Event) -> None:
    """Refresh a short-lived key while the process lives (the registry itself has no liveness)."""
    while not stop.is_set():
        try:
            store.save(key=key, value={"pid": os.getpid(), "at": time.time()}, ttl_in_seconds=HEARTBEAT_TTL)
        except Exception as exc:  # noqa: BLE001 - a missed beat is what the notebook looks for
            print(f"heartbeat failed: {exc}", flush=True)
        stop.wait(0.5)


def run_agent(spec: dict[str, Any]) -> Any:
    name, team = spec["name"], spec["team"]
    registry = AgentRegistryConfig(store=StateStoreService(store_name=REGISTRY_STORE), team_name=team)
    execution = AgentExecutionConfig(orchestration_mode=OrchestrationMode.ROUNDROBIN) if spec.get("orchestrator") else None
    agent = DurableAgent(                    # registers here: agents:<team>:<Name> + the index
        name=name,
        role=spec["role"],
        goal=spec.get("goal", spec["role"]),
        llm=ToolListingLLM([{"content": f"{name} is on it."}]),
        registry=registry,
        execution=execution,
        state=AgentStateConfig(store=StateStoreService(store_name="workflowstatestore")) if spec.get("workflow") else None,
    )
    runner = AgentRunner() if spec.get("workflow") else None
    if runner is not None:
        runner.workflow(agent)               # hosts dapr.agents.<Name>.workflow on this sidecar

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    beat = threading.Thread(target=heartbeat, args=(registry.store, f"alive:{team}:{name}", stop), daemon=True)
    beat.start()
    print(f"agent ready {name} team={team} pid={os.getpid()}", flush=True)
    while not stop.wait(0.2):  # wake up: a SIGTERM taken by another thread only runs here when the main thread does
        pass
    beat.join()
    if runner is not None:
        runner.shutdown(agent)               # agent.stop(): deregisters, stops the workflow runtime
    else:
        # Never started: DurableAgent.stop() returns at once and runner.shutdown(agent) skips agents
        # it does not host, so deregister explicitly (what stop() would do).
        agent.deregister_agentic_system()
    # deregistered: agents:<team>:<Name> deleted, the name removed from the index (ETag-checked)
    print(f"agent stopped {name}", flush=True)
    return agent, runner                     # the launcher exits the process with these still alive


if __name__ == "__main__":
    from cookbook.registry import serve_forks

    serve_forks(run_agent, Path(os.environ["AGENT_LAUNCHER_DIR"]))
