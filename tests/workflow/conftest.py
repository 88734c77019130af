"""A sidecar with an actor store, and a WorkflowRuntime + client bound to it, per test module."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import redis

from cookbook.ports import PortBlock, free_port_block
from cookbook.redis_server import RedisServer
from cookbook.services import prepare_resources, use_sidecar_in_this_process
from cookbook.sidecar import Sidecar

ROOT = Path(__file__).resolve().parents[2]


@dataclass
class WorkflowStack:
    redis_server: RedisServer
    sidecar: Sidecar
    ports: PortBlock
    tmp: Path

    @property
    def redis(self) -> redis.Redis:
        return self.redis_server.client()

    def client(self):  # type: ignore[no-untyped-def]
        import dapr.ext.workflow as wf

        return wf.DaprWorkflowClient(host="127.0.0.1", port=str(self.sidecar.grpc_port))

    def workflow_keys(self, instance_id: str) -> list[str]:
        app = self.sidecar.app_id
        return sorted(k.decode() for k in self.redis.keys(f"{app}||dapr.internal.default.{app}.workflow||{instance_id}||*"))


def start_workflow_stack(app_id: str, appendonly: bool = False) -> WorkflowStack:
    tmp = Path(tempfile.mkdtemp(prefix=f"wf-{app_id}-"))
    ports = free_port_block(40)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis", appendonly=appendonly).start()
    resources = prepare_resources(ROOT / "components" / "01-redis-state-store", tmp / "resources", server)
    sidecar = Sidecar(app_id, [resources], ports, tmp / "run", runtime="local")
    try:
        sidecar.start()
    except Exception:
        server.stop()
        raise
    use_sidecar_in_this_process(sidecar)
    return WorkflowStack(server, sidecar, ports, tmp)


@pytest.fixture(scope="module")
def wf_stack() -> Iterator[WorkflowStack]:
    stack = start_workflow_stack("wfapp")
    yield stack
    stack.sidecar.stop()
    stack.redis_server.stop()
