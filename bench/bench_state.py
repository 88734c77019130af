"""State API benchmark: daprd, localdapr (both via DaprClient over gRPC) and direct Redis, one run.

Prints p50/p99 latency and ops/s for GetState and SaveState each way, the ratios to direct Redis,
and each runtime's start-to-healthy (median of several starts). For daprd that counts placement
and scheduler too (from spawning the first of them to daprd healthy), since a notebook waits for
all three; daprd's own start is printed separately (see ``start_times``). Targets from the issue: GetState p50 <= 3x
direct Redis, start-to-healthy <= 1 s.
Run: ``.venv/bin/python bench/bench_state.py [--runtime daprd|local|both]``.

It also measures the *floor*: the same DaprClient call against a Python gRPC server that answers
a constant (``grpc_floor_server.py``), i.e. what any sidecar written with grpcio pays before it
does any work; "above the floor" is a runtime's p50 minus that floor.

Runtimes are measured one after the other, never at once, so they don't compete for the CPU;
they share one Redis, so the data path is the same for all.
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, add_runtime_option, measure, print_table, runtimes_to_run, stop_on_sigterm

from cookbook.ports import PortBlock, free_port_block
from cookbook.processes import ManagedProcess
from cookbook.redis_server import RedisServer
from cookbook.services import prepare_resources, use_sidecar_in_this_process
from cookbook.sidecar import Sidecar
from localdapr.state.redis_store import SET_SCRIPT

APP_ID = "bench"
VALUE = b'{"id": 1, "status": "new", "items": ["pizza", "salad"]}'
COLUMN = {"daprd": "daprd", "local": "localdapr", "direct": "direct Redis"}


def start_times(sidecar: Sidecar, starts: int) -> dict[str, list[float]]:
    """Seconds to healthy over ``starts`` cold starts; leaves the sidecar running. Three figures:

    ``whole``: from spawning the first process (placement, scheduler for daprd) to the sidecar
    healthy, what a notebook waits for. ``first``: the sidecar process alone in that same start
    (what ``Sidecar.start`` returns); daprd's includes waiting for the scheduler's embedded etcd,
    whose /healthz answers before etcd is ready. ``alone``: a restart of the sidecar with its
    helpers already up, the sidecar's own start. The scheduler's data is removed between starts
    so each is a first start, like a notebook's fresh run directory.
    """
    times: dict[str, list[float]] = {"whole": [], "first": [], "alone": []}
    for i in range(starts):
        if i:
            sidecar.stop()
            shutil.rmtree(sidecar.run_dir / "scheduler-data", ignore_errors=True)
        t0 = time.perf_counter()
        times["first"].append(sidecar.start())
        times["whole"].append(time.perf_counter() - t0)
        times["alone"].append(sidecar.restart(kill=False))
    return times


def measure_floor(ports: PortBlock, run_dir: Path, n: int) -> float:
    """GetState p50 (µs) against the constant-answer gRPC server. Needs a healthy sidecar in
    this process's settings: DaprClient polls the sidecar's HTTP health before its first call."""
    from dapr.clients import DaprClient

    port = ports.take()
    log = run_dir / "grpc-floor.log"
    floor = ManagedProcess(
        "grpc-floor", [sys.executable, str(ROOT / "bench" / "grpc_floor_server.py"), str(port)], log,
        ready=lambda: log.exists() and "ready" in log.read_text(), ports=[port],
    )
    try:
        floor.start_and_wait(60)
        with DaprClient(address=f"127.0.0.1:{port}") as client:
            return measure(lambda i: client.get_state("statestore", "k0"), n)["p50"]
    finally:
        floor.terminate()


def bench_runtime(runtime: str, resources: Path, ports: PortBlock, run_dir: Path, args: argparse.Namespace,
                  floor: dict[str, float]) -> dict[str, Any]:
    """Start-to-healthy, GetState and SaveState through one runtime; the sidecar (and its
    placement/scheduler) is stopped before returning, whatever happens. Measures the gRPC floor
    into ``floor`` while the first runtime is up (see measure_floor)."""
    from dapr.clients import DaprClient

    sidecar = Sidecar(APP_ID, [resources], ports, run_dir, runtime=runtime)
    try:
        starts = start_times(sidecar, args.starts)
        use_sidecar_in_this_process(sidecar)
        with DaprClient(address=f"127.0.0.1:{sidecar.grpc_port}") as client:
            client.save_state("statestore", "k0", VALUE)
            get = measure(lambda i: client.get_state("statestore", "k0"), args.n)
            save = measure(lambda i: client.save_state("statestore", f"s{i % 100}", VALUE), args.n)
        if "p50" not in floor:
            floor["p50"] = measure_floor(ports, run_dir, args.n)
        return {"GetState": get, "SaveState": save, **starts}
    finally:
        sidecar.stop()


def bench_direct(redis: RedisServer, n: int) -> dict[str, Any]:
    """The same Redis operations the sidecars do, with redis-py: HGETALL, and the set script."""
    direct = redis.client()
    set_script = direct.register_script(SET_SCRIPT)
    set_script(keys=[f"{APP_ID}||k0"], args=["0", VALUE, "0"])
    return {
        "GetState": measure(lambda i: direct.hgetall(f"{APP_ID}||k0"), n),
        "SaveState": measure(lambda i: set_script(keys=[f"{APP_ID}||d{i % 100}"], args=["0", VALUE, "0"]), n),
    }


def report(results: dict[str, dict[str, Any]], floor_p50: float | None, starts: int) -> None:
    """The table: one row per figure, one column per runtime + direct Redis."""
    direct = results["direct"]
    runtimes = [r for r in results if r != "direct"]
    rows: list[tuple[str, dict[str, str]]] = []
    for op in ("GetState", "SaveState"):
        rows.append((f"{op} p50 µs", {COLUMN[r]: f"{res[op]['p50']:.0f}" for r, res in results.items()}))
        rows.append((f"{op} p99 µs", {COLUMN[r]: f"{res[op]['p99']:.0f}" for r, res in results.items()}))
        rows.append((f"{op} ops/s", {COLUMN[r]: f"{res[op]['ops']:.0f}" for r, res in results.items()}))
        rows.append((f"{op} p50 / direct Redis", {COLUMN[r]: f"{res[op]['p50'] / direct[op]['p50']:.2f}x" for r, res in results.items()}))
    if floor_p50 is not None:
        ratio = floor_p50 / direct["GetState"]["p50"]
        rows.append((f"Python gRPC floor p50 (constant answer): {floor_p50:.0f} µs = {ratio:.2f}x direct", {}))
        rows.append(("GetState p50 above the floor µs", {COLUMN[r]: f"{results[r]['GetState']['p50'] - floor_p50:+.0f}" for r in runtimes}))
    for label, key in (("start-to-healthy s, from first process spawned", "whole"),
                       ("  sidecar process alone in that start s", "first"),
                       ("  sidecar restart, placement+scheduler up s", "alone")):
        rows.append((f"{label}: median (min-max) of {starts}", {COLUMN[r]: spread(results[r][key]) for r in runtimes}))
    print_table("State API over gRPC (DaprClient) vs direct Redis (redis-py)", [COLUMN[r] for r in (*runtimes, "direct")], rows)


def spread(samples: list[float]) -> str:
    """Median with the range: start times on a busy machine vary by half a second."""
    return f"{statistics.median(samples):.2f} ({min(samples):.2f}-{max(samples):.2f})"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("-n", type=int, default=3000, help="calls per operation (after 200 warm-up calls)")
    parser.add_argument("--starts", type=int, default=5, help="cold starts per runtime for start-to-healthy")
    add_runtime_option(parser)
    args = parser.parse_args()
    stop_on_sigterm()
    runtimes = runtimes_to_run(args.runtime)
    tmp = Path(tempfile.mkdtemp(prefix="bench-state-"))
    ports = free_port_block(40)
    redis = RedisServer(port=ports.take(), workdir=tmp / "redis")
    try:
        redis.start()
        resources = prepare_resources(ROOT / "components" / "01-redis-state-store", tmp / "resources", redis)
        results: dict[str, dict[str, Any]] = {}
        floor: dict[str, float] = {}
        for runtime in runtimes:
            print(f"measuring {COLUMN[runtime]} ...", flush=True)
            results[runtime] = bench_runtime(runtime, resources, ports, tmp / f"run-{runtime}", args, floor)
        print("measuring direct Redis ...", flush=True)
        results["direct"] = bench_direct(redis, args.n)
        report(results, floor.get("p50"), args.starts)
    finally:
        redis.stop()
        shutil.rmtree(tmp, ignore_errors=True)  # daprd's scheduler data: 64 MB of etcd WAL per start


if __name__ == "__main__":
    main()
