"""Purging with no workflow worker connected (notebook 10 retries a purge after killing its agent).

daprd (seen on 1.18.2): a recursive purge (the SDK's default) of an instance that does not exist
(already purged) answers "no such instance exists" at once, because the instance is read from the
store before any call on its workflow actor; an instance that exists needs the actor, whose lookup
fails without a worker ("did not find address for actor ...").
"""

from __future__ import annotations

import re

import dapr.ext.workflow as wf
import pytest

from tests.stacks import SidecarStack


def _purge_error(client: wf.DaprWorkflowClient, instance: str) -> str:
    with pytest.raises(Exception) as failed:
        client.purge_workflow(instance)
    found = re.search(r'details = "([^"]*)"', str(failed.value))
    return found[1] if found else str(failed.value)


def test_purge_without_a_worker(wf_stack: SidecarStack) -> None:
    rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(wf_stack.sidecar.grpc_port))

    @rt.workflow(name="noop_for_purge")
    def noop(ctx, _):
        return 1

    rt.start()
    client = wf_stack.workflow_client()
    try:
        for instance in ("purge-nw-a", "purge-nw-b"):
            client.schedule_new_workflow(noop, instance_id=instance)
            assert client.wait_for_workflow_completion(instance, timeout_in_seconds=30).runtime_status == wf.WorkflowStatus.COMPLETED
        client.purge_workflow("purge-nw-a")
    finally:
        rt.shutdown()
    assert _purge_error(client, "purge-nw-a") == "failed to purge workflow state: failed to fetch workflow state: no such instance exists"
    assert _purge_error(client, "purge-nw-b").startswith(
        "failed to purge workflow state: failed to lookup actor: api error: code = FailedPrecondition desc = did not find address for actor "
        f"'dapr.internal.default.{wf_stack.sidecar.app_id}.workflow/purge-nw-b'")
    assert wf_stack.workflow_keys("purge-nw-b") != []          # refused: nothing deleted
