"""A stand-in agent app for the launcher tests: no Dapr, just the lifecycle lines."""

import os
import signal
import sys
import threading
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from cookbook.registry import serve_forks  # noqa: E402


def run(spec: dict) -> None:
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    print(f"agent ready {spec['name']} pid={os.getpid()} port={os.environ['DAPR_GRPC_PORT']}", flush=True)
    while not stop.wait(0.1):
        pass
    print(f"agent stopped {spec['name']}", flush=True)


serve_forks(run, Path(os.environ["AGENT_LAUNCHER_DIR"]))
