"""Background processes (Redis, sidecars, agent apps) that never outlive their owner.

Rules, and why:
- Each process starts in its own session/process group (``start_new_session=True``) so a stop
  reaches the children it spawned too (daprd + placement, an app's worker threads), and a
  SIGKILL aimed at one service never hits the Jupyter kernel.
- stdout/stderr go to a log file, not a pipe: a pipe nobody reads fills up and blocks the child.
  On failure the tail of that file is the first thing to show.
- Readiness is a health check polled until it passes, never a fixed sleep: fast machines don't
  wait, slow ones don't flake.
- Every started process is recorded (in memory for ``atexit`` and in a pid file under the run
  directory) so the kernel's exit, a notebook cleanup cell and a pytest guard can all stop it —
  by the pid we started, never by name.
"""

from __future__ import annotations

import atexit
import json
import os
import signal
import subprocess
import threading
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

import psutil

ReadyCheck = Callable[[], bool]

# Pid files of every process started here, so an outside guard (pytest) can sweep them.
PIDFILE_DIR_ENV = "COOKBOOK_PIDFILE_DIR"

_live: dict[int, "ManagedProcess"] = {}
_lock = threading.Lock()


class ProcessFailed(RuntimeError):
    """A managed process exited or never became ready; the message carries its log tail."""


def port_holders(ports: Sequence[int]) -> str:
    """Who listens on any of ``ports`` now, as text for an error ("" when nobody does): a process
    that died with "address already in use" should name the other side."""
    wanted = set(ports)
    if not wanted:
        return ""
    lines = []
    try:
        for conn in psutil.net_connections(kind="tcp"):
            if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port in wanted:
                try:
                    cmd = " ".join(psutil.Process(conn.pid).cmdline())[:200] if conn.pid else "?"
                except psutil.Error:
                    cmd = "?"
                lines.append(f"port {conn.laddr.port} is held by pid {conn.pid}: {cmd}")
    except psutil.Error:
        return ""
    return "".join(f"\n{line}" for line in lines)


def _pidfile_dir() -> Path | None:
    value = os.environ.get(PIDFILE_DIR_ENV)
    return Path(value) if value else None


class ManagedProcess:
    """One background process with a log file, a readiness check and a restart on the same argv."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        log_path: Path | str,
        *,
        env: Mapping[str, str] | None = None,
        cwd: Path | str | None = None,
        ready: ReadyCheck | None = None,
        ports: Sequence[int] = (),
    ) -> None:
        self.name = name
        self.argv = [str(a) for a in argv]
        self.log_path = Path(log_path)
        self.env = dict(os.environ if env is None else env)
        self.cwd = str(cwd) if cwd else None
        self.ready = ready
        self.ports = list(ports)
        self._proc: subprocess.Popen[bytes] | None = None
        self.starts = 0
        self.ready_seconds: float | None = None

    # ---- lifecycle ----------------------------------------------------------------------
    @property
    def pid(self) -> int | None:
        return self._proc.pid if self._proc else None

    @property
    def alive(self) -> bool:
        return self._proc is not None and self._proc.poll() is None

    @property
    def returncode(self) -> int | None:
        return self._proc.poll() if self._proc else None

    def start(self) -> "ManagedProcess":
        if self.alive:
            return self
        self.log_path.parent.mkdir(parents=True, exist_ok=True)
        log = open(self.log_path, "ab")  # append: a restart keeps the earlier run's lines
        log.write(f"\n===== start {self.name}: {' '.join(self.argv)}\n".encode())
        log.flush()
        try:
            self._proc = subprocess.Popen(
                self.argv,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                env=self.env,
                cwd=self.cwd,
                start_new_session=True,
            )
        finally:
            log.close()
        self.starts += 1
        _register(self)
        return self

    def wait_ready(self, timeout: float = 30.0, interval: float = 0.02) -> float:
        """Poll the health check until it passes; returns seconds waited. Fails fast if the process dies."""
        started = time.monotonic()
        deadline = started + timeout
        while True:
            if not self.alive:
                raise ProcessFailed(f"{self.name} exited with code {self.returncode} before it was ready:\n{self.log_tail()}"
                                    f"{port_holders(self.ports)}")
            try:
                if self.ready is None or self.ready():
                    return time.monotonic() - started
            except Exception:  # noqa: BLE001 - a check that throws just means "not yet"
                pass
            if time.monotonic() > deadline:
                raise ProcessFailed(f"{self.name} was not ready after {timeout:.0f}s:\n{self.log_tail()}")
            time.sleep(interval)

    def start_and_wait(self, timeout: float = 30.0) -> float:
        """Start and wait until ready; returns (and keeps in ``ready_seconds``) the time it took."""
        self.start()
        try:
            self.ready_seconds = self.wait_ready(timeout)
        except ProcessFailed:
            self.kill()
            raise
        return self.ready_seconds

    def kill(self) -> None:
        """SIGKILL the whole process group: a crash, nothing gets to clean up."""
        self._signal_group(signal.SIGKILL)
        self._reap(5.0)

    def terminate(self, timeout: float = 10.0) -> int | None:
        """SIGTERM the group, wait, then SIGKILL whatever is left. Returns the exit code."""
        if self._proc is None:
            return None
        self._signal_group(signal.SIGTERM)
        if not self._reap(timeout):
            self._signal_group(signal.SIGKILL)
            self._reap(5.0)
        return self.returncode

    def restart(self, timeout: float = 30.0, *, kill: bool = False) -> float:
        """Stop (SIGKILL if ``kill``) and start again with the same argv, env and ports."""
        if kill:
            self.kill()
        else:
            self.terminate()
        return self.start_and_wait(timeout)

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except FileNotFoundError:
            return "(no log yet)"
        return "\n".join(text.splitlines()[-lines:])

    # ---- internals ----------------------------------------------------------------------
    def _signal_group(self, sig: int) -> None:
        if self._proc is None or self._proc.poll() is not None:
            self._sweep_group(sig)
            return
        try:
            os.killpg(self._proc.pid, sig)
        except ProcessLookupError:
            pass

    def _sweep_group(self, sig: int) -> None:
        """The leader is gone; children of its group may not be (only ever our own pgid)."""
        if self._proc is None:
            return
        try:
            os.killpg(self._proc.pid, sig)
        except (ProcessLookupError, PermissionError):
            pass

    def _reap(self, timeout: float) -> bool:
        if self._proc is None:
            return True
        try:
            self._proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            return False
        self._sweep_group(signal.SIGKILL)
        _unregister(self)
        return True

    def __repr__(self) -> str:
        return f"ManagedProcess({self.name!r}, pid={self.pid}, alive={self.alive})"


def _register(proc: ManagedProcess) -> None:
    with _lock:
        _live[id(proc)] = proc
    folder = _pidfile_dir()
    if folder is not None and proc.pid is not None:
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"{proc.pid}.json").write_text(
            json.dumps({"pid": proc.pid, "name": proc.name, "create_time": psutil.Process(proc.pid).create_time()})
        )


def _unregister(proc: ManagedProcess) -> None:
    with _lock:
        _live.pop(id(proc), None)
    folder = _pidfile_dir()
    if folder is not None and proc.pid is not None:
        (folder / f"{proc.pid}.json").unlink(missing_ok=True)


def live_processes() -> list[ManagedProcess]:
    with _lock:
        return [p for p in _live.values() if p.alive]


def stop_all(timeout: float = 10.0) -> None:
    """Stop every process this interpreter started (notebook cleanup cell, atexit)."""
    with _lock:
        procs = list(_live.values())
    for proc in reversed(procs):  # apps before sidecars before Redis
        proc.terminate(timeout)


def sweep_pidfiles(folder: Path) -> list[str]:
    """Kill (by process group) every recorded process still running; returns their names.

    Used by the pytest guard after notebooks ran in kernels we don't control. The creation time
    stored with each pid makes sure a recycled pid is never hit.
    """
    killed: list[str] = []
    for file in sorted(folder.glob("*.json")):
        try:
            info = json.loads(file.read_text())
            proc = psutil.Process(info["pid"])
            if abs(proc.create_time() - info["create_time"]) < 0.01:
                os.killpg(info["pid"], signal.SIGKILL)
                killed.append(f"{info['name']} (pid {info['pid']})")
        except (psutil.NoSuchProcess, ProcessLookupError, ValueError, KeyError):
            pass
        file.unlink(missing_ok=True)
    return killed


atexit.register(stop_all)


def wait_until(check: Callable[[], object], timeout: float = 30.0, what: str = "condition", details: Callable[[], str] | None = None) -> float:
    """Poll ``check`` until it is truthy; returns seconds waited. On timeout, fail with
    ``details()`` (e.g. a log tail) so the reason is in the error, not in a hidden file."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            extra = f"\n{details()}" if details else ""
            raise AssertionError(f"{what} not reached in {timeout:.0f}s{extra}")
        time.sleep(0.02)
    return time.monotonic() - started
