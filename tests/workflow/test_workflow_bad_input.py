"""Workflow API answers to bad and unusual requests, HTTP and the Dapr service's gRPC workflow RPCs.

Expected answers are daprd 1.18.2's, captured by sending the same requests to it and explained by
pkg/api/universal/workflow.go (instance-ID checks, APIError wrapping) and
pkg/runtime/wfengine/client.go (which properties a workflow has).
"""

from __future__ import annotations

import uuid
from typing import Iterator

import dapr.ext.workflow as wf
import grpc
import httpx
import pytest
from dapr.proto.runtime.v1 import dapr_pb2_grpc
from dapr.proto.runtime.v1 import workflow_pb2 as wpb

from tests.stacks import SidecarStack

NOT_FOUND = "unable to find workflow with the provided instance ID: {iid}%!(EXTRA *fmt.wrapError=failed to purge workflow state: failed to fetch workflow state: no such instance exists)"


@pytest.fixture(scope="module")
def runtime(wf_stack: SidecarStack) -> Iterator[wf.WorkflowRuntime]:
    rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(wf_stack.sidecar.grpc_port))

    @rt.workflow(name="waiter")
    def waiter(ctx, _):
        got = yield ctx.wait_for_external_event("go")
        return {"got": got}

    rt.start()
    yield rt
    rt.shutdown()


@pytest.fixture
def stub(wf_stack: SidecarStack) -> Iterator[dapr_pb2_grpc.DaprStub]:
    with grpc.insecure_channel(f"127.0.0.1:{wf_stack.sidecar.grpc_port}") as channel:
        yield dapr_pb2_grpc.DaprStub(channel)


def base(stack: SidecarStack) -> str:
    return f"http://127.0.0.1:{stack.sidecar.http_port}/v1.0/workflows/dapr"


def _code(call) -> tuple[grpc.StatusCode, str]:  # type: ignore[no-untyped-def]
    with pytest.raises(grpc.RpcError) as err:
        call()
    return err.value.code(), err.value.details()


@pytest.mark.parametrize("version", ["Beta1", "Alpha1"])
def test_dapr_service_workflow_rpcs(wf_stack: SidecarStack, runtime: wf.WorkflowRuntime, stub: dapr_pb2_grpc.DaprStub, version: str) -> None:
    """The Dapr service's workflow RPCs answer as daprd's universal API: purge of an unknown
    instance NOT_FOUND (as HTTP's 404), a get of one OK with only the ID, IDs checked on start."""
    rpc = {name: getattr(stub, f"{name}Workflow{version}") for name in ("Start", "Get", "Purge", "RaiseEvent", "Terminate", "Pause", "Resume")}
    missing = f"nope-{uuid.uuid4().hex[:6]}"
    assert _code(lambda: rpc["Purge"](wpb.PurgeWorkflowRequest(instance_id=missing, workflow_component="dapr"), timeout=30)) == (
        grpc.StatusCode.NOT_FOUND, NOT_FOUND.format(iid=missing))
    for name, req in (("Purge", wpb.PurgeWorkflowRequest()), ("Get", wpb.GetWorkflowRequest()), ("Terminate", wpb.TerminateWorkflowRequest()),
                      ("Pause", wpb.PauseWorkflowRequest()), ("Resume", wpb.ResumeWorkflowRequest()), ("RaiseEvent", wpb.RaiseEventWorkflowRequest(event_name="go"))):
        assert _code(lambda: rpc[name](req, timeout=30)) == (grpc.StatusCode.INVALID_ARGUMENT, "no instance ID was provided"), name
    assert rpc["Get"](wpb.GetWorkflowRequest(instance_id=missing), timeout=30) == wpb.GetWorkflowResponse(instance_id=missing)
    assert _code(lambda: rpc["Start"](wpb.StartWorkflowRequest(instance_id="a b", workflow_name="waiter"), timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "workflow instance ID 'a b' is invalid: only alphanumeric and underscore characters are allowed")
    assert _code(lambda: rpc["Start"](wpb.StartWorkflowRequest(instance_id="ok"), timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "workflow name is not configured")
    assert _code(lambda: rpc["RaiseEvent"](wpb.RaiseEventWorkflowRequest(instance_id="ok"), timeout=30)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "missing workflow event name")

    iid = f"g{version}-{uuid.uuid4().hex[:6]}"
    assert rpc["Start"](wpb.StartWorkflowRequest(instance_id=iid, workflow_name="waiter", input=b'"in"'), timeout=30).instance_id == iid
    rpc["RaiseEvent"](wpb.RaiseEventWorkflowRequest(instance_id=iid, event_name="go", event_data=b'"yes"'), timeout=30)
    # Wait through the durabletask API: daprd's GetWorkflow reads the state rows one by one and
    # can fail with "inbox key ... missing" while a turn is being saved (seen when polling).
    assert wf_stack.workflow_client().wait_for_workflow_completion(iid, timeout_in_seconds=30) is not None
    got = rpc["Get"](wpb.GetWorkflowRequest(instance_id=iid), timeout=30)
    assert got.runtime_status == "COMPLETED" and got.workflow_name == "waiter" and dict(got.properties) == {"dapr.workflow.input": '"in"', "dapr.workflow.output": '{"got": "yes"}'}
    rpc["Purge"](wpb.PurgeWorkflowRequest(instance_id=iid), timeout=30)
    assert rpc["Get"](wpb.GetWorkflowRequest(instance_id=iid), timeout=30) == wpb.GetWorkflowResponse(instance_id=iid)


def test_invalid_utf8_input_is_refused(wf_stack: SidecarStack, runtime: wf.WorkflowRuntime) -> None:
    """A body that is not UTF-8 cannot become the proto string daprd sends: 500 with its text."""
    url = base(wf_stack)
    iid = f"u-{uuid.uuid4().hex[:6]}"
    r = httpx.post(f"{url}/waiter/start?instanceID={iid}", content=b"\xff\xfe", timeout=30)
    assert (r.status_code, r.json()) == (500, {"errorCode": "ERR_START_WORKFLOW", "message": (
        "error starting workflow 'waiter': unable to start workflow: failed to start workflow: "
        "failed to marshal CreateWorkflowInstanceRequest: string field contains invalid UTF-8")})
    assert httpx.get(f"{url}/{iid}", timeout=30).status_code == 404  # nothing was started
    r = httpx.post(f"{url}/{iid}/raiseEvent/go", content=b"\xff", timeout=30)
    assert (r.status_code, r.json()) == (500, {"errorCode": "ERR_RAISE_EVENT_WORKFLOW", "message": (
        f"error raising event on workflow '{iid}': failed to raise event go on workflow {iid}: failed to raise event: string field contains invalid UTF-8")})


@pytest.mark.parametrize("path", ["//start", "/some-id/raiseEvent/"])
def test_empty_names_match_no_workflow_route(wf_stack: SidecarStack, path: str) -> None:
    r = httpx.post(base(wf_stack) + path, timeout=30)
    assert (r.status_code, r.json()) == (404, {
        "errorCode": "ERR_DIRECT_INVOKE", "message": "failed getting app id either from the URL path or the header dapr-app-id"})


def test_properties_are_only_those_the_instance_has(wf_stack: SidecarStack, runtime: wf.WorkflowRuntime) -> None:
    """No input given (durabletask client): daprd's GET has no ``dapr.workflow.input`` and, with
    nothing else set yet, no ``properties`` at all; an HTTP start always gives an input."""
    client = wf_stack.workflow_client()
    iid = client.schedule_new_workflow("waiter", instance_id=f"n-{uuid.uuid4().hex[:6]}")
    client.wait_for_workflow_start(iid, timeout_in_seconds=30)
    doc = httpx.get(f"{base(wf_stack)}/{iid}", timeout=30).json()
    assert doc["runtimeStatus"] == "RUNNING" and "properties" not in doc
    empty = f"e-{uuid.uuid4().hex[:6]}"
    assert httpx.post(f"{base(wf_stack)}/waiter/start?instanceID={empty}", timeout=30).status_code == 202
    client.wait_for_workflow_start(empty, timeout_in_seconds=30)
    assert httpx.get(f"{base(wf_stack)}/{empty}", timeout=30).json()["properties"] == {"dapr.workflow.input": ""}
    for instance in (iid, empty):
        client.terminate_workflow(instance)
