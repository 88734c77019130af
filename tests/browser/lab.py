"""JupyterLab for the browser test, started with the README's own command (`make lab`).

Why through `make lab` and not a hand-written `jupyter lab ...`: the test is about what a learner
gets from the README, so it runs that very target and only adds options through ``LAB_ARGS``
(port, token, throw-away settings). Why those settings:
- autosave off: Run All fills the notebooks with outputs, which must never be written back into
  ``notebooks/*.ipynb`` of the repository;
- windowing mode "none": every cell is attached to the page, so prompts, outputs and diagrams of
  cells below the fold can be checked without scrolling;
- no news or update checks: they are requests to the internet, which CI machines may not reach;
- ``expose_app_in_browser``: the page gets ``window.jupyterapp``, so the test can read the output
  types Lab holds (an error output and a stderr stream look the same on the page).

Process rules as everywhere in the project: own process group, 127.0.0.1, a port from
``cookbook.ports``, a token, logs to a file, readiness by polling the REST API, stopped on every
exit path, by pid (kernels run in their own sessions, so they are collected by pid before the
server is stopped and killed by pid if the server left any).
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path

import httpx
import psutil

from cookbook.processes import ManagedProcess

ROOT = Path(__file__).resolve().parents[2]

SETTINGS: dict[str, dict[str, object]] = {
    "@jupyterlab/docmanager-extension/plugin": {"autosave": False},
    "@jupyterlab/notebook-extension/tracker": {"windowingMode": "none"},
    "@jupyterlab/apputils-extension/notification": {"fetchNews": "false", "checkForUpdates": False},
}


class Lab:
    """One JupyterLab server on ``port`` with a random token; ``url(path)`` builds links to it."""

    def __init__(self, port: int, workdir: Path, log_path: Path) -> None:
        self.port = port
        self.token = secrets.token_hex(16)
        self.workdir = workdir
        self.base = f"http://127.0.0.1:{port}"
        settings_dir = workdir / "settings"
        for plugin, values in SETTINGS.items():
            path = settings_dir / f"{plugin}.jupyterlab-settings"
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(values))
        lab_args = [
            "--no-browser",
            "--ServerApp.ip=127.0.0.1",
            f"--ServerApp.port={port}",
            "--ServerApp.port_retries=0",
            f"--IdentityProvider.token={self.token}",
            f"--LabApp.user_settings_dir={settings_dir}",
            f"--LabApp.workspaces_dir={workdir / 'workspaces'}",
            "--LabApp.expose_app_in_browser=True",
        ]
        argv = ["make", "--no-print-directory", "-C", str(ROOT), "lab", f"LAB_ARGS={' '.join(lab_args)}"]
        # Under `make test` the outer make's flags (jobserver fds, -n, -k, ...) would reach this
        # nested make through the environment; `make lab` gets none of them, as typed by a user.
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAKE") and k != "MFLAGS"}
        self.process = ManagedProcess("jupyterlab", argv, log_path, env=env, cwd=ROOT, ready=self._ready, ports=[port])
        self._descendants: dict[int, psutil.Process] = {}

    def url(self, path: str = "/") -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}{path}{sep}token={self.token}"

    def api(self, path: str) -> object:
        response = httpx.get(f"{self.base}{path}", headers={"Authorization": f"token {self.token}"}, timeout=10)
        response.raise_for_status()
        return response.json()

    def delete(self, path: str) -> None:
        """DELETE on the server's API; a 404 (already gone) is fine."""
        response = httpx.delete(f"{self.base}{path}", headers={"Authorization": f"token {self.token}"}, timeout=30)
        if response.status_code != 404:
            response.raise_for_status()

    def _ready(self) -> bool:
        return httpx.get(f"{self.base}/api/status", headers={"Authorization": f"token {self.token}"}, timeout=2).status_code == 200

    def start(self, timeout: float = 120.0) -> "Lab":
        self.process.start_and_wait(timeout)
        return self

    def remember_descendants(self) -> None:
        """Record the server's child processes (kernels and what they started); psutil's Process
        keeps the start time, so a recycled pid is never mistaken for one of them."""
        if self.process.pid is None:
            return
        try:
            for child in psutil.Process(self.process.pid).children(recursive=True):
                self._descendants.setdefault(child.pid, child)
        except psutil.NoSuchProcess:
            pass

    def end_sessions(self) -> None:
        """Shut every kernel down through the API and forget Lab's saved layout (its open tabs),
        so the next page starts fresh. A server that is gone already is not an error here: its
        kernels are still collected by pid in ``stop``."""
        self.remember_descendants()
        try:
            for session in self.api("/api/sessions"):  # type: ignore[union-attr]
                self.delete(f"/api/sessions/{session['id']}")
            self.delete("/lab/api/workspaces/default")
        except (httpx.HTTPError, OSError):
            pass

    def stop(self) -> list[str]:
        """Shut the kernels down through the API, let the server stop itself (SIGTERM to it, not
        to `make`, whose exit would get the server SIGKILLed with its group before it cleaned up),
        stop the group, then kill whatever child is left, by the pids recorded before. Returns
        what had to be killed."""
        self.end_sessions()
        servers = [p for p in self._descendants.values() if p.is_running() and _is_child_of(p, self.process.pid)]
        for server in servers:
            server.terminate()
        psutil.wait_procs(servers, timeout=20)
        self.process.terminate(timeout=10)
        _, alive = psutil.wait_procs([p for p in self._descendants.values() if p.is_running()], timeout=5)
        killed = []
        for proc in alive:
            try:
                proc.kill()
                killed.append(f"{proc.name()} (pid {proc.pid})")
            except psutil.NoSuchProcess:
                pass
        return killed


def _is_child_of(proc: psutil.Process, parent: int | None) -> bool:
    try:
        return proc.ppid() == parent
    except psutil.NoSuchProcess:
        return False
