"""Several agent processes for the registry notebook, and what to read about them afterwards.

Why a fork launcher: importing dapr-agents costs about 9 s of CPU on this 2-core machine, so five
agent processes each importing it would take most of a minute before the first one registers.
The launcher (:func:`serve_forks`, run as a :class:`~cookbook.processes.ManagedProcess`) imports
it once and then ``fork()``s one process per agent on request, the way ``gunicorn --preload``
starts its workers. Each agent is still its own process: own pid, own gRPC connections to the
sidecar, own log file, killed alone with ``kill -9 <pid>``. The launcher never opens a gRPC channel
itself (gRPC channels do not survive a fork); each child connects after the fork.

The notebook talks to the launcher through files in its folder (``commands/NNNN.json`` in,
``agents/<name>.pid`` and ``agents/<name>.exit`` out): no port is needed, and every command and
result stays on disk as evidence. Children start together behind a barrier file so their
registrations really overlap.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterable

import redis

from cookbook.paths import ROOT
from cookbook.processes import ManagedProcess, wait_until

CONFLICT_WARNING = "Conflict updating registry index"
GAVE_UP_ERROR = "Failed to update registry index"


# ---- the launcher (runs in its own process) ---------------------------------------------------
def _write_atomic(path: Path, text: str) -> None:
    """Readers poll for these files: they must never see one half-written."""
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(text)
    tmp.rename(path)


def _child(run: Callable[[dict[str, Any]], Any], command: dict[str, Any]) -> Any:
    """In the forked process: own log file, the sidecar's address, wait for the barrier, run.
    Returns what ``run`` returned (the agent and its clients), which the caller keeps alive until
    ``os._exit``: closing gRPC channels from garbage collection in a forked child can hang."""
    fd = os.open(command["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    os.dup2(fd, 1)
    os.dup2(fd, 2)
    os.close(fd)
    sys.stdout = os.fdopen(1, "w", buffering=1)
    sys.stderr = os.fdopen(2, "w", buffering=1)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    import faulthandler  # noqa: PLC0415

    faulthandler.register(signal.SIGUSR1, all_threads=True)  # kill -USR1 <pid>: every thread's stack in the log
    os.environ.update(command["env"])
    from dapr.conf import settings  # noqa: PLC0415 - the SDK read the launcher's env at import

    settings.DAPR_HTTP_PORT = int(command["env"]["DAPR_HTTP_PORT"])
    settings.DAPR_GRPC_PORT = int(command["env"]["DAPR_GRPC_PORT"])
    import logging  # noqa: PLC0415

    logging.basicConfig(level=logging.INFO, force=True,
                        format="%(asctime)s.%(msecs)03d %(levelname)s %(name)s pid=%(process)d: %(message)s", datefmt="%H:%M:%S")
    barrier = command.get("barrier")
    if barrier:
        while not os.path.exists(barrier):
            time.sleep(0.001)
    print(f"constructing {command['spec']['name']} at {time.time():.4f}", flush=True)
    return run(command["spec"])


def serve_forks(run: Callable[[dict[str, Any]], Any], folder: Path) -> None:
    """The launcher's loop: fork ``run(spec)`` for each spawn command, reap and report exits.

    SIGTERM (what :class:`ManagedProcess` sends to the whole process group on cleanup) reaches the
    children too, so each deregisters; the launcher waits for them, then exits.
    """
    commands, agents = folder / "commands", folder / "agents"
    commands.mkdir(parents=True, exist_ok=True)
    agents.mkdir(parents=True, exist_ok=True)
    children: dict[int, str] = {}
    stopping = False

    def on_term(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, on_term)
    token, parent = os.environ.get("AGENT_LAUNCHER_TOKEN", ""), os.getppid()
    print("launcher ready", flush=True)
    deadline = None
    while True:
        token_file = folder / "token"
        if os.getppid() != parent or (token and (not token_file.exists() or token_file.read_text() != token)):
            # The notebook's kernel died, or a new run took the folder: leave nothing behind.
            print(f"launcher {os.getpid()}: orphaned or replaced, killing {sorted(children.values())}", flush=True)
            for pid in children:
                os.kill(pid, signal.SIGKILL)
            return
        while children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            name = children.pop(pid, "?")
            code = os.waitstatus_to_exitcode(status)
            _write_atomic(agents / f"{name}.exit", json.dumps({"pid": pid, "exit": code, "at": time.time()}))
        if stopping:
            deadline = deadline or time.monotonic() + 15
            if not children or time.monotonic() > deadline:
                return
        for path in sorted(commands.glob("*.json")):
            claimed = path.with_suffix(".taken")
            try:
                path.rename(claimed)  # atomic: a command is run once, whoever reads the folder
            except FileNotFoundError:
                print(f"launcher {os.getpid()}: {path.name} already taken", flush=True)
                continue
            command = json.loads(claimed.read_text())
            claimed.unlink()
            name = command["spec"]["name"]
            (agents / f"{name}.exit").unlink(missing_ok=True)
            pid = os.fork()
            if pid == 0:
                code, kept = 0, None
                try:
                    kept = _child(run, command)  # noqa: F841 - alive until os._exit
                except BaseException:  # noqa: BLE001 - report and leave without the launcher's cleanup
                    traceback.print_exc()
                    code = 1
                finally:
                    sys.stdout.flush()
                    sys.stderr.flush()
                    os._exit(code)
            children[pid] = name
            print(f"launcher {os.getpid()}: forked {name} as pid {pid}", flush=True)
            _write_atomic(agents / f"{name}.pid", str(pid))
        time.sleep(0.005)


# ---- the notebook's side ------------------------------------------------------------------------
@dataclass
class AgentFleet:
    """Agent processes forked by one launcher; the notebook spawns, kills and stops them by pid."""

    app: Path
    run_dir: Path
    env: dict[str, str] = field(default_factory=dict)
    pids: dict[str, int] = field(default_factory=dict)
    starts: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.run_dir = Path(self.run_dir)
        self.folder = self.run_dir / "launcher"
        self._seq = 0
        self.token = os.urandom(8).hex()  # a launcher left over from an earlier run sees another token and exits
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "token").write_text(self.token)
        self.launcher = ManagedProcess(
            "agent-launcher", [sys.executable, str(self.app)], self.run_dir / "agent-launcher.log",
            env={**os.environ, "PYTHONPATH": str(ROOT), "AGENT_LAUNCHER_DIR": str(self.folder),
                 "AGENT_LAUNCHER_TOKEN": self.token, **self.env},
            cwd=self.run_dir,
            ready=lambda: self.launcher.log_path.exists() and "launcher ready" in self.launcher.log_path.read_text(),
        )

    def start(self, timeout: float = 180) -> float:
        """Start the launcher; its wait is dapr-agents' import, once."""
        self.folder.mkdir(parents=True, exist_ok=True)
        return self.launcher.start_and_wait(timeout)

    def log(self, name: str) -> Path:
        return self.folder / "agents" / f"{name}.log"

    def _ready_count(self, name: str) -> int:
        path = self.log(name)
        return path.read_text().count(f"agent ready {name} ") if path.exists() else 0

    def spawn(self, specs: Iterable[dict[str, Any]], client_env: dict[str, str], *, together: bool = True,
              timeout: float = 120) -> dict[str, float]:
        """Fork one process per spec; with ``together`` they all wait for one barrier, released
        once every process exists, so their registrations overlap. Returns seconds to ready."""
        specs = list(specs)
        barrier = self.folder / f"barrier-{self._seq}"
        started = time.monotonic()
        for spec in specs:
            self._seq += 1
            name = spec["name"]
            self.starts[name] = self.starts.get(name, 0) + 1
            (self.folder / "agents" / f"{name}.pid").unlink(missing_ok=True)
            command = {"spec": spec, "env": client_env, "log": str(self.log(name)),
                       "barrier": str(barrier) if together else None}
            tmp = self.folder / f"{self._seq:04d}.tmp"
            tmp.write_text(json.dumps(command))
            tmp.rename(self.folder / "commands" / f"{self._seq:04d}.json")
        for spec in specs:
            pid_file = self.folder / "agents" / f"{spec['name']}.pid"
            wait_until(pid_file.exists, timeout, what=f"{spec['name']} forked", details=self.launcher.log_tail)
            self.pids[spec["name"]] = int(pid_file.read_text())
        if together:
            barrier.touch()
        seconds = {}
        for spec in specs:
            name = spec["name"]
            wait_until(lambda n=name: self._ready_count(n) >= self.starts[n] or self.exited(n) is not None, timeout,
                       what=f"{name} ready", details=lambda n=name: self.tail(n))
            if self._ready_count(name) < self.starts[name]:
                raise RuntimeError(f"agent {name} exited before it was ready:\n{self.tail(name)}")
            seconds[name] = time.monotonic() - started
        return seconds

    def exited(self, name: str) -> dict[str, Any] | None:
        """``{"pid", "exit", "at"}`` once the launcher reaped the process, else None."""
        path = self.folder / "agents" / f"{name}.exit"
        return json.loads(path.read_text()) if path.exists() else None

    def kill(self, name: str, timeout: float = 10) -> int:
        """``kill -9`` one agent process (by its pid); returns the pid."""
        pid = self.pids[name]
        os.kill(pid, signal.SIGKILL)
        wait_until(lambda: self.exited(name) is not None, timeout, what=f"{name} reaped")
        return pid

    def terminate(self, names: Iterable[str], timeout: float = 30) -> dict[str, int]:
        """SIGTERM several agents at once (graceful: each deregisters); returns their exit codes."""
        names = list(names)
        for name in names:
            os.kill(self.pids[name], signal.SIGTERM)
        wait_until(lambda: all(self.exited(n) is not None for n in names), timeout, what="agents stopped",
                   details=lambda: self._stacks([n for n in names if self.exited(n) is None]))
        return {n: self.exited(n)["exit"] for n in names}  # type: ignore[index]

    def _stacks(self, names: list[str]) -> str:
        """Every thread's stack of agents that did not exit (faulthandler on SIGUSR1), for the error."""
        for name in names:
            os.kill(self.pids[name], signal.SIGUSR1)
        time.sleep(0.5)
        return f"still running: {names}\n" + "\n".join(self.tail(n, 60) for n in names)

    def tail(self, name: str, lines: int = 30) -> str:
        path = self.log(name)
        return "\n".join(path.read_text().splitlines()[-lines:]) if path.exists() else "(no log yet)"

    def conflicts(self, name: str, since_line: int = 0) -> tuple[int, int]:
        """(conflict warnings, give-ups) dapr-agents logged for the index in this agent's log."""
        path = self.log(name)
        lines = path.read_text().splitlines()[since_line:] if path.exists() else []
        return sum(CONFLICT_WARNING in l for l in lines), sum(GAVE_UP_ERROR in l for l in lines)

    def log_lines(self, name: str) -> int:
        path = self.log(name)
        return len(path.read_text().splitlines()) if path.exists() else 0

    def stop(self) -> None:
        """Stop every agent (SIGTERM to the launcher's group: they deregister) and the launcher."""
        self.launcher.terminate(timeout=20)


# ---- reading the registry --------------------------------------------------------------------------
def index_of(r: redis.Redis, team: str) -> tuple[list[str], int]:
    """The team index (``agents:<team>:_index``) as names, plus its hash ``version``: the number of
    successful writes since the key was created (each Dapr save adds one)."""
    raw = r.hgetall(f"agents:{team}:_index")
    if not raw:
        return [], 0
    return json.loads(raw[b"data"])["agents"], int(raw[b"version"])


def entry_of(r: redis.Redis, team: str, name: str) -> dict[str, Any] | None:
    data = r.hget(f"agents:{team}:{name}", "data")
    return json.loads(data) if data else None


def failed_script_writes(r: redis.Redis) -> int:
    """Writes Redis refused since the last ``CONFIG RESETSTAT``. Both sidecars write state with the
    same Lua script (daprd sends it with EVAL, the local sidecar with EVALSHA); a failed ETag or
    first-write check ends the script with an error, counted in ``failed_calls``. An EVALSHA of a
    script Redis does not hold yet (first use after a start) fails with ``NOSCRIPT`` before the
    client sends the script itself: those are not refused writes and are left out."""
    stats = r.info("commandstats")
    failed = sum(int(stats.get(f"cmdstat_{cmd}", {}).get("failed_calls", 0)) for cmd in ("eval", "evalsha"))
    return failed - int(r.info("errorstats").get("errorstat_NOSCRIPT", {}).get("count", 0))


def registry_rows(r: redis.Redis, team: str, alive_pids: dict[str, int | None] | None = None) -> list[dict[str, Any]]:
    """One row per name in the index or with an entry: what a reader can tell about each agent."""
    names, _ = index_of(r, team)
    keyed = sorted(k.decode().split(":", 2)[2] for k in r.scan_iter(f"agents:{team}:*") if not k.endswith(b":_index"))
    rows = []
    for name in sorted(set(names) | set(keyed)):
        entry = entry_of(r, team, name) or {}
        agent = entry.get("agent", {})
        beat = r.hget(f"alive:{team}:{name}", "data")
        rows.append({
            "name": name,
            "in index": names.count(name),
            "entry key": "yes" if entry else "no",
            "app id": agent.get("appid", ""),
            "orchestrator": agent.get("orchestrator", ""),
            "registered at": entry.get("registered_at", "")[11:23],
            "heartbeat": f"pid {json.loads(beat)['pid']}" if beat else "expired",
        })
    return rows


def remove_agent(client: Any, store: str, team: str, name: str, attempts: int = 20) -> int:
    """Remove a dead agent's entry the way dapr-agents deregisters a live one: delete
    ``agents:<team>:<name>``, then drop the name from the index with an ETag-checked first-write
    save, reading again after a conflict. ``client`` is a ``dapr.clients.DaprClient``; returns the
    attempts used (1 when nobody else wrote the index meanwhile)."""
    from dapr.clients.grpc._state import Concurrency, Consistency, StateOptions  # noqa: PLC0415

    client.delete_state(store, f"agents:{team}:{name}")
    index_key = f"agents:{team}:_index"
    options = StateOptions(concurrency=Concurrency.first_write, consistency=Consistency.strong)
    for attempt in range(1, attempts + 1):
        current = client.get_state(store, index_key)
        agents = json.loads(current.data or b'{"agents": []}').get("agents", [])
        if name not in agents:
            return attempt
        try:
            client.save_state(store, index_key, json.dumps({"agents": [a for a in agents if a != name]}),
                              etag=current.etag or None, options=options)
            return attempt
        except Exception:  # noqa: BLE001 - another writer changed the index first: read it again
            time.sleep(0.05 * attempt)
    raise RuntimeError(f"could not remove {name} from {index_key} in {attempts} attempts")


# ---- the notebook's services in one call ---------------------------------------------------------
@dataclass
class TeamStack:
    """Redis, one control plane, one sidecar per app id, and the agent launcher."""

    redis: Any
    control_plane: Any
    sidecars: dict[str, Any]
    fleet: AgentFleet
    run_dir: Path
    resources: Path

    def stop(self) -> None:
        self.fleet.stop()
        for sidecar in self.sidecars.values():
            sidecar.stop()
        self.control_plane.stop()
        self.redis.stop()


def start_team_stack(notebook: int, app_ids: list[str], components: str, output_dir: str | Path, app: Path, *,
                     redis_url: str = "", runtime: str = "auto", env: dict[str, str] | None = None) -> TeamStack:
    """Start Redis (append-only file on), a control plane shared by one sidecar per app id, and
    the agent launcher, printing each step's seconds. The launcher's import of dapr-agents runs
    while the sidecars start; :meth:`AgentFleet.start` is not waited for here (the caller waits
    with ``stack.fleet.launcher.wait_ready`` when it first needs an agent)."""
    import shutil  # noqa: PLC0415

    from cookbook.paths import COMPONENTS  # noqa: PLC0415
    from cookbook.ports import notebook_block  # noqa: PLC0415
    from cookbook.redis_server import RedisServer  # noqa: PLC0415
    from cookbook.services import prepare_resources  # noqa: PLC0415
    from cookbook.sidecar import ControlPlane  # noqa: PLC0415

    ports = notebook_block(notebook)
    run_dir = Path(output_dir).resolve() / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    run_dir.mkdir(parents=True)
    redis_server = RedisServer(port=ports.take(), workdir=run_dir / "redis", appendonly=True, external_url=redis_url or None)
    started = time.monotonic()
    redis_server.start()
    print(f"Redis {'ready' if redis_server.managed else 'reachable'} {time.monotonic() - started:.1f} s", end="", flush=True)
    fleet = AgentFleet(app, run_dir, env=env or {})
    fleet.folder.mkdir(parents=True, exist_ok=True)
    fleet.launcher.start()  # imports dapr-agents while the sidecars start
    control_plane = ControlPlane(ports, run_dir, runtime=runtime)
    sidecars: dict[str, Any] = {}
    try:
        resources = prepare_resources(COMPONENTS / components, run_dir / "resources", redis_server)
        for step, seconds in control_plane.start().items():
            print(f" -> {step} {seconds:.1f} s", end="", flush=True)
        for app_id in app_ids:
            sidecars[app_id] = control_plane.sidecar(app_id, [resources])
            seconds = sidecars[app_id].start()
            print(f" -> {control_plane.runtime_used} {app_id} {seconds:.1f} s", end="", flush=True)
    except BaseException:
        print(" -> failed", flush=True)
        fleet.launcher.terminate()
        for sidecar in sidecars.values():
            sidecar.stop()
        control_plane.stop()
        redis_server.stop()
        raise
    print(flush=True)
    return TeamStack(redis_server, control_plane, sidecars, fleet, run_dir, resources)
