"""Workflow benchmark, daprd and localdapr side by side: sequential activities/s, a 100-activity
fan-out, and kill -9 of the sidecar -> the in-flight instance completed.

The last figure is split into "worker reconnected" and "completed after that", because the first
part is the SDK's own reconnect back-off, the same whichever sidecar runs (see the README).
Run: ``.venv/bin/python bench/bench_workflow.py [--runtime daprd|local|both]``. Target from the
issue: restart to completed <= 2 s for a workflow whose remaining work is one short activity.

Each runtime gets its own Redis and sidecar (daprd with its placement and scheduler), started,
measured and stopped before the next, so they never compete for the CPU.
"""

from __future__ import annotations

import argparse
import sys
import time

from common import ROOT, add_runtime_option, print_table, runtimes_to_run, stop_on_sigterm

import dapr.ext.workflow as wf
import httpx

from cookbook.processes import ManagedProcess, wait_until
from tests.stacks import SidecarStack
from tests.workflow.conftest import start_workflow_stack

WORKER = ROOT / "tests" / "workflow" / "worker_app.py"
SEQUENTIAL = 50
FAN_OUT = 100
TIMEOUT = 120  # seconds any one wait may take: a hung runtime fails the run, it doesn't stall it
COLUMN = {"daprd": "daprd", "local": "localdapr"}


def run_to_completion(client: wf.DaprWorkflowClient, workflow: str, n: int, instance_id: str) -> float:
    """Seconds from scheduling an instance to seeing it COMPLETED (anything else is an error)."""
    t0 = time.perf_counter()
    client.schedule_new_workflow(workflow, input=n, instance_id=instance_id)
    state = client.wait_for_workflow_completion(instance_id, timeout_in_seconds=TIMEOUT)
    elapsed = time.perf_counter() - t0
    if state is None or state.runtime_status != wf.WorkflowStatus.COMPLETED:
        raise RuntimeError(f"{workflow} {instance_id} did not complete: {state and state.runtime_status}")
    return elapsed


def throughput(stack: SidecarStack) -> dict[str, float]:
    """Sequential and fan-out timings with an in-process worker (no process hop for the app)."""
    rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(stack.sidecar.grpc_port))

    @rt.activity(name="noop")
    def noop(ctx: wf.WorkflowActivityContext, i: int) -> int:
        return i

    @rt.workflow(name="sequence")
    def sequence(ctx: wf.DaprWorkflowContext, n: int):  # type: ignore[no-untyped-def]
        for i in range(n):
            yield ctx.call_activity(noop, input=i)
        return n

    @rt.workflow(name="fan")
    def fan(ctx: wf.DaprWorkflowContext, n: int):  # type: ignore[no-untyped-def]
        return sum((yield wf.when_all([ctx.call_activity(noop, input=i) for i in range(n)])))

    try:
        rt.start()
        client = stack.workflow_client()
        # Warm-up: daprd's first workflow waits for its actor types to reach placement; that is
        # start-up, not throughput.
        run_to_completion(client, "sequence", 1, "warm-up")
        seq = run_to_completion(client, "sequence", SEQUENTIAL, "seq")
        fan_s = run_to_completion(client, "fan", FAN_OUT, "fan")
        return {"seq_rate": SEQUENTIAL / seq, "fan": fan_s}
    finally:  # its worker thread is not a daemon: a failure must not leave it retrying
        rt.shutdown()


def connected_workers(stack: SidecarStack) -> int:
    """Workflow workers connected to the sidecar, as both runtimes report it in their metadata."""
    meta = httpx.get(f"http://127.0.0.1:{stack.sidecar.http_port}/v1.0/metadata", timeout=2).json()
    return int(meta.get("workflows", {}).get("connectedWorkers", 0))


def sidecar_crash(stack: SidecarStack) -> dict[str, float]:
    """kill -9 the sidecar while an activity runs in a worker process, restart it, and time the
    sidecar healthy, the worker reconnected, and the instance completed."""
    worker: ManagedProcess = stack.sidecar.app_process(
        "worker", [sys.executable, str(WORKER)], env={"COUNTER_REDIS_URL": stack.redis_server.url, "PYTHONPATH": str(ROOT)})
    log = worker.log_path
    worker.ready = lambda: log.exists() and "worker started" in log.read_text()
    try:
        worker.start_and_wait(60)
        r = stack.redis
        client = stack.workflow_client()
        client.schedule_new_workflow("crashy", instance_id="crash")
        wait_until(lambda: r.get("count:crash") == b"1", TIMEOUT, "slow_step running", worker.log_tail)
        stack.sidecar.kill()
        r.set("release:crash", 1)  # the activity finishes while the sidecar is down
        t0 = time.perf_counter()
        healthy = stack.sidecar.restart()
        wait_until(lambda: connected_workers(stack) > 0, TIMEOUT, "worker reconnected", worker.log_tail)
        reconnected = time.perf_counter() - t0
        state = client.wait_for_workflow_completion("crash", timeout_in_seconds=TIMEOUT)
        done = time.perf_counter() - t0
        if state is None or state.runtime_status != wf.WorkflowStatus.COMPLETED:
            raise RuntimeError(f"crash instance did not complete: {state and state.runtime_status}")
        return {"healthy": healthy, "reconnected": reconnected, "after": done - reconnected, "done": done}
    finally:
        worker.terminate()


def bench_runtime(runtime: str) -> dict[str, float]:
    stack = start_workflow_stack("benchwf", runtime)
    try:
        return {**throughput(stack), **sidecar_crash(stack)}
    finally:
        stack.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    add_runtime_option(parser)
    args = parser.parse_args()
    stop_on_sigterm()
    results: dict[str, dict[str, float]] = {}
    for runtime in runtimes_to_run(args.runtime):
        print(f"measuring {COLUMN[runtime]} ...", flush=True)
        results[runtime] = bench_runtime(runtime)
    figures = [
        (f"{SEQUENTIAL} sequential activities /s", "seq_rate", "{:.0f}"),
        (f"{FAN_OUT}-activity fan-out s", "fan", "{:.2f}"),
        ("kill -9, restart -> sidecar healthy s", "healthy", "{:.2f}"),
        ("  -> worker reconnected s", "reconnected", "{:.2f}"),
        ("  -> then instance completed s", "after", "{:.2f}"),
        ("restart -> in-flight instance completed s", "done", "{:.2f}"),
    ]
    rows = [(label, {COLUMN[r]: fmt.format(res[key]) for r, res in results.items()}) for label, key, fmt in figures]
    print_table("Workflows (no direct-Redis counterpart)", [COLUMN[r] for r in results], rows)


if __name__ == "__main__":
    main()
