"""A workflow worker run as its own process so tests can kill -9 it mid-activity.

``slow_step`` counts each execution in Redis (``count:<instance>``) and then waits until the
test sets ``release:<instance>``, so the test knows exactly when the activity is in flight.
"""

from __future__ import annotations

import os
import signal
import threading
import time

import dapr.ext.workflow as wf
import redis

r = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])
rt = wf.WorkflowRuntime(host="127.0.0.1", port=os.environ["DAPR_GRPC_PORT"])


@rt.activity(name="prep")
def prep(ctx, instance: str) -> str:
    r.incr(f"prep:{instance}")
    return "prepared"


@rt.activity(name="slow_step")
def slow_step(ctx, instance: str) -> str:
    n = r.incr(f"count:{instance}")
    while not _released(instance):
        time.sleep(0.02)
    return f"done on attempt {n}"


def _released(instance: str) -> bool:
    # The Redis-restart test restarts the Redis these counters live in too: ride out that blip
    # instead of failing the activity (which would fail the workflow, correctly).
    try:
        return bool(r.exists(f"release:{instance}"))
    except redis.ConnectionError:
        return False


@rt.workflow(name="crashy")
def crashy(ctx, _):
    a = yield ctx.call_activity(prep, input=ctx.instance_id)
    b = yield ctx.call_activity(slow_step, input=ctx.instance_id)
    return [a, b]


stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
rt.start()
print("worker started", flush=True)
stop.wait()
rt.shutdown()
