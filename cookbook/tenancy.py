"""Several sidecars on one Redis and one control plane, for notebook 05 (scoping and isolation).

Why a module: the notebook shows what isolates apps and tenants, not how four sidecars get their
ports, their copies of the component YAML and their secrets file. Everything here is plumbing:

* one password-protected private Redis (or the caller's ``redis_url``), its password written to
  the run's ``secrets.json``, which the components read through a ``secretKeyRef``;
* one :class:`ControlPlane` (placement, scheduler, name resolution) that every sidecar reports to,
  as ``dapr run -f`` does;
* the component folders copied into the run folder with the Redis address and the absolute path
  of ``secrets.json`` filled in (a relative ``secretsFile`` would resolve from each sidecar's cwd);
* a sidecar per (app id, namespace): ``NAMESPACE`` goes into the sidecar's environment only,
  which is how self-hosted daprd learns its namespace (there is no flag).
"""

from __future__ import annotations

import json
import secrets
import shutil
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from cookbook.paths import COMPONENTS, ROOT
from cookbook.ports import PortBlock, notebook_block
from cookbook.processes import ManagedProcess
from cookbook.redis_server import RedisServer
from cookbook.services import DEFAULT_REDIS_HOST
from cookbook.sidecar import ControlPlane, Sidecar


def copy_resources(source: Path, target: Path, redis: RedisServer, secrets_file: Path) -> Path:
    """``source``'s YAML with our Redis address and the absolute path of the secrets file."""
    target.mkdir(parents=True, exist_ok=True)
    for file in sorted(source.glob("*.y*ml")):
        text = file.read_text().replace(DEFAULT_REDIS_HOST, redis.address)
        text = text.replace("value: secrets.json", f"value: {secrets_file}")
        (target / file.name).write_text(text)
    return target


@dataclass
class Tenancy:
    """Redis + control plane + named sidecars and app processes of one notebook run."""

    notebook: int
    run_dir: Path
    runtime: str = "auto"
    redis_url: str = ""
    ports: PortBlock | None = None  # None: the notebook's own block (tests pass a free block)
    sidecars: dict[str, Sidecar] = field(default_factory=dict)
    apps: dict[str, ManagedProcess] = field(default_factory=dict)
    http: dict[str, httpx.Client] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir).resolve()
        if self.run_dir.exists():
            shutil.rmtree(self.run_dir)
        self.run_dir.mkdir(parents=True)
        self.ports = self.ports or notebook_block(self.notebook)
        password = None if self.redis_url else secrets.token_hex(12)
        self.redis = RedisServer(port=self.ports.take(), workdir=self.run_dir / "redis", password=password,
                                 external_url=self.redis_url or None)
        self.plane: ControlPlane | None = None

    def start(self, secret_values: dict[str, str]) -> "Tenancy":
        """Redis, then placement and scheduler (daprd only); prints a progress line."""
        started = time.monotonic()
        self.redis.start()
        print(f"Redis ready {time.monotonic() - started:.1f} s", end="", flush=True)
        self.secrets_file = self.run_dir / "secrets.json"
        self.secrets_file.write_text(json.dumps({"redis-password": self.redis.password or "", **secret_values}, indent=2))
        self.plane = ControlPlane(self.ports, self.run_dir / "plane", runtime=self.runtime)
        steps = self.plane.start()
        print("".join(f" -> {name} {s:.1f} s" for name, s in steps.items()), flush=True)
        return self

    @property
    def runtime_used(self) -> str:
        assert self.plane is not None
        return self.plane.runtime_used

    def resources(self, folder: str) -> Path:
        """``components/<notebook folder>/<folder>`` prepared for this run (once)."""
        target = self.run_dir / "resources" / folder
        if not target.exists():
            source = next(COMPONENTS.glob(f"{self.notebook:02d}-*")) / folder
            copy_resources(source, target, self.redis, self.secrets_file)
        return target

    def sidecars_up(self, specs: dict[str, dict[str, Any]], timeout: float = 60.0) -> None:
        """Start several sidecars at once, then wait for each: ``{name: {"app_id", "folder",
        "namespace"?, "config"?}}`` (``NAMESPACE`` if given, ``--config <folder>/<config>`` if
        given). At once because the local sidecar takes seconds to import, and daprd's start is
        mostly waiting on placement."""
        assert self.plane is not None, "start() first"
        for name, spec in specs.items():
            resources = self.resources(spec["folder"])
            namespace, config = spec.get("namespace"), spec.get("config")
            sidecar = Sidecar(spec["app_id"], [resources], self.ports, self.run_dir / name, runtime=self.runtime_used,
                              control_plane=self.plane, config=resources / config if config else None,
                              env={"NAMESPACE": namespace} if namespace else {})
            if not namespace:
                sidecar.process.env.pop("NAMESPACE", None)  # never inherit the kernel's NAMESPACE
            sidecar.run_dir.mkdir(parents=True, exist_ok=True)
            sidecar.process.start()
            self.sidecars[name] = sidecar
        for name, spec in specs.items():
            sidecar = self.sidecars[name]
            sidecar.process.ready_seconds = seconds = sidecar.process.wait_ready(timeout)
            ns = f", NAMESPACE={spec['namespace']}" if spec.get("namespace") else ""
            print(f"sidecar {name} (app-id {spec['app_id']}{ns}): {sidecar.runtime_used} healthy in {seconds:.1f} s "
                  f"(pid {sidecar.pid})", flush=True)
            self.http[name] = httpx.Client(base_url=f"http://127.0.0.1:{sidecar.http_port}/v1.0", timeout=10)

    def start_apps(self, script: Path, sidecars: dict[str, dict[str, str]], ready_line: str = "agent ready") -> None:
        """Start one app process per named sidecar, without waiting (see :meth:`wait_apps`):
        an agent spends seconds importing dapr-agents, time the notebook can use meanwhile."""
        for name, env in sidecars.items():
            app = self.sidecars[name].app_process(f"app-{name}", [sys.executable, str(script)], env={"PYTHONPATH": str(ROOT), **env})
            log = app.log_path
            app.ready = lambda a=app, p=log: p.exists() and p.read_text().count(ready_line) >= a.starts
            app.start()
            app.started_at = time.monotonic()  # type: ignore[attr-defined]
            self.apps[name] = app

    def wait_apps(self, timeout: float = 120) -> None:
        """Wait until every app started by :meth:`start_apps` is ready; ``ready_seconds`` counts
        from its start."""
        for name, app in self.apps.items():
            app.wait_ready(timeout)
            app.ready_seconds = seconds = time.monotonic() - app.started_at  # type: ignore[attr-defined]
            print(f"app-{name} ready {seconds:.1f} s after its start (pid {app.pid})", flush=True)

    def call(self, sidecar: str, method: str, path: str, **kwargs: Any) -> httpx.Response:
        """One HTTP call to a sidecar's Dapr API (``path`` after ``/v1.0``)."""
        return self.http[sidecar].request(method, path, **kwargs)

    def stop(self) -> None:
        for client in self.http.values():
            client.close()
        # All apps at once, then all sidecars at once: an agent's SIGTERM handler deregisters it
        # (a few seconds each under load), and one by one the cleanup cell took ~25 s.
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda app: app.terminate(), self.apps.values()))
            list(pool.map(lambda sidecar: sidecar.stop(), self.sidecars.values()))
        if self.plane is not None:
            self.plane.stop()
        self.redis.stop()
        shutil.rmtree(self.run_dir / "plane" / "scheduler-data", ignore_errors=True)  # ~64 MB of etcd files
