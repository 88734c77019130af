"""State API benchmark: the sidecar (DaprClient over gRPC) against the same Redis done directly.

Prints p50/p99 latency and ops/s for GetState and SaveState both ways, their ratios, and the
sidecar's start-to-healthy time (median of several starts). Targets from the issue: GetState
p50 <= 3x direct Redis, start-to-healthy <= 1 s. Run: ``.venv/bin/python bench/bench_state.py``.

It also measures the *floor*: the same DaprClient call against a Python gRPC server that answers
a constant (``grpc_floor_server.py``), i.e. what any sidecar written with grpcio pays before it
does any work; "sidecar adds" is the sidecar's p50 minus that floor.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Callable

from cookbook.ports import free_port_block
from cookbook.processes import ManagedProcess
from cookbook.redis_server import RedisServer
from cookbook.services import prepare_resources, use_sidecar_in_this_process
from cookbook.sidecar import Sidecar
from localdapr.state.redis_store import SET_SCRIPT

ROOT = Path(__file__).resolve().parents[1]


def measure(op: Callable[[int], object], n: int) -> dict[str, float]:
    for i in range(min(200, n)):  # warm-up
        op(i)
    samples = []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        op(i)
        samples.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    samples.sort()
    return {"p50": samples[len(samples) // 2] * 1e6, "p99": samples[int(len(samples) * 0.99)] * 1e6, "ops": n / total}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("-n", type=int, default=3000)
    parser.add_argument("--starts", type=int, default=5)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="bench-state-"))
    ports = free_port_block(40)
    redis = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    resources = prepare_resources(ROOT / "components" / "01-redis-state-store", tmp / "resources", redis)
    sidecar = Sidecar("bench", [resources], ports, tmp / "run", runtime="local")
    floor_port = ports.take()
    floor_log = tmp / "run" / "grpc-floor.log"
    floor = ManagedProcess(
        "grpc-floor", [sys.executable, str(ROOT / "bench" / "grpc_floor_server.py"), str(floor_port)], floor_log,
        ready=lambda: floor_log.exists() and "ready" in floor_log.read_text(), ports=[floor_port],
    )
    try:
        starts = [sidecar.start()]
        for _ in range(args.starts - 1):
            sidecar.terminate()
            starts.append(sidecar.process.start_and_wait(60))
        use_sidecar_in_this_process(sidecar)
        from dapr.clients import DaprClient

        direct = redis.client()
        set_script = direct.register_script(SET_SCRIPT)
        value = b'{"id": 1, "status": "new", "items": ["pizza", "salad"]}'
        floor.start_and_wait(60)
        with DaprClient(address=f"127.0.0.1:{floor_port}") as floor_client:
            floor_p50 = measure(lambda i: floor_client.get_state("statestore", "k0"), args.n)["p50"]
        floor.terminate()
        with DaprClient() as client:
            client.save_state("statestore", "k0", value)
            results = {
                "GetState  sidecar": measure(lambda i: client.get_state("statestore", "k0"), args.n),
                "GetState  direct ": measure(lambda i: direct.hgetall("bench||k0"), args.n),
                "SaveState sidecar": measure(lambda i: client.save_state("statestore", f"s{i % 100}", value), args.n),
                "SaveState direct ": measure(lambda i: set_script(keys=[f"bench||d{i % 100}"], args=["0", value, "0"]), args.n),
            }
        print(f"{'operation':<20} {'p50 us':>9} {'p99 us':>9} {'ops/s':>9}")
        for name, r in results.items():
            print(f"{name:<20} {r['p50']:>9.0f} {r['p99']:>9.0f} {r['ops']:>9.0f}")
        for op in ("GetState", "SaveState"):
            side, dire = results[f"{op:<9} sidecar"], results[f"{op:<9} direct "]
            print(f"{op} ratio sidecar/direct: p50 {side['p50'] / dire['p50']:.2f}x  ops/s {dire['ops'] / side['ops']:.2f}x slower")
        direct_get = results["GetState  direct "]["p50"]
        side_get = results["GetState  sidecar"]["p50"]
        print(f"gRPC floor (DaprClient -> Python gRPC server answering a constant): p50 {floor_p50:.0f} us = {floor_p50 / direct_get:.2f}x direct; "
              f"the sidecar adds {side_get - floor_p50:.0f} us to GetState (store lookup, key prefixing, Redis round trip)")
        print(f"start-to-healthy: median {statistics.median(starts):.3f}s over {len(starts)} starts (min {min(starts):.3f}s, max {max(starts):.3f}s)")
    finally:
        floor.terminate()
        sidecar.stop()
        redis.stop()


if __name__ == "__main__":
    main()
