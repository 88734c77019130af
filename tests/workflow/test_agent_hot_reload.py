"""dapr-agents 1.0.9 hot reload on ``configuration.redis`` (the dapr-agents quickstart 08 pattern):
a DurableAgent loads its role from the configuration store at start, then follows changes."""

from __future__ import annotations

import queue
from pathlib import Path
from typing import Any, Iterator

import pytest

from cookbook.llm import ScriptedChatClient
from cookbook.redis_server import RedisServer
from tests.conformance.conftest import component
from tests.stacks import SidecarStack, start_stack
from tests.workflow.conftest import actor_store

CONFIG_STORE = "runtime-config"
READ_TIMEOUT = 30.0  # bound for one change to reach the agent (a bound, not a timing assertion)


def resources(folder: Path, server: RedisServer) -> Path:
    actor_store(folder, server)
    (folder / "configstore.yaml").write_text(component(CONFIG_STORE, "configuration.redis", {"redisHost": server.address}))
    return folder


@pytest.fixture
def hot_stack(dapr_runtime: str) -> Iterator[SidecarStack]:
    stack = start_stack("hot-reload-agent", resources, dapr_runtime)
    yield stack
    stack.stop()


@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_durable_agent_follows_its_role_in_the_configuration_store(hot_stack: SidecarStack) -> None:
    import dapr.ext.workflow as wf
    from dapr_agents import DurableAgent
    from dapr_agents.agents.configs import AgentStateConfig, RuntimeConfigKey, RuntimeSubscriptionConfig
    from dapr_agents.storage.daprstores.stateservice import StateStoreService

    hot_stack.redis.set("agent_role", "Role from the store||1")  # contrib's value||version encoding
    changes: queue.Queue[tuple[str, Any]] = queue.Queue()
    runtime = wf.WorkflowRuntime(host="127.0.0.1", port=str(hot_stack.sidecar.grpc_port))
    agent = DurableAgent(
        name="hot-reload-agent", role="Original Role", instructions=["Original instruction"],
        llm=ScriptedChatClient([{"content": "never asked: this test runs no task"}]),
        state=AgentStateConfig(store=StateStoreService(store_name="statestore")),
        configuration=RuntimeSubscriptionConfig(
            store_name=CONFIG_STORE, keys=[RuntimeConfigKey.AGENT_ROLE],
            on_config_change=lambda key, value: changes.put((key, value))),
        runtime=runtime,
    )
    try:
        agent.start()
        assert changes.get(timeout=READ_TIMEOUT) == ("agent_role", "Role from the store")  # the initial load
        assert agent.profile.role == "Role from the store"
        hot_stack.redis.set("agent_role", "New Hot-Reloaded Role")
        assert changes.get(timeout=READ_TIMEOUT) == ("agent_role", "New Hot-Reloaded Role")
        assert agent.profile.role == "New Hot-Reloaded Role"
    finally:
        agent.stop()
        runtime.shutdown()
