"""Start the services a notebook needs in one call: its Redis, its components, its sidecar.

The notebook keeps the pattern; this keeps the plumbing: port block, run directory, copying the
component YAML with the notebook's Redis address, and the SDK's port settings. Each step prints a
progress line as it finishes ("Redis ready 0.1 s -> scheduler 0.4 s -> ... -> daprd 0.6 s") so a
learner knows what the wait is for.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from cookbook.paths import COMPONENTS, ROOT
from cookbook.ports import PortBlock, notebook_block
from cookbook.processes import ManagedProcess
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar

DEFAULT_REDIS_HOST = "localhost:6379"


def prepare_resources(source: Path, target: Path, redis: RedisServer | None, values: dict[str, str] | None = None) -> Path:
    """Copy a component folder, pointing ``redisHost`` at our Redis and replacing each
    placeholder of ``values`` (e.g. ``SECRETS_FILE``, ``SENTINEL_HOSTS``) with its value."""
    target.mkdir(parents=True, exist_ok=True)
    replacements = {**({DEFAULT_REDIS_HOST: redis.address} if redis is not None else {}), **(values or {})}
    for file in sorted(source.iterdir()):
        if file.suffix in (".yaml", ".yml"):
            text = file.read_text()
            for placeholder, value in replacements.items():
                text = text.replace(placeholder, value)
            (target / file.name).write_text(text)
        elif file.is_file():
            shutil.copy(file, target / file.name)
    return target


def use_sidecar_in_this_process(sidecar: Sidecar) -> None:
    """Point the dapr SDK of this kernel at the sidecar (it reads the env once, at import)."""
    os.environ.update(sidecar.client_env)
    from dapr.conf import settings  # noqa: PLC0415 - after the env is set on purpose

    settings.DAPR_HTTP_PORT = sidecar.http_port
    settings.DAPR_GRPC_PORT = sidecar.grpc_port


@dataclass
class Stack:
    redis: RedisServer
    sidecar: Sidecar
    run_dir: Path
    resources: Path
    ports: PortBlock
    sidecar_start_seconds: float
    apps: list[ManagedProcess] = field(default_factory=list)

    def start_app(self, name: str, script: Path | str, env: dict[str, str] | None = None, ready_line: str = "ready", timeout: float = 120) -> ManagedProcess:
        """Run a Python app (an agent) beside the sidecar; ready once it printed ``ready_line``
        once per start (so a restart waits for the new process, not the old line)."""
        app = self.sidecar.app_process(name, [sys.executable, str(script)], env={"PYTHONPATH": str(ROOT), **(env or {})})
        log = app.log_path
        app.ready = lambda: log.exists() and log.read_text().count(ready_line) >= app.starts
        seconds = app.start_and_wait(timeout)
        print(f"{name} ready {seconds:.1f} s (pid {app.pid})", flush=True)
        self.apps.append(app)
        return app

    def stop(self) -> None:
        for app in reversed(self.apps):
            app.terminate()
        self.sidecar.stop()
        self.redis.stop()


def start_stack(
    notebook: int,
    app_id: str,
    components: str,
    output_dir: str | Path,
    *,
    redis_url: str = "",
    runtime: str = "auto",
    appendonly: bool = False,
    redis_password: str | None = None,
    redis_tls: bool = False,
) -> Stack:
    ports = notebook_block(notebook)
    run_dir = Path(output_dir).resolve() / "run"
    if run_dir.exists():
        shutil.rmtree(run_dir)
    redis = RedisServer(
        port=ports.take(), workdir=run_dir / "redis", appendonly=appendonly, external_url=redis_url or None,
        password=redis_password, tls=redis_tls, tls_backend_port=ports.take() if redis_tls else None,
    )
    started = time.monotonic()
    redis.start()
    print(f"Redis {'reachable' if not redis.managed else 'ready'} {time.monotonic() - started:.1f} s", end="", flush=True)
    sidecar = None
    try:
        resources = prepare_resources(COMPONENTS / components, run_dir / "resources", redis)
        sidecar = Sidecar(app_id, [resources], ports, run_dir, runtime=runtime)  # raises when no such runtime
        seconds = sidecar.start()
    except BaseException:
        print(" -> sidecar failed", flush=True)
        if sidecar is not None:
            sidecar.stop()  # placement/scheduler may be up even when daprd never became healthy
        redis.stop()
        raise
    print("".join(f" -> {step} {s:.1f} s" for step, s in sidecar.step_seconds.items()), flush=True)
    use_sidecar_in_this_process(sidecar)
    return Stack(redis, sidecar, run_dir, resources, ports, seconds)
