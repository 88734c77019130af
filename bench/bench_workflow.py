"""Workflow benchmark on the local sidecar: sequential activities/s, a 100-activity fan-out, and
the time from restarting a killed sidecar to the in-flight instance completing.

Run: ``.venv/bin/python bench/bench_workflow.py``. Target from the issue: restart to completed
<= 2 s for a workflow whose remaining work is one short activity.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import dapr.ext.workflow as wf  # noqa: E402
import httpx  # noqa: E402

from cookbook.processes import ManagedProcess  # noqa: E402
from tests.workflow.conftest import start_workflow_stack  # noqa: E402

WORKER = ROOT / "tests" / "workflow" / "worker_app.py"


def main() -> None:
    stack = start_workflow_stack("benchwf")
    rt: wf.WorkflowRuntime | None = wf.WorkflowRuntime(host="127.0.0.1", port=str(stack.sidecar.grpc_port))

    @rt.activity(name="noop")
    def noop(ctx, i: int) -> int:
        return i

    @rt.workflow(name="sequence")
    def sequence(ctx, n: int):
        for i in range(n):
            yield ctx.call_activity(noop, input=i)
        return n

    @rt.workflow(name="fan")
    def fan(ctx, n: int):
        return sum((yield wf.when_all([ctx.call_activity(noop, input=i) for i in range(n)])))

    worker: ManagedProcess | None = None
    try:
        rt.start()
        client = stack.workflow_client()
        t0 = time.perf_counter()
        client.schedule_new_workflow("sequence", input=50, instance_id="seq")
        client.wait_for_workflow_completion("seq", timeout_in_seconds=120)
        seq = time.perf_counter() - t0
        t0 = time.perf_counter()
        client.schedule_new_workflow("fan", input=100, instance_id="fan")
        client.wait_for_workflow_completion("fan", timeout_in_seconds=120)
        fan_s = time.perf_counter() - t0
        rt.shutdown()
        rt = None

        worker = stack.sidecar.app_process("worker", [sys.executable, str(WORKER)],
                                           env={"COUNTER_REDIS_URL": stack.redis_server.url, "PYTHONPATH": str(ROOT)})
        log = worker.log_path
        worker.ready = lambda: log.exists() and "worker started" in log.read_text()
        worker.start_and_wait(60)
        r = stack.redis
        client.schedule_new_workflow("crashy", instance_id="crash")
        while r.get("count:crash") != b"1":
            time.sleep(0.01)
        stack.sidecar.kill()
        r.set("release:crash", 1)
        t0 = time.perf_counter()
        healthy = stack.sidecar.restart()
        # The SDK worker reconnects on its own schedule (dapr-ext-workflow backs off 2^n + U(0,1) s
        # after its stream breaks); the sidecar reports connected workers in its metadata.
        while not httpx.get(f"http://127.0.0.1:{stack.sidecar.http_port}/v1.0/metadata").json().get("workflows", {}).get("connectedWorkers"):
            time.sleep(0.01)
        reconnected = time.perf_counter() - t0
        client.wait_for_workflow_completion("crash", timeout_in_seconds=120)
        restart_to_done = time.perf_counter() - t0
        print(f"sequential activities: {50 / seq:.0f}/s (50 activities in {seq:.2f}s)")
        print(f"fan-out of 100 activities: {fan_s:.2f}s")
        print(f"sidecar restart to in-flight instance completed: {restart_to_done:.2f}s (sidecar healthy after {healthy:.2f}s, "
              f"worker reconnected after {reconnected:.2f}s, completed {restart_to_done - reconnected:.2f}s after that)")
    finally:
        if rt is not None:  # its worker thread is not a daemon: a failure must not leave it retrying
            rt.shutdown()
        if worker is not None:
            worker.terminate()
        stack.stop()


if __name__ == "__main__":
    main()
