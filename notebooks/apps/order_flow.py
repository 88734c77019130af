"""The workflow notebook 07 upgrades while runs are in flight: an order pipeline around an agent.

dapr-agents 1.0.9 registers its own agent workflow without a version, so versioning applies to
the workflows you write around your agents. Named versions (dapr SDK 1.18):
``register_versioned_workflow(fn, name=..., version_name=..., is_latest=...)``; a run keeps the
version it started with, new runs take the latest. A **patch** changes one version in place:
``if ctx.is_patched("name"):`` is true for a run that reaches it for the first time and false
for a run replaying past that point, which ran the code before the patch (``v2+fraud-check``
below is v2 with a patch; its version name stays ``v2``).

A replay that needs a version the connected code does not have **stalls** (status STALLED) until
code that has it connects again.

A deployment swaps the worker only while no workflow turn is on its way to it: each order sets its
custom status to "waiting for shipped" in the turn that reaches the wait, and the sidecar saves
that status with the turn, so the notebook waits for it before a swap. daprd 1.18.2 can deadlock
when its last worker disconnects while a turn waits to be handed to a worker (see notebook 07,
section 5).
"""

from __future__ import annotations

from typing import Any

import dapr.ext.workflow as wf


def order_flow_v1(ctx: wf.DaprWorkflowContext, order: str) -> Any:
    charged = yield ctx.call_activity("step", input=f"v1 charge {order}")
    ctx.set_custom_status("waiting for shipped")   # saved by the sidecar with this turn
    yield ctx.wait_for_external_event("shipped")
    done = yield ctx.call_activity("step", input=f"v1 email {order}")
    return [charged, done]


def order_flow_v2(ctx: wf.DaprWorkflowContext, order: str) -> Any:
    charged = yield ctx.call_activity("step", input=f"v2 charge {order}")
    ctx.set_custom_status("waiting for shipped")
    yield ctx.wait_for_external_event("shipped")
    yield ctx.call_activity("step", input=f"v2 sms {order}")   # new in v2
    done = yield ctx.call_activity("step", input=f"v2 email {order}")
    return [charged, done]


def order_flow_v2_patched(ctx: wf.DaprWorkflowContext, order: str) -> Any:
    if ctx.is_patched("fraud-check"):                          # the patch: new runs only
        yield ctx.call_activity("step", input=f"v2 fraud check {order}")
    charged = yield ctx.call_activity("step", input=f"v2 charge {order}")
    ctx.set_custom_status("waiting for shipped")
    yield ctx.wait_for_external_event("shipped")
    yield ctx.call_activity("step", input=f"v2 sms {order}")
    done = yield ctx.call_activity("step", input=f"v2 email {order}")
    return [charged, done]


VERSIONS = {"v1": order_flow_v1, "v2": order_flow_v2, "v2+fraud-check": order_flow_v2_patched}


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

        for v in versions:  # "v2+fraud-check" is v2's name with the patched code
            rt.register_versioned_workflow(_fresh(VERSIONS[v]), name="order_flow", version_name=v.split("+")[0], is_latest=v == latest)
        rt.start()
        self.runtime, self.versions = rt, versions

    def stop(self) -> None:
        if self.runtime is not None:
            self.runtime.shutdown()
            self.runtime = None
