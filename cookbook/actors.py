"""Start an actor app and its sidecar together (notebook 08): Redis, components, the app, the sidecar.

Why a helper apart from ``services.start_stack``: an actor host needs the sidecar to know the
app's port (``--app-port``, so it can fetch ``GET /dapr/config`` and call the actors) and, for
per-key TTL on actor state, a Configuration; and the app and the sidecar wait for each other
(the SDK waits for the sidecar's outbound health at start, the sidecar for the app's port), so
they are started side by side and then both waited for.
"""

from __future__ import annotations

import os
import sys
import time
from pathlib import Path

import httpx

from cookbook.paths import COMPONENTS, ROOT
from cookbook.ports import notebook_block
from cookbook.processes import ManagedProcess
from cookbook.redis_server import RedisServer
from cookbook.services import Stack, prepare_resources, use_sidecar_in_this_process
from cookbook.sidecar import Sidecar


def _app_ready(port: int) -> bool:
    try:
        return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=0.5).status_code == 200
    except httpx.HTTPError:
        return False


def start_actor_stack(notebook: int, app_id: str, resources: str, output_dir: str | Path, app_script: Path, *,
                      env: dict[str, str] | None = None, redis_url: str = "", runtime: str = "auto",
                      config: Path | None = None) -> tuple[Stack, ManagedProcess]:
    """Redis, the component folder ``components/<resources>``, the actor app and its sidecar,
    with one progress line. Returns the stack and the app process (``stack.apps[0]``)."""
    ports = notebook_block(notebook)
    run_dir = Path(output_dir).resolve() / "run"
    redis = RedisServer(port=ports.take(), workdir=run_dir / "redis", external_url=redis_url or None)
    started = time.monotonic()
    redis.start()
    print(f"Redis ready {time.monotonic() - started:.1f} s", end="", flush=True)
    folder = prepare_resources(COMPONENTS / resources, run_dir / "resources" / Path(resources).name, redis)
    app_port = ports.take()
    sidecar = Sidecar(app_id, [folder], ports, run_dir, runtime=runtime, app_port=app_port, config=config,
                      log_level="debug")  # debug: the actor lines (reminders, app calls) are debug lines in daprd
    app = sidecar.app_process("actor-app", [sys.executable, str(app_script)],
                              env={"PYTHONPATH": f"{ROOT}{os.pathsep}{app_script.parent.parent}", "AGENT_REDIS_URL": redis.url, "APP_PORT": str(app_port), **(env or {})},
                              ready=lambda: _app_ready(app_port))
    try:
        app.start()  # not waited for: its SDK waits for the sidecar, started next
        seconds = sidecar.start()
        app_seconds = app.ready_seconds = app.wait_ready(120)
    except BaseException:
        app.kill()
        sidecar.stop()
        redis.stop()
        raise
    print("".join(f" -> {step} {s:.1f} s" for step, s in sidecar.step_seconds.items()) + f" -> actor app {app_seconds:.1f} s", flush=True)
    use_sidecar_in_this_process(sidecar)
    stack = Stack(redis, sidecar, run_dir, folder, ports, seconds, apps=[app])
    return stack, app


def restart_sidecar_with(stack: Stack, resources: str, config: Path | None) -> float:
    """Stop the sidecar and start it again on the same ports with another component folder and
    Configuration (the app keeps running); returns seconds to healthy."""
    sidecar = stack.sidecar
    folder = prepare_resources(COMPONENTS / resources, stack.run_dir / "resources" / Path(resources).name, stack.redis)
    sidecar.resources_paths = [folder]
    sidecar.config = config
    sidecar.process.argv = sidecar.argv()
    stack.resources = folder
    return sidecar.restart(kill=False)
