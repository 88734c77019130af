"""Redis + sidecar (daprd or local) stacks for building-block tests (one per module or per test)."""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import redis

from cookbook.ports import PortBlock, free_port_block
from cookbook.redis_server import RedisServer
from cookbook.services import use_sidecar_in_this_process
from cookbook.sidecar import Sidecar


@dataclass
class SidecarStack:
    runtime: str
    redis_server: RedisServer
    sidecar: Sidecar
    ports: PortBlock
    tmp: Path

    @property
    def redis(self) -> redis.Redis:
        return self.redis_server.client()

    def client(self):  # type: ignore[no-untyped-def]
        """A DaprClient on this sidecar (the SDK's health check reads the ports we set)."""
        from dapr.clients import DaprClient

        use_sidecar_in_this_process(self.sidecar)
        return DaprClient(address=f"127.0.0.1:{self.sidecar.grpc_port}")

    def workflow_client(self):  # type: ignore[no-untyped-def]
        import dapr.ext.workflow as wf

        return wf.DaprWorkflowClient(host="127.0.0.1", port=str(self.sidecar.grpc_port))

    def workflow_keys(self, instance_id: str) -> list[str]:
        app = self.sidecar.app_id
        return sorted(k.decode() for k in self.redis.keys(f"{app}||dapr.internal.default.{app}.workflow||{instance_id}||*"))

    def stop(self) -> None:
        """Stop everything, then delete the stack's folder: with daprd it holds the scheduler's
        etcd data, whose write-ahead log preallocates 64 MB per start (a suite run would
        otherwise leave gigabytes in the temp folder)."""
        self.sidecar.stop()
        self.redis_server.stop()
        self.ports.release()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_stack(app_id: str, write_resources: Callable[[Path, RedisServer], Path], runtime: str, *, appendonly: bool = False,
                app_port: int | None = None) -> SidecarStack:
    tmp = Path(tempfile.mkdtemp(prefix=f"stack-{app_id}-"))
    ports = free_port_block(40)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis", appendonly=appendonly).start()
    resources = write_resources(tmp / "resources", server)
    sidecar = Sidecar(app_id, [resources], ports, tmp / "run", runtime=runtime, app_port=app_port)
    try:
        sidecar.start()
    except Exception:
        sidecar.stop()  # placement/scheduler may be up even when daprd never became healthy
        server.stop()
        ports.release()
        raise
    use_sidecar_in_this_process(sidecar)
    return SidecarStack(runtime, server, sidecar, ports, tmp)
