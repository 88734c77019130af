"""Workflow history propagation (dapr SDK 1.18: ``propagation=PropagationScope...`` on
``call_activity`` / ``call_child_workflow``, read with ``ctx.get_propagated_history()``).

daprd 1.18.2 supports it (established by running the SDK's ``examples/workflow/
history_propagation.py`` on it: the child and the activity see the parent's events; source:
durabletask-go ``backend/runtimestate/propagation.go`` and ``applier.go``, dapr's workflow
actor storing a child's received history as its ``propagated-history`` row). What a receiver
gets: OWN_HISTORY, one chunk with the caller's events up to and including the scheduling event;
LINEAGE, the chunks the caller itself received, then its own. A child gets its chunk on every
turn; a call without a scope gets none.
"""

from __future__ import annotations

from typing import Any, Iterator

import dapr.ext.workflow as wf
import pytest

from localdapr.workflow.protos import history
from tests.stacks import SidecarStack

seen: list[Any] = []

PREFIX = ["workflowStarted", "executionStarted", "taskScheduled", "workflowStarted", "taskCompleted", "childWorkflowInstanceCreated"]


def summary(where: str, ph: Any) -> None:
    if ph is None:
        seen.append((where, None))
        return
    seen.append((where, ph.scope.name, [(w.app_id, w.instance_id, w.name, [e.WhichOneof("eventType") for e in w._events]) for w in ph.get_workflows()]))


@pytest.fixture(scope="module")
def runtime(wf_stack: SidecarStack) -> Iterator[wf.WorkflowRuntime]:
    rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(wf_stack.sidecar.grpc_port))

    @rt.activity(name="probe")
    def probe(ctx, tag: str) -> str:  # type: ignore[no-untyped-def]
        summary(f"activity {tag}", ctx.get_propagated_history())
        return tag

    @rt.workflow(name="leaf")
    def leaf(ctx, _):  # type: ignore[no-untyped-def]
        if not ctx.is_replaying:
            summary("leaf turn 1", ctx.get_propagated_history())
        yield ctx.call_activity("probe", input="leaf")
        if not ctx.is_replaying:
            summary("leaf turn 2", ctx.get_propagated_history())
        return "leaf"

    @rt.workflow(name="mid")
    def mid(ctx, _):  # type: ignore[no-untyped-def]
        yield ctx.call_activity("probe", input="mid plain")
        yield ctx.call_child_workflow("leaf", input=None, instance_id=ctx.instance_id + "-leaf", propagation=wf.PropagationScope.OWN_HISTORY)
        yield ctx.call_activity("probe", input="mid lineage", propagation=wf.PropagationScope.LINEAGE)
        return "mid"

    @rt.workflow(name="top")
    def top(ctx, _):  # type: ignore[no-untyped-def]
        yield ctx.call_activity("probe", input="top plain")
        yield ctx.call_child_workflow("mid", input=None, instance_id=ctx.instance_id + "-mid", propagation=wf.PropagationScope.LINEAGE)
        return "top"

    rt.start()
    yield rt
    rt.shutdown()


def test_H_history_propagation_to_children_and_activities(wf_stack: SidecarStack, runtime: wf.WorkflowRuntime) -> None:
    app = wf_stack.sidecar.app_id
    seen.clear()
    client = wf_stack.workflow_client()
    client.schedule_new_workflow("top", instance_id="prop")
    assert client.wait_for_workflow_completion("prop", timeout_in_seconds=60).runtime_status == wf.WorkflowStatus.COMPLETED
    mid_chunk = (app, "prop-mid", "mid", PREFIX)
    assert sorted(seen, key=lambda s: s[0]) == sorted([
        ("activity top plain", None),
        ("activity mid plain", None),
        ("leaf turn 1", "OWN_HISTORY", [mid_chunk]),
        ("activity leaf", None),
        ("leaf turn 2", "OWN_HISTORY", [mid_chunk]),
        ("activity mid lineage", "LINEAGE", [
            (app, "prop", "top", PREFIX),
            (app, "prop-mid", "mid", PREFIX + ["workflowStarted", "childWorkflowInstanceCompleted", "taskScheduled"]),
        ]),
    ], key=lambda s: s[0])

    # the children keep what they received as their propagated-history row; the root has none
    actor = f"{app}||dapr.internal.default.{app}.workflow"
    assert not wf_stack.redis.exists(f"{actor}||prop||propagated-history")
    row = wf_stack.redis.hgetall(f"{actor}||prop-mid-leaf||propagated-history")
    assert sorted(row) == [b"data", b"version"] and row[b"version"] == b"1"
    ph = history.PropagatedHistory.FromString(row[b"data"])
    assert [(c.appId, c.instanceId, c.workflowName, len(c.rawEvents)) for c in ph.chunks] == [(app, "prop-mid", "mid", 6)]
    scheduled = history.HistoryEvent.FromString(wf_stack.redis.hget(f"{actor}||prop-mid||history-000005", "data"))
    assert scheduled.childWorkflowInstanceCreated.historyPropagationScope == 1  # OWN_HISTORY recorded on the event
    client.purge_workflow("prop")  # recursive: the rows go with the instances
    assert not wf_stack.redis.exists(f"{actor}||prop-mid-leaf||propagated-history")
