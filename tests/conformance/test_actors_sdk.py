"""The Python actor SDK (``dapr.actor`` + ``dapr-ext-fastapi``) end to end: a service and client
modelled on dapr/python-sdk's ``examples/demo_actor`` (``demo_actor/``), checked against that
example's expected output (its README's ``expected_stdout_lines``), on both runtimes."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import httpx

from cookbook.ports import free_port_block
from cookbook.processes import ManagedProcess, wait_until
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar
from tests.conformance.conftest import component

DEMO = Path(__file__).with_name("demo_actor")

# python-sdk examples/demo_actor/README.md, "Actor Service" and "Actor Client" steps.
SERVICE_LINES = [
    "Activate DemoActor actor!", "has_value: False", "has_value: False", "set_my_data: {'data': 'new_data'}", "has_value: True",
    "set reminder to True", "set reminder is done", "set_timer to True", "set_timer is done",
    "receive_reminder is called - demo_reminder reminder - b'reminder_state'", "clear_my_data",
]
CLIENT_LINES = [
    "call actor method via proxy.invoke_method()", "b'null'", "call actor method using rpc style", "None",
    "Actor reentrancy enabled: b'true'", "call SetMyData actor method to save the state", "call GetMyData actor method to get the state",
    "Register reminder", "Register timer", "waiting for 4 seconds", "stop reminder", "stop timer", "clear actor state",
]


def in_order(expected: list[str], lines: list[str]) -> list[str]:
    """The expected lines not found in order (the SDK example's check: each line after the last)."""
    missing, pos = [], 0
    for want in expected:
        for i in range(pos, len(lines)):
            if want in lines[i]:
                pos = i + 1
                break
        else:
            missing.append(want)
    return missing


def test_demo_actor_example_output(dapr_runtime: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="demo-actor-"))
    ports = free_port_block(20)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    (tmp / "res").mkdir()
    (tmp / "res" / "statestore.yaml").write_text(component("statestore", "state.redis", {"redisHost": server.address, "actorStateStore": "true"}))
    app_port = ports.take()
    sidecar = Sidecar("demo-actor", [tmp / "res"], ports, tmp / "run", runtime=dapr_runtime, app_port=app_port)
    service = sidecar.app_process("demo-actor-service", [sys.executable, "-m", "uvicorn", "--port", str(app_port), "--host", "127.0.0.1",
                                                         "demo_actor_service:app"], cwd=DEMO,
                                  ready=lambda: httpx.get(f"http://127.0.0.1:{app_port}/healthz").status_code == 200)
    try:
        service.start()  # the SDK app waits for the sidecar's outbound health, the sidecar for the app's port
        sidecar.start()
        service.wait_ready(60)
        wait_until(lambda: "Registering hosted actors: [DemoActor]" in sidecar.log_tail(400), details=lambda: sidecar.log_tail(30))
        client = subprocess.run([sys.executable, "demo_actor_client.py"], cwd=DEMO, env={**os.environ, **sidecar.client_env},
                                capture_output=True, text=True, timeout=120)
        assert client.returncode == 0, client.stderr[-3000:]
        assert in_order(CLIENT_LINES, client.stdout.splitlines()) == [], client.stdout
        service_out = service.log_tail(400).splitlines()
        assert in_order(SERVICE_LINES, service_out) == [], "\n".join(service_out[-60:])
        assert any("time_callback is called - timer_state" in line for line in service_out)
    finally:
        sidecar.stop()
        service.terminate()
        server.stop()
        ports.release()
        shutil.rmtree(tmp, ignore_errors=True)
