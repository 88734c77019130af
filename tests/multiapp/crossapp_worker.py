"""One app of the cross-app workflow team (the shape of python-sdk's ``examples/workflow/cross-app*``).

Run as ``python crossapp_worker.py <role>``: role ``a`` hosts the parent workflows, ``b`` the
activities other apps call, ``c`` a child workflow (with its own local activity). The peers'
app ids come from ``APP_B``/``APP_C``. Every activity execution is counted in Redis
(``runs:<name>:<input>``), so a test can tell that a completed step was not run again.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time

import dapr.ext.workflow as wf
import redis

role = sys.argv[1]
APP_B, APP_C = os.environ["APP_B"], os.environ["APP_C"]
counter = redis.Redis.from_url(os.environ["COUNTER_REDIS_URL"])
rt = wf.WorkflowRuntime(host="127.0.0.1", port=os.environ["DAPR_GRPC_PORT"])


def _count(name: str, arg: str) -> int:
    return int(counter.incr(f"runs:{name}:{arg}"))


def _hold(gate: str) -> None:
    """Wait until the test sets ``release:<gate>`` (so it knows the step is in flight); a Redis
    blip while it waits is ridden out, not turned into an activity failure."""
    while True:
        try:
            if counter.exists(f"release:{gate}"):
                return
        except redis.ConnectionError:
            pass
        time.sleep(0.02)


if role == "a":
    @rt.workflow(name="cross_parent")
    def cross_parent(ctx: wf.DaprWorkflowContext, name: str):  # type: ignore[no-untyped-def]
        shouted = yield ctx.call_activity("shout", input=name, app_id=APP_B)
        child = yield ctx.call_child_workflow("greeter", input=shouted, app_id=APP_C)
        return {"activity": shouted, "child": child}

    @rt.workflow(name="cross_failure")
    def cross_failure(ctx: wf.DaprWorkflowContext, name: str):  # type: ignore[no-untyped-def]
        try:
            yield ctx.call_activity("explode", input=name, app_id=APP_B)
        except wf.TaskFailedError as err:  # an error raised in app B is this task's failure
            caught = str(err)
        else:
            caught = None
        child = yield ctx.call_child_workflow("greeter", input="x", app_id=APP_C)
        return {"caught": caught, "child": child}

    @rt.workflow(name="cross_uncaught")
    def cross_uncaught(ctx: wf.DaprWorkflowContext, name: str):  # type: ignore[no-untyped-def]
        yield ctx.call_child_workflow("failing_child", input=name, app_id=APP_C)
        return "unreachable"

    @rt.workflow(name="cross_slow")
    def cross_slow(ctx: wf.DaprWorkflowContext, name: str):  # type: ignore[no-untyped-def]
        shouted = yield ctx.call_activity("slow_shout", input=name, app_id=APP_B)
        child = yield ctx.call_child_workflow("slow_greeter", input=name, app_id=APP_C)
        return [shouted, child]

    @rt.workflow(name="cross_waiting")
    def cross_waiting(ctx: wf.DaprWorkflowContext, name: str):  # type: ignore[no-untyped-def]
        return (yield ctx.call_child_workflow("waiter", input=name, app_id=APP_C))

    @rt.workflow(name="cross_missing")
    def cross_missing(ctx: wf.DaprWorkflowContext, target: str):  # type: ignore[no-untyped-def]
        return (yield ctx.call_activity("shout", input="late", app_id=target))

elif role == "b":
    @rt.activity(name="shout")
    def shout(ctx: wf.WorkflowActivityContext, name: str) -> str:
        _count("shout", name)
        return name.upper() + "!"

    @rt.activity(name="slow_shout")
    def slow_shout(ctx: wf.WorkflowActivityContext, name: str) -> str:
        n = _count("slow_shout", name)
        _hold(f"shout:{name}")
        return f"{name.upper()}! (run {n})"

    @rt.activity(name="explode")
    def explode(ctx: wf.WorkflowActivityContext, name: str) -> str:
        _count("explode", name)
        raise ValueError(f"boom in app B for {name}")

elif role == "c":
    @rt.activity(name="wrap")
    def wrap(ctx: wf.WorkflowActivityContext, text: str) -> str:
        _count("wrap", text)
        return f"<{text}>"

    @rt.workflow(name="greeter")
    def greeter(ctx: wf.DaprWorkflowContext, text: str):  # type: ignore[no-untyped-def]
        wrapped = yield ctx.call_activity(wrap, input=text)
        return f"hello {wrapped} from {ctx.instance_id}"

    @rt.activity(name="slow_wrap")
    def slow_wrap(ctx: wf.WorkflowActivityContext, text: str) -> str:
        n = _count("slow_wrap", text)
        _hold(f"wrap:{text}")
        return f"<{text}> (run {n})"

    @rt.workflow(name="slow_greeter")
    def slow_greeter(ctx: wf.DaprWorkflowContext, text: str):  # type: ignore[no-untyped-def]
        wrapped = yield ctx.call_activity(slow_wrap, input=text)
        return f"hello {wrapped}"

    @rt.workflow(name="waiter")
    def waiter(ctx: wf.DaprWorkflowContext, text: str):  # type: ignore[no-untyped-def]
        return (yield ctx.wait_for_external_event("go"))

    @rt.workflow(name="failing_child")
    def failing_child(ctx: wf.DaprWorkflowContext, text: str):  # type: ignore[no-untyped-def]
        raise RuntimeError(f"child in app C failed on {text}")
        yield  # pragma: no cover - makes this a generator

else:
    raise SystemExit(f"unknown role {role!r}: a, b or c")

stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
rt.start()
print(f"worker started ({role})", flush=True)
stop.wait()
rt.shutdown()
