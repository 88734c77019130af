"""Several apps, one sidecar each, on one Redis and one control plane (cross-app workflows).

As with daprd in self-hosted mode: every sidecar reports to the same placement and scheduler
(:class:`cookbook.sidecar.ControlPlane`) and uses the same actor state store (one Redis); each
app is its own worker process (``crossapp_worker.py``), so a test can kill one of them.
"""

from __future__ import annotations

import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import redis
from google.protobuf import json_format

from cookbook.ports import PortBlock, free_port_block
from cookbook.processes import ManagedProcess
from cookbook.redis_server import RedisServer
from cookbook.services import prepare_resources
from cookbook.sidecar import ControlPlane, Sidecar
from localdapr.workflow.protos import history

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("crossapp_worker.py")


@dataclass
class Team:
    runtime: str
    tmp: Path
    ports: PortBlock
    redis_server: RedisServer
    plane: ControlPlane
    resources: Path
    apps: dict[str, str]  # role -> app id
    sidecars: dict[str, Sidecar] = field(default_factory=dict)
    workers: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def redis(self) -> redis.Redis:
        return self.redis_server.client()

    def add_sidecar(self, role: str) -> Sidecar:
        sidecar = self.plane.sidecar(self.apps[role], [self.resources])
        self.sidecars[role] = sidecar
        sidecar.start()
        return sidecar

    def add_worker(self, role: str) -> ManagedProcess:
        env = {"COUNTER_REDIS_URL": self.redis_server.url, "PYTHONPATH": str(ROOT),
               "APP_B": self.apps["b"], "APP_C": self.apps["c"]}
        worker = self.sidecars[role].app_process(f"worker-{role}", [sys.executable, str(WORKER), role], env=env)
        log = worker.log_path
        worker.ready = lambda: log.exists() and log.read_text().count("worker started") >= worker.starts
        worker.start_and_wait(60)
        self.workers[role] = worker
        return worker

    def client(self, role: str = "a"):  # type: ignore[no-untyped-def]
        import dapr.ext.workflow as wf

        return wf.DaprWorkflowClient(host="127.0.0.1", port=str(self.sidecars[role].grpc_port))

    def keys(self, role: str, instance_id: str) -> list[str]:
        """The workflow rows of ``instance_id`` under ``role``'s app prefix."""
        app = self.apps[role]
        return sorted(k.decode() for k in self.redis.keys(f"{app}||dapr.internal.default.{app}.workflow||{instance_id}||*"))

    def history(self, role: str, instance_id: str) -> list[dict[str, Any]]:
        """``instance_id``'s history rows under ``role``'s prefix, decoded, in order."""
        rows = [k for k in self.keys(role, instance_id) if "||history-" in k]
        return [json_format.MessageToDict(history.HistoryEvent.FromString(self.redis.hget(k, "data"))) for k in rows]

    def stop(self) -> None:
        for worker in self.workers.values():
            worker.terminate()
        for sidecar in self.sidecars.values():
            sidecar.stop()
        self.plane.stop()
        self.redis_server.stop()
        self.ports.release()
        shutil.rmtree(self.tmp, ignore_errors=True)


def start_team(runtime: str, prefix: str, roles: Sequence[str] = ("a", "b", "c"), workers: bool = True) -> Team:
    """Redis, a control plane, and a sidecar (plus a worker) for each of ``roles``."""
    tmp = Path(tempfile.mkdtemp(prefix=f"stack-{prefix}-"))
    ports = free_port_block(40)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    team: Team | None = None
    try:
        resources = prepare_resources(ROOT / "components" / "01-redis-state-store", tmp / "resources", server)
        plane = ControlPlane(ports, tmp / "run", runtime=runtime)
        team = Team(runtime, tmp, ports, server, plane, resources, {r: f"{prefix}-{r}" for r in ("a", "b", "c")})
        for role in roles:
            team.add_sidecar(role)
            if workers:
                team.add_worker(role)
        return team
    except BaseException:
        if team is not None:
            team.stop()
        else:
            server.stop()
            ports.release()
            shutil.rmtree(tmp, ignore_errors=True)
        raise
