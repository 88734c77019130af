"""Several state stores, each on its own Redis server, behind one sidecar (notebook 06).

Why a module: :func:`cookbook.services.start_stack` gives a notebook one Redis. A multi-store
deployment gives each store its own server, configured for its job (AOF for what must survive,
nothing on disk for a cache), so that one of them can die alone. The component files name each
server by a placeholder address (``localhost:6379``, ``localhost:6380``, ...), which is what a
learner would write for four local Redis servers; this module starts one private Redis per store
and rewrites each placeholder to the address of that store's server.

It also answers the question a fault-isolation demo asks many times: "what does each operation
answer right now?", as one short line per operation (:func:`probe_all`), all probes at once so
that the ~3 s daprd takes to give up on a dead Redis is paid once, not once per probe.
"""

from __future__ import annotations

import json
import shutil
import sys
import time
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from cookbook.paths import COMPONENTS, ROOT
from cookbook.ports import PortBlock, notebook_block
from cookbook.processes import ManagedProcess
from cookbook.redis_server import RedisServer
from cookbook.services import Stack, use_sidecar_in_this_process
from cookbook.sidecar import Sidecar


@dataclass(frozen=True)
class StoreServer:
    """One store's Redis: the placeholder address its component file names, and whether it keeps
    an append-only file (``appendonly``) so a kill -9 loses nothing."""

    placeholder: str
    appendonly: bool


def prepare_multi_resources(source: Path, target: Path, addresses: dict[str, str],
                            replace: dict[str, str] | None = None) -> Path:
    """Copy the YAML files of ``source`` (not its sub-folders), each placeholder address replaced
    by its server's address, plus any literal ``replace`` (e.g. a TTL chosen by a parameter)."""
    if target.exists():
        shutil.rmtree(target)
    target.mkdir(parents=True)
    for file in sorted(source.iterdir()):
        if file.suffix in (".yaml", ".yml"):
            text = file.read_text()
            for old, new in {**addresses, **(replace or {})}.items():
                text = text.replace(old, new)
            (target / file.name).write_text(text)
    return target


@dataclass
class MultiStoreStack(Stack):
    """A :class:`Stack` whose ``redis`` is the actor store's server, with every store's server in
    ``servers`` (by component name)."""

    servers: dict[str, RedisServer] = field(default_factory=dict)
    _launched: dict[str, float] = field(default_factory=dict)

    def launch_app(self, name: str, script: Path | str, env: dict[str, str] | None = None, ready_line: str = "ready") -> ManagedProcess:
        """Start an app without waiting for it: importing dapr-agents takes seconds (tens on a
        busy machine), which the notebook spends on something else; :meth:`wait_app` waits."""
        app = self.sidecar.app_process(name, [sys.executable, str(script)], env={"PYTHONPATH": str(ROOT), **(env or {})})
        log = app.log_path
        app.ready = lambda: log.exists() and log.read_text().count(ready_line) >= app.starts
        app.start()
        self._launched[name] = time.monotonic()
        self.apps.append(app)
        return app

    def wait_app(self, app: ManagedProcess, timeout: float = 120) -> float:
        """Wait until a launched app is ready; returns (and keeps in ``ready_seconds``) the
        seconds since its launch."""
        app.wait_ready(timeout)
        app.ready_seconds = time.monotonic() - self._launched[app.name]
        print(f"{app.name} ready {app.ready_seconds:.1f} s after its start (pid {app.pid})", flush=True)
        return app.ready_seconds

    def stop(self) -> None:
        for app in reversed(self.apps):
            app.terminate()
        self.sidecar.stop()
        for server in self.servers.values():
            server.stop()


def start_multi_store(notebook: int, app_id: str, components: str, output_dir: str | Path, stores: dict[str, StoreServer],
                      *, runtime: str = "auto", actor_store: str, replace: dict[str, str] | None = None) -> MultiStoreStack:
    """One Redis per store (ports from the notebook's block), the components pointed at them, and
    the sidecar; prints one progress line (``Redis ×4 0.3 s -> scheduler ... -> daprd 0.6 s``)."""
    ports = notebook_block(notebook)
    run_dir = Path(output_dir).resolve() / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    servers = {name: RedisServer(port=ports.take(), workdir=run_dir / f"redis-{name}", appendonly=spec.appendonly, external_url="")
               for name, spec in stores.items()}
    for server in servers.values():
        server.external_url = None  # always private: the notebook kills them one by one
    started = time.monotonic()
    sidecar = None
    try:
        for server in servers.values():
            server.start()
        print(f"Redis ×{len(servers)} ready {time.monotonic() - started:.1f} s", end="", flush=True)
        addresses = {spec.placeholder: servers[name].address for name, spec in stores.items()}
        resources = prepare_multi_resources(COMPONENTS / components, run_dir / "resources", addresses, replace)
        sidecar = Sidecar(app_id, [resources], ports, run_dir, runtime=runtime)
        seconds = sidecar.start()
    except BaseException:
        print(" -> failed", flush=True)
        if sidecar is not None:
            sidecar.stop()
        for server in servers.values():
            server.stop()
        raise
    print("".join(f" -> {step} {s:.1f} s" for step, s in sidecar.step_seconds.items()), flush=True)
    use_sidecar_in_this_process(sidecar)
    return MultiStoreStack(servers[actor_store], sidecar, run_dir, resources, ports, seconds, servers=servers)


def sidecar_once(app_id: str, resources: Path, ports: PortBlock, run_dir: Path, runtime: str,
                 timeout: float = 60.0) -> tuple[Sidecar, str | None]:
    """Start a sidecar on a resources folder that may be broken: ``(sidecar, None)`` when it came
    up healthy (the caller stops it), ``(sidecar, fatal line)`` when it exited instead."""
    from cookbook.processes import ProcessFailed  # noqa: PLC0415

    sidecar = Sidecar(app_id, [resources], ports, run_dir, runtime=runtime)
    try:
        sidecar.start(timeout)
    except ProcessFailed:
        sidecar.stop()
        lines = sidecar.process.log_path.read_text(errors="replace").splitlines()
        fatal = [line for line in lines if "level=fatal" in line or "Fatal error" in line]
        return sidecar, (fatal[-1] if fatal else lines[-1] if lines else "(no log)")
    return sidecar, None


# ---- what each operation answers ---------------------------------------------------------------

def state_read(http_port: int, store: str, key: str, timeout: float = 30.0) -> str:
    """A state read through the sidecar's HTTP API, in a few words: ``200 (found)``, ``204 (no
    such key)`` or ``500 ERR_STATE_GET: <daprd's message>``."""
    url = f"http://127.0.0.1:{http_port}/v1.0/state/{store}/{urllib.request.quote(key, safe='')}"
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:
            return {200: "200 (found)", 204: "204 (no such key)"}.get(resp.status, str(resp.status))
    except urllib.error.HTTPError as err:
        try:
            body = json.loads(err.read() or b"{}")
        except ValueError:
            body = {}
        return f"{err.code} {body.get('errorCode', '')}: {body.get('message', '')}".strip()
    except (urllib.error.URLError, ConnectionError, TimeoutError) as err:
        return f"no answer: {getattr(err, 'reason', err)}"


def grpc_answer(call: Callable[[], object], describe: Callable[[object], str] = str) -> str:
    """What a gRPC call (the workflow client's) answers: ``describe(result)`` or
    ``<STATUS>: <details>`` for an RpcError."""
    import grpc  # noqa: PLC0415

    try:
        return describe(call())
    except grpc.RpcError as err:
        return f"{err.code().name}: {err.details()}"  # type: ignore[attr-defined]


def probe_all(probes: dict[str, Callable[[], str]]) -> dict[str, tuple[str, float]]:
    """Run every probe at once; ``{name: (answer, seconds it took)}``."""
    def timed(probe: Callable[[], str]) -> tuple[str, float]:
        started = time.monotonic()
        answer = probe()
        return answer, time.monotonic() - started

    with ThreadPoolExecutor(len(probes)) as pool:
        futures = {name: pool.submit(timed, probe) for name, probe in probes.items()}
        return {name: future.result() for name, future in futures.items()}
