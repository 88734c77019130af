"""A team of agents in separate apps: one Redis, one control plane, one sidecar and one process per app.

Why a helper: a multi-agent pattern (an orchestrator calling other agents' workflows) runs as
``dapr run -f`` runs it, every app with its own sidecar, all sidecars on one placement, one
scheduler and one actor state store (:class:`cookbook.sidecar.ControlPlane`). Starting that by
hand is a screen of plumbing; here it is :func:`start_team` plus :meth:`Team.start_apps`, with a
progress line per step. The app processes start **together** and are waited on together:
importing dapr-agents takes seconds per process, and three in a row would triple that.

It also answers the question a learner asks of a team's Redis: *which app's keys hold this
workflow instance?* (:meth:`Team.apps_holding`): daprd keeps an instance's rows under the app
that runs it (``<app>||dapr.internal.<ns>.<app>.workflow||<instance>||...``).
"""

from __future__ import annotations

import re
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Sequence

import redis

from cookbook.inspect import workflow_history_rows
from cookbook.paths import COMPONENTS, ROOT
from cookbook.ports import PortBlock, notebook_block
from cookbook.processes import ManagedProcess, ProcessFailed
from cookbook.redis_server import RedisServer
from cookbook.services import prepare_resources
from cookbook.sidecar import ControlPlane, Sidecar


@dataclass
class AppSpec:
    """One app process of the team: its name, the app id whose sidecar it talks to, its script,
    extra environment, and the line it prints once it is ready (counted per start)."""

    name: str
    app_id: str
    script: Path
    env: Mapping[str, str] = field(default_factory=dict)
    ready_line: str = "ready"


@dataclass
class Team:
    redis_server: RedisServer
    plane: ControlPlane
    resources: Path
    run_dir: Path
    ports: PortBlock
    sidecars: dict[str, Sidecar] = field(default_factory=dict)  # app id -> sidecar
    apps: dict[str, ManagedProcess] = field(default_factory=dict)  # app name -> process
    seconds: dict[str, float] = field(default_factory=dict)  # what each start took

    @property
    def runtime(self) -> str:
        return self.plane.runtime_used

    @property
    def redis(self) -> redis.Redis:
        return self.redis_server.client()

    # ---- starting ----------------------------------------------------------------------
    def add_sidecars(self, app_ids: Sequence[str], timeout: float = 60.0) -> None:
        """One sidecar per app id on the shared control plane, started one after the other
        (each is ready in well under a second) with a progress line."""
        for app_id in app_ids:
            sidecar = self.plane.sidecar(app_id, [self.resources])
            self.sidecars[app_id] = sidecar
            seconds = sidecar.start(timeout)
            steps = {k: v for k, v in sidecar.step_seconds.items() if k not in self.seconds}
            self.seconds.update({k: v for k, v in steps.items() if k != self.runtime})
            self.seconds[f"sidecar {app_id}"] = seconds
            print("".join(f" -> {k} {v:.1f} s" for k, v in steps.items() if k != self.runtime)
                  + f" -> {app_id} sidecar {seconds:.1f} s", end="", flush=True)
        print(flush=True)

    def app_process(self, spec: AppSpec) -> ManagedProcess:
        """The managed process of ``spec`` (not started), wired to its app's sidecar."""
        sidecar = self.sidecars[spec.app_id]
        proc = sidecar.app_process(spec.name, [sys.executable, str(spec.script)], env={"PYTHONPATH": str(ROOT), **spec.env})
        log, line = proc.log_path, spec.ready_line
        proc.ready = lambda: log.exists() and log.read_text(errors="replace").count(line) >= proc.starts
        self.apps[spec.name] = proc
        return proc

    def start_apps(self, specs: Sequence[AppSpec], timeout: float = 120.0) -> dict[str, float]:
        """Start every app at once, then wait for each; seconds from the common start to ready."""
        procs = [self.app_process(spec).start() for spec in specs]
        began = time.monotonic()
        ready: dict[str, float] = {}
        try:
            for proc in procs:
                proc.wait_ready(max(1.0, timeout - (time.monotonic() - began)))
                proc.ready_seconds = ready[proc.name] = time.monotonic() - began
        except ProcessFailed:
            for proc in procs:
                proc.kill()
            raise
        self.seconds.update({f"app {k}": v for k, v in ready.items()})
        print(" -> ".join(f"{name} ready {s:.1f} s (pid {self.apps[name].pid})" for name, s in ready.items()), flush=True)
        return ready

    # ---- reading what the sidecars wrote -------------------------------------------------
    def client(self, app_id: str):  # type: ignore[no-untyped-def]
        """A workflow client on ``app_id``'s sidecar (it schedules and queries that app's instances)."""
        import dapr.ext.workflow as wf  # noqa: PLC0415 - heavy, only when used

        return wf.DaprWorkflowClient(host="127.0.0.1", port=str(self.sidecars[app_id].grpc_port))

    def workflow_keys(self, app_id: str, instance_id: str = "*") -> list[str]:
        """The workflow rows of ``instance_id`` (a glob) under ``app_id``'s key prefix."""
        pattern = f"{app_id}||dapr.internal.default.{app_id}.workflow||{instance_id}||*"
        return sorted(k.decode() for k in self.redis.scan_iter(match=pattern, count=1000))

    def instances(self, app_id: str) -> list[str]:
        """Instance ids with workflow rows under ``app_id``'s prefix."""
        return sorted({k.split("||")[2] for k in self.workflow_keys(app_id) if k.endswith("||metadata")})

    def apps_holding(self, instance_id: str) -> list[str]:
        """The app ids whose keys hold rows of ``instance_id`` (normally exactly one)."""
        return [app for app in self.sidecars if self.workflow_keys(app, instance_id)]

    def history(self, app_id: str, instance_id: str) -> list[dict[str, Any]]:
        """``instance_id``'s history under ``app_id``, one decoded row per event with task names."""
        return workflow_history_rows(self.redis, app_id, instance_id)

    def history_events(self, app_id: str, instance_id: str) -> list[Any]:
        """The raw protobuf ``HistoryEvent`` rows (for fields the table leaves out: routers, ids)."""
        from dapr.ext.workflow._durabletask.internal import history_events_pb2  # noqa: PLC0415

        rows = [k for k in self.workflow_keys(app_id, instance_id) if "||history-" in k]
        rows.sort(key=lambda k: int(k.rsplit("-", 1)[1]))
        return [history_events_pb2.HistoryEvent.FromString(self.redis.hget(k, "data")) for k in rows]

    def history_events_row(self, key: str) -> str:
        """The event type of one workflow row (history or inbox); '' for rows that hold no event."""
        from dapr.ext.workflow._durabletask.internal import history_events_pb2  # noqa: PLC0415

        if not re.search(r"\|\|(history|inbox)-\d+$", key):
            return ""
        return history_events_pb2.HistoryEvent.FromString(self.redis.hget(key, "data") or b"").WhichOneof("eventType") or ""

    # ---- stopping ----------------------------------------------------------------------
    def stop(self) -> None:
        """Apps first (they hold workflow streams), then sidecars, control plane, Redis."""
        for proc in reversed(list(self.apps.values())):
            proc.terminate()
        for sidecar in reversed(list(self.sidecars.values())):
            sidecar.stop()
        self.plane.stop()
        self.redis_server.stop()


def start_team(notebook: int, components: str, output_dir: str | Path, app_ids: Sequence[str], *,
               runtime: str = "auto", redis_url: str = "", ports: PortBlock | None = None) -> Team:
    """Redis, the control plane (placement + scheduler with daprd) and one sidecar per app id,
    every port from the notebook's block (or ``ports``), logs under ``<output_dir>/run/``."""
    ports = ports or notebook_block(notebook)
    run_dir = Path(output_dir).resolve() / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    server = RedisServer(port=ports.take(), workdir=run_dir / "redis", external_url=redis_url or None)
    began = time.monotonic()
    server.start()
    print(f"Redis {'ready' if server.managed else 'reachable'} {time.monotonic() - began:.1f} s", end="", flush=True)
    team: Team | None = None
    try:
        resources = prepare_resources(COMPONENTS / components, run_dir / "resources", server)
        plane = ControlPlane(ports, run_dir, runtime=runtime)
        team = Team(server, plane, resources, run_dir, ports)
        team.add_sidecars(app_ids)
        return team
    except BaseException:
        print(" -> failed", flush=True)
        if team is not None:
            team.stop()
        else:
            server.stop()
        raise
