"""The workflow notebook 07 upgrades while runs are in flight: an order pipeline around an agent.

dapr-agents 1.0.9 registers its own agent workflow without a version, so versioning applies to
the workflows you write around your agents. Named versions (dapr SDK 1.18):
``register_versioned_workflow(fn, name=..., version_name=..., is_latest=...)``; a run keeps the
version it started with, new runs take the latest. (Patches, ``if ctx.is_patched("name"):``
inside one workflow, follow the same rules: tests/workflow/test_versioning.py.)

A replay that needs a version the connected code does not have **stalls** (status STALLED) until
code that has it connects again.
"""

from __future__ import annotations

from typing import Any

import dapr.ext.workflow as wf


def order_flow_v1(ctx: wf.DaprWorkflowContext, order: str) -> Any:
    charged = yield ctx.call_activity("step", input=f"v1 charge {order}")
    yield ctx.wait_for_external_event("shipped")
    done = yield ctx.call_activity("step", input=f"v1 email {order}")
    return [charged, done]


def order_flow_v2(ctx: wf.DaprWorkflowContext, order: str) -> Any:
    charged = yield ctx.call_activity("step", input=f"v2 charge {order}")
    yield ctx.wait_for_external_event("shipped")
    yield ctx.call_activity("step", input=f"v2 sms {order}")   # new in v2
    done = yield ctx.call_activity("step", input=f"v2 email {order}")
    return [charged, done]


VERSIONS = {"v1": order_flow_v1, "v2": order_flow_v2}


def _fresh(fn: Any) -> Any:
    """A new function object running ``fn`` (the SDK marks a function as registered, and each
    deployment is a new process in real life: here it is a new worker in the same kernel)."""
    def flow(ctx: wf.DaprWorkflowContext, order: str) -> Any:
        return (yield from fn(ctx, order))

    flow.__name__ = fn.__name__
    return flow


class Deployment:
    """The app's code as deployed: the versions it carries, hosted by a workflow worker. A new
    deployment replaces the previous one (stop the old worker, start one with the new code)."""

    def __init__(self, host: str, port: int) -> None:
        self.host, self.port = host, port
        self.runtime: wf.WorkflowRuntime | None = None
        self.steps: list[str] = []
        self.versions: tuple[str, ...] = ()

    def deploy(self, *versions: str, latest: str) -> None:
        self.stop()
        rt = wf.WorkflowRuntime(host=self.host, port=str(self.port))

        @rt.activity(name="step")
        def step(ctx: Any, text: str) -> str:
            self.steps.append(text)
            return text

        for v in versions:
            rt.register_versioned_workflow(_fresh(VERSIONS[v]), name="order_flow", version_name=v, is_latest=v == latest)
        rt.start()
        self.runtime, self.versions = rt, versions

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.shutdown()
            self.runtime = None
