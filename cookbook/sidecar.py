"""Start a Dapr sidecar for a notebook: the real ``daprd`` when installed, else ``localdapr``.

Both get the same daprd flags, so a notebook does not care which one runs. Discovery order for
daprd: ``DAPRD`` env var, ``daprd`` on PATH, the project's own build folder ``.dapr/bin`` (what
``make daprd`` builds from the Go module), ``$DAPR_RUNTIME_PATH/.dapr/bin`` or ``~/.dapr/bin``
(the layout ``dapr init --slim`` writes, spec J4). With real daprd, ``scheduler`` and
``placement`` from the same folder start first, each with its own health and metrics ports
(their defaults collide on one host, spec J2). ``DAPR_RUNTIME=auto|daprd|local`` forces a choice.
Several apps that must reach each other (cross-app workflows) share one :class:`ControlPlane`.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import yaml

from cookbook.ports import PortBlock
from cookbook.processes import ManagedProcess

RUNTIMES = ("auto", "daprd", "local")
# Where scripts/build-daprd.sh (``make daprd``) puts daprd, placement and scheduler.
PROJECT_DAPR_BIN = Path(__file__).resolve().parents[1] / ".dapr" / "bin"


def write_daprd_config(target: Path, name_db: Path, base: Path | None = None) -> Path:
    """Write the Configuration daprd gets: ``base`` (if any) plus file-based name resolution.

    Why: in self-hosted mode daprd defaults to mDNS name resolution, which announces every app by
    multicast on the machine's network interfaces. The cookbook keeps all traffic on 127.0.0.1,
    so daprd resolves app ids through a SQLite file instead (``nameResolution: sqlite``, what
    Dapr documents for several apps on one host). A ``nameResolution`` in ``base`` is kept.
    """
    doc: dict = (yaml.safe_load(Path(base).read_text()) if base is not None else None) or {
        "apiVersion": "dapr.io/v1alpha1", "kind": "Configuration", "metadata": {"name": "cookbook"}}
    doc["spec"] = doc.get("spec") or {}
    doc["spec"].setdefault("nameResolution", {
        "component": "sqlite", "version": "v1", "configuration": {"connectionString": str(name_db)}})
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(yaml.safe_dump(doc, sort_keys=False))
    return target


class SidecarNotFound(RuntimeError):
    pass


@dataclass
class DaprBinaries:
    daprd: Path
    placement: Path | None
    scheduler: Path | None


def find_daprd(env: dict[str, str] | None = None) -> DaprBinaries | None:
    """Locate a real daprd (and placement/scheduler beside it); None when there is none."""
    env = dict(os.environ if env is None else env)
    candidates: list[Path] = []
    if env.get("DAPRD"):
        candidates.append(Path(env["DAPRD"]))
    on_path = shutil.which("daprd", path=env.get("PATH"))
    if on_path:
        candidates.append(Path(on_path))
    candidates.append(PROJECT_DAPR_BIN / "daprd")
    root = Path(env["DAPR_RUNTIME_PATH"]) if env.get("DAPR_RUNTIME_PATH") else Path(env.get("HOME", str(Path.home())))
    candidates.append(root / ".dapr" / "bin" / "daprd")
    for daprd in candidates:
        if daprd.is_file() and os.access(daprd, os.X_OK):
            folder = daprd.parent
            placement = folder / "placement"
            scheduler = folder / "scheduler"
            return DaprBinaries(
                daprd,
                placement if placement.is_file() else (Path(p) if (p := shutil.which("placement", path=env.get("PATH"))) else None),
                scheduler if scheduler.is_file() else (Path(s) if (s := shutil.which("scheduler", path=env.get("PATH"))) else None),
            )
    return None


def choose_runtime(requested: str | None = None, env: dict[str, str] | None = None) -> tuple[str, DaprBinaries | None]:
    env = dict(os.environ if env is None else env)
    wanted = (requested or env.get("DAPR_RUNTIME") or "auto").lower()
    if wanted not in RUNTIMES:
        raise ValueError(f"DAPR_RUNTIME must be one of {RUNTIMES}, not {wanted!r}")
    found = find_daprd(env) if wanted in ("auto", "daprd") else None
    if wanted == "daprd" and found is None:
        raise SidecarNotFound("DAPR_RUNTIME=daprd but no daprd was found (DAPRD, PATH, ~/.dapr/bin); run 'dapr init --slim'")
    return ("daprd", found) if found else ("local", None)


def http_answer(url: str, timeout: float = 10.0) -> str:
    """What a GET on ``url`` answers, in a few words ("200", "500 ERR_STATE_GET",
    "connection refused"): evidence for a timeline of what a client sees while a process is down."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return str(resp.status)
    except urllib.error.HTTPError as err:
        try:
            code = json.loads(err.read() or b"{}").get("errorCode", "")
        except ValueError:
            code = ""
        return f"{err.code} {code}".strip()
    except urllib.error.URLError as err:
        reason = err.reason
        return "connection refused" if isinstance(reason, ConnectionRefusedError) else str(reason)
    except (ConnectionError, TimeoutError) as err:
        return type(err).__name__


def _http_ok(url: str, expect: int = 204) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=0.5) as resp:
            return resp.status == expect or 200 <= resp.status < 300
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return False


def control_plane_processes(binaries: DaprBinaries, ports: PortBlock, run_dir: Path, placement_port: int, scheduler_port: int,
                            log_level: str, label: str) -> list[ManagedProcess]:
    """scheduler and placement processes, each listener on a port of ``ports``.

    Their defaults would collide when two notebooks run side by side: placement's raft peer
    (127.0.0.1:8201), scheduler's embedded etcd (2379 client, 2380 peer), both healthz
    servers (8080) and metrics (9090), and they listen on every interface. Every listener is
    told 127.0.0.1; daprd 1.18.2's healthz server ignores ``--healthz-listen-address`` and
    listens on all interfaces (its port still comes from the block).
    """
    missing = [n for n, p in (("scheduler", binaries.scheduler), ("placement", binaries.placement)) if p is None]
    if missing:
        raise SidecarNotFound(f"daprd found at {binaries.daprd} but not {', '.join(missing)} beside it")
    helpers = []
    for name, binary, port in (("scheduler", binaries.scheduler, scheduler_port), ("placement", binaries.placement, placement_port)):
        healthz, metrics = ports.take_many(2)
        argv = [
            str(binary), "--port", str(port), "--listen-address", "127.0.0.1",
            "--healthz-port", str(healthz), "--healthz-listen-address", "127.0.0.1",
            "--enable-metrics=false", "--metrics-port", str(metrics), "--metrics-listen-address", "127.0.0.1",
            "--log-level", log_level,
        ]
        if name == "scheduler":
            etcd_client, etcd_peer = ports.take_many(2)
            argv += [
                "--etcd-data-dir", str(run_dir / "scheduler-data"),
                "--etcd-client-port", str(etcd_client), "--etcd-client-listen-address", "127.0.0.1",
                "--etcd-initial-cluster", f"dapr-scheduler-server-0=http://127.0.0.1:{etcd_peer}",
            ]
        else:
            argv += ["--initial-cluster", f"dapr-placement-0=127.0.0.1:{ports.take()}"]
        helpers.append(
            ManagedProcess(
                f"{name}:{label}",
                argv,
                run_dir / f"{name}.log",
                ready=lambda h=healthz: _http_ok(f"http://127.0.0.1:{h}/healthz"),
                cwd=run_dir,
            )
        )
    return helpers


@dataclass
class ControlPlane:
    """What several sidecars of one notebook or test share: ONE placement, ONE scheduler and ONE
    name-resolution file.

    Why: daprd finds another app's actors (the workflow and activity actors a cross-app child
    workflow or activity runs on) only through the placement service both sidecars report to,
    keeps their reminders in one scheduler, and resolves the other app's address through the
    same name-resolution store. A pair per sidecar, as a lone :class:`Sidecar` starts, would
    leave each app alone. With the local sidecar there are no processes: the apps meet in the
    actor state store's Redis, and the ports only switch actors on (the flags stay the same).
    """

    ports: PortBlock
    run_dir: Path
    runtime: str | None = None
    log_level: str = "info"
    placement_port: int = field(init=False)
    scheduler_port: int = field(init=False)

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)
        self.runtime_used, self.binaries = choose_runtime(self.runtime)
        self.placement_port, self.scheduler_port = self.ports.take_many(2)
        self.helpers: list[ManagedProcess] = []
        if self.binaries is not None:
            self.helpers = control_plane_processes(self.binaries, self.ports, self.run_dir, self.placement_port,
                                                   self.scheduler_port, self.log_level, "shared")

    @property
    def name_db(self) -> Path:
        return self.run_dir / "name-resolution.db"

    def start(self, timeout: float = 60.0) -> dict[str, float]:
        """Start what is not running yet (scheduler first); seconds to healthy per process."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        return {h.name.split(":")[0]: h.start_and_wait(timeout) for h in self.helpers if not h.alive}

    def stop(self) -> None:
        for helper in reversed(self.helpers):
            helper.terminate()

    def sidecar(self, app_id: str, resources_paths: Sequence[Path | str], **kwargs: object) -> "Sidecar":
        """A sidecar for ``app_id`` on this control plane, ports from the same block."""
        return Sidecar(app_id, resources_paths, self.ports, self.run_dir / app_id, runtime=self.runtime_used,
                       control_plane=self, **kwargs)  # type: ignore[arg-type]


@dataclass
class Sidecar:
    """One sidecar (plus placement/scheduler for real daprd) on ports from a block."""

    app_id: str
    resources_paths: Sequence[Path | str]
    ports: PortBlock
    run_dir: Path
    runtime: str | None = None
    app_port: int | None = None
    config: Path | None = None
    log_level: str = "info"
    actors: bool = True
    extra_args: Sequence[str] = ()
    # Extra environment for the sidecar process (e.g. DAPR_API_TOKEN, APP_API_TOKEN).
    env: dict[str, str] = field(default_factory=dict)
    # Shared placement/scheduler/name resolution (several apps); None: this sidecar's own pair.
    control_plane: ControlPlane | None = None
    http_port: int = field(init=False)
    grpc_port: int = field(init=False)
    placement_port: int = field(init=False)
    scheduler_port: int = field(init=False)

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)
        self.runtime_used, self.binaries = choose_runtime(self.runtime)
        if self.control_plane is not None:
            if self.control_plane.runtime_used != self.runtime_used:
                raise ValueError(f"sidecar {self.app_id!r} would run {self.runtime_used} on a {self.control_plane.runtime_used} control plane")
            self.http_port, self.grpc_port = self.ports.take_many(2)
            self.placement_port, self.scheduler_port = self.control_plane.placement_port, self.control_plane.scheduler_port
        else:
            self.http_port, self.grpc_port, self.placement_port, self.scheduler_port = self.ports.take_many(4)
        # daprd only: metrics (disabled, but its port is still bound-checked) and the internal
        # gRPC port (daprd picks a random ephemeral one otherwise).
        self.metrics_port, self.internal_grpc_port = self.ports.take_many(2) if self.binaries is not None else (None, None)
        self.helpers: list[ManagedProcess] = []
        if self.binaries is not None and self.control_plane is None:
            self.helpers = self._daprd_helpers(self.binaries)
        self.process = ManagedProcess(
            f"sidecar:{self.app_id}",
            self.argv(),
            self.run_dir / f"sidecar-{self.app_id}.log",
            ready=self._healthy,
            ports=[self.http_port, self.grpc_port],
            cwd=self.run_dir,
            env={**os.environ, **self.env},
        )

    # ---- argument building ---------------------------------------------------------------
    def daprd_flags(self, config: Path | None = None) -> list[str]:
        """The flags both runtimes get (spec J1); ``config`` replaces ``self.config`` (daprd gets
        a copy with its name resolution added)."""
        config = config or self.config
        flags = [
            "--app-id", self.app_id,
            "--dapr-http-port", str(self.http_port),
            "--dapr-grpc-port", str(self.grpc_port),
            "--dapr-listen-addresses", "127.0.0.1",
            "--log-level", self.log_level,
        ]
        for path in self.resources_paths:
            flags += ["--resources-path", str(path)]
        if self.actors:
            flags += ["--placement-host-address", f"127.0.0.1:{self.placement_port}"]
            flags += ["--scheduler-host-address", f"127.0.0.1:{self.scheduler_port}"]
        if self.app_port is not None:
            flags += ["--app-port", str(self.app_port)]
        if config is not None:
            flags += ["--config", str(config)]
        return flags + list(self.extra_args)

    def daprd_config(self) -> Path:
        """The caller's Configuration plus SQLite name resolution, in the run directory."""
        name_db = self.control_plane.name_db if self.control_plane is not None else self.run_dir / "name-resolution.db"
        return write_daprd_config(self.run_dir / "daprd-config.yaml", name_db, self.config)

    def argv(self) -> list[str]:
        if self.binaries is not None:
            return [
                str(self.binaries.daprd), *self.daprd_flags(config=self.daprd_config()),
                "--enable-metrics=false", "--metrics-port", str(self.metrics_port), "--metrics-listen-address", "127.0.0.1",
                "--dapr-internal-grpc-port", str(self.internal_grpc_port), "--dapr-internal-grpc-listen-address", "127.0.0.1",
            ]
        return [sys.executable, "-m", "localdapr", *self.daprd_flags()]

    def _daprd_helpers(self, binaries: DaprBinaries) -> list[ManagedProcess]:
        """placement and scheduler for this sidecar alone (see :func:`control_plane_processes`)."""
        if not self.actors:
            return []
        return control_plane_processes(binaries, self.ports, self.run_dir, self.placement_port, self.scheduler_port,
                                       self.log_level, self.app_id)

    # ---- lifecycle ----------------------------------------------------------------------
    def _healthy(self) -> bool:
        base = f"http://127.0.0.1:{self.http_port}/v1.0"
        return _http_ok(f"{base}/healthz/outbound") and _http_ok(f"{base}/healthz")

    def start(self, timeout: float = 60.0) -> float:
        """Start (helpers first) and wait until healthy; returns seconds from spawn to healthy of
        the sidecar itself. ``step_seconds`` keeps each process's time to healthy (progress lines)."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self.step_seconds: dict[str, float] = {}
        if self.control_plane is not None:
            self.step_seconds.update(self.control_plane.start(timeout))
        for helper in self.helpers:
            if not helper.alive:
                self.step_seconds[helper.name.split(":")[0]] = helper.start_and_wait(timeout)
        self.step_seconds[self.runtime_used] = seconds = self.process.start_and_wait(timeout)
        return seconds

    def kill(self) -> None:
        """SIGKILL the sidecar only (placement/scheduler keep running, like a daprd crash)."""
        self.process.kill()

    def terminate(self) -> None:
        self.process.terminate()

    def stop(self) -> None:
        """Stop the sidecar and its own placement/scheduler (a shared control plane keeps running:
        the caller stops it once every sidecar on it is stopped)."""
        self.process.terminate()
        for helper in reversed(self.helpers):
            helper.terminate()

    def restart(self, *, kill: bool = True, timeout: float = 60.0) -> float:
        """Stop and start on the same ports and flags; returns seconds to healthy."""
        if kill:
            self.process.kill()
        else:
            self.process.terminate()
        return self.process.start_and_wait(timeout)

    def log_tail(self, lines: int = 30) -> str:
        return self.process.log_tail(lines)

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def try_get_state(self, store: str, key: str) -> str:
        """One HTTP state read, answered in a few words, never raising (see :func:`http_answer`)."""
        return http_answer(f"http://127.0.0.1:{self.http_port}/v1.0/state/{store}/{key}")

    @property
    def client_env(self) -> dict[str, str]:
        """What an app process needs to find this sidecar (the SDKs read these at import)."""
        return {
            "DAPR_HTTP_PORT": str(self.http_port),
            "DAPR_GRPC_PORT": str(self.grpc_port),
            "DAPR_RUNTIME_HOST": "127.0.0.1",
            "APP_ID": self.app_id,
        }

    def app_process(
        self, name: str, argv: Sequence[str], *, env: dict[str, str] | None = None, ready=None, cwd: Path | None = None
    ) -> ManagedProcess:
        """An app (agent script) wired to this sidecar, managed like every other process."""
        merged = {**os.environ, **(env or {}), **self.client_env}
        return ManagedProcess(name, argv, self.run_dir / f"{name}.log", env=merged, ready=ready, cwd=cwd or self.run_dir)
