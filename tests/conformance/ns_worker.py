"""A workflow worker for the namespace tests: the same workflow name in every namespace, its
output naming the worker's ``TENANT``, so a step run by the wrong namespace's worker shows."""

from __future__ import annotations

import os
import signal
import threading

import dapr.ext.workflow as wf

TENANT = os.environ["TENANT"]
rt = wf.WorkflowRuntime(host="127.0.0.1", port=os.environ["DAPR_GRPC_PORT"])


@rt.activity(name="answer")
def answer(ctx, question: str) -> str:
    return f"[{TENANT}] {question}"


@rt.workflow(name="ask")
def ask(ctx, question: str):
    first = yield ctx.call_activity(answer, input=question)
    second = yield ctx.call_activity(answer, input=first)
    return second


stop = threading.Event()
signal.signal(signal.SIGTERM, lambda *_: stop.set())
rt.start()
print("worker started", flush=True)
stop.wait()
rt.shutdown()
