"""Workflow semantics through the official SDK (WorkflowRuntime + DaprWorkflowClient), spec H."""

from __future__ import annotations

import json
import re
import uuid
from datetime import timedelta
from typing import Iterator

import dapr.ext.workflow as wf
import grpc
import pytest

from tests.runtimes import local_only
from tests.stacks import SidecarStack as WorkflowStack

calls: dict[str, int] = {}


def _count(name: str) -> int:
    calls[name] = calls.get(name, 0) + 1
    return calls[name]


@pytest.fixture(scope="module")
def runtime(wf_stack: WorkflowStack) -> Iterator[wf.WorkflowRuntime]:
    rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(wf_stack.sidecar.grpc_port))

    @rt.activity(name="greet")
    def greet(ctx, name: str) -> str:
        return f"Hello {name}"

    @rt.activity(name="square")
    def square(ctx, n: int) -> int:
        return n * n

    @rt.activity(name="flaky")
    def flaky(ctx, key: str) -> str:
        if _count(key) < 3:
            raise ValueError(f"attempt {calls[key]} failed")
        return f"ok after {calls[key]}"

    @rt.activity(name="boom")
    def boom(ctx, _: object) -> None:
        raise RuntimeError("kaboom")

    @rt.workflow(name="chain")
    def chain(ctx, _):
        a = yield ctx.call_activity(greet, input="a")
        b = yield ctx.call_activity(greet, input="b")
        return [a, b]

    @rt.workflow(name="fanout")
    def fanout(ctx, n: int):
        results = yield wf.when_all([ctx.call_activity(square, input=i) for i in range(n)])
        return sum(results)

    @rt.workflow(name="timer")
    def timer(ctx, seconds: float):
        yield ctx.create_timer(timedelta(seconds=seconds))
        return "woke"

    @rt.workflow(name="approval")
    def approval(ctx, _):
        decision = yield ctx.wait_for_external_event("approve")
        return {"approved": decision}

    @rt.workflow(name="with_status")
    def with_status(ctx, n: int):
        ctx.set_custom_status("working")
        return n

    @rt.workflow(name="twice")
    def twice(ctx, _):
        first = yield ctx.wait_for_external_event("approve")
        second = yield ctx.wait_for_external_event("approve")
        return [first, second]

    @rt.workflow(name="child")
    def child(ctx, n: int):
        return (yield ctx.call_activity(square, input=n))

    @rt.workflow(name="parent")
    def parent(ctx, _):
        a = yield ctx.call_child_workflow(child, input=3)
        b = yield ctx.call_child_workflow(child, input=4, instance_id=f"{ctx.instance_id}-explicit")
        return a + b

    @rt.workflow(name="retrying")
    def retrying(ctx, key: str):
        policy = wf.RetryPolicy(first_retry_interval=timedelta(milliseconds=100), max_number_of_attempts=5)
        return (yield ctx.call_activity(flaky, input=key, retry_policy=policy))

    @rt.workflow(name="failing")
    def failing(ctx, _):
        yield ctx.call_activity(boom, input=None)

    @rt.workflow(name="counter")
    def counter(ctx, n: int):
        if n < 3:
            ctx.continue_as_new(n + 1)
            return None
        return n

    rt.start()
    yield rt
    rt.shutdown()


def iid() -> str:
    return f"wf-{uuid.uuid4().hex[:8]}"


def run(stack: WorkflowStack, name: str, payload: object = None, timeout: int = 30) -> wf.WorkflowState:
    client = stack.workflow_client()
    instance = client.schedule_new_workflow(name, input=payload, instance_id=iid())
    state = client.wait_for_workflow_completion(instance, timeout_in_seconds=timeout)
    assert state is not None
    return state


def test_H_chaining_and_daprd_key_layout(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    state = run(wf_stack, "chain")
    assert state.runtime_status == wf.WorkflowStatus.COMPLETED
    assert json.loads(state.serialized_output) == ["Hello a", "Hello b"]
    keys = wf_stack.workflow_keys(state.instance_id)
    prefix = f"wfapp||dapr.internal.default.wfapp.workflow||{state.instance_id}||"
    assert prefix + "metadata" in keys and prefix + "customStatus" in keys and prefix + "history-000000" in keys
    assert all(wf_stack.redis.type(k) == b"hash" for k in keys)
    from localdapr.workflow.protos import backend, history

    meta = backend.BackendWorkflowStateMetadata.FromString(wf_stack.redis.hget(prefix + "metadata", "data"))
    assert (meta.inboxLength, meta.historyLength, meta.generation) == (0, 9, 1)
    assert sorted(keys) == sorted([prefix + "metadata", prefix + "customStatus"] + [prefix + f"history-{i:06d}" for i in range(9)])
    events = [history.HistoryEvent.FromString(wf_stack.redis.hget(prefix + f"history-{i:06d}", "data")) for i in range(9)]
    assert [e.WhichOneof("eventType") for e in events] == [
        "workflowStarted", "executionStarted", "taskScheduled",
        "workflowStarted", "taskCompleted", "taskScheduled",
        "workflowStarted", "taskCompleted", "executionCompleted",
    ]
    # As daprd writes them: every event but WorkflowStarted carries router {sourceAppID: app}
    # (durabletask-go's applier stamps each action; results carry their TaskScheduled's), and
    # execution ids are dashed UUIDs.
    assert [e.router.sourceAppID for e in events if not e.HasField("workflowStarted")] == ["wfapp"] * 6
    assert not any(e.HasField("router") for e in events if e.HasField("workflowStarted"))
    assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", events[1].executionStarted.workflowInstance.executionId.value)
    # Each save rewrites metadata (create, 3 turns, 2 activity results = 6); customStatus is
    # written only by saves that change the history (the 3 turns).
    versions = {k.rsplit("||", 1)[1]: wf_stack.redis.hget(k, "version") for k in keys}
    assert (versions["metadata"], versions["customStatus"], versions["history-000000"]) == (b"6", b"3", b"1")


def test_H_metadata_while_a_worker_is_connected(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    """daprd registers its three internal workflow actor types while a worker is connected."""
    import httpx

    doc = httpx.get(f"http://127.0.0.1:{wf_stack.sidecar.http_port}/v1.0/metadata").json()
    assert doc["workflows"] == {"connectedWorkers": 1}
    assert sorted(a["type"] for a in doc["actors"]) == [f"dapr.internal.default.wfapp.{k}" for k in ("activity", "retentioner", "workflow")]


def test_H_a_row_declared_in_metadata_but_missing_is_an_error(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    """daprd 1.18.2 refuses a workflow whose metadata declares rows the store does not return
    (LoadWorkflowState: "... declared in metadata ... but missing from state store (transient
    store read failure or partial save?)", gRPC UNKNOWN) instead of answering a truncated
    history. A status read racing a save can meet it on daprd (notebook 06 asks again)."""
    from localdapr.workflow.protos import backend, service, service_grpc

    app = wf_stack.sidecar.app_id
    for kind, meta in (("inbox", backend.BackendWorkflowStateMetadata(inboxLength=1, historyLength=0, generation=1)),
                       ("history", backend.BackendWorkflowStateMetadata(inboxLength=0, historyLength=2, generation=1))):
        iid = f"torn-{kind}-{uuid.uuid4().hex[:6]}"
        key = f"{app}||dapr.internal.default.{app}.workflow||{iid}||metadata"
        wf_stack.redis.hset(key, mapping={"data": meta.SerializeToString(), "version": "1"})
        stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{wf_stack.sidecar.grpc_port}"))
        with pytest.raises(grpc.RpcError) as err:
            stub.GetInstance(service.GetInstanceRequest(instanceId=iid), timeout=30)
        length = 1 if kind == "inbox" else 2
        assert (err.value.code(), err.value.details()) == (
            grpc.StatusCode.UNKNOWN,
            f"workflow '{iid}': {kind} key '{kind}-000000' declared in metadata ({kind}Length={length}) "
            "but missing from state store (transient store read failure or partial save?)")
        wf_stack.redis.delete(key)


def test_H_pending_instance_rows(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    """A created instance that has not run yet: its start event in inbox-000000 (no router
    yet: daprd stamps it when the first turn runs) and metadata; no customStatus row."""
    from datetime import datetime, timedelta, timezone

    from localdapr.workflow.protos import backend, history

    later = datetime.now(timezone.utc) + timedelta(hours=1)
    instance = wf_stack.workflow_client().schedule_new_workflow("chain", instance_id=iid(), start_at=later)
    prefix = f"wfapp||dapr.internal.default.wfapp.workflow||{instance}||"
    assert wf_stack.workflow_keys(instance) == [prefix + "inbox-000000", prefix + "metadata"]
    meta = backend.BackendWorkflowStateMetadata.FromString(wf_stack.redis.hget(prefix + "metadata", "data"))
    assert (meta.inboxLength, meta.historyLength, meta.generation) == (1, 0, 1)
    start = history.HistoryEvent.FromString(wf_stack.redis.hget(prefix + "inbox-000000", "data"))
    assert start.HasField("executionStarted") and not start.HasField("router")
    assert start.executionStarted.scheduledStartTimestamp.seconds == int(later.timestamp())
    assert wf_stack.workflow_client().get_workflow_state(instance).runtime_status == wf.WorkflowStatus.PENDING


def test_H_fan_out_fan_in(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    # 150 activities start together: more than the Redis pool (10 per CPU) and than redis-py's
    # default pool limit (100), so the steps must queue for connections rather than fail.
    state = run(wf_stack, "fanout", 150)
    assert json.loads(state.serialized_output) == sum(i * i for i in range(150))


def test_H_durable_timer(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    import time

    started = time.monotonic()
    state = run(wf_stack, "timer", 1.0)
    assert json.loads(state.serialized_output) == "woke"
    assert time.monotonic() - started >= 0.95


def test_H3_4_external_event(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    client = wf_stack.workflow_client()
    instance = client.schedule_new_workflow("approval", instance_id=iid())
    client.wait_for_workflow_start(instance, timeout_in_seconds=10)
    assert client.get_workflow_state(instance).runtime_status == wf.WorkflowStatus.RUNNING
    client.raise_workflow_event(instance, "approve", data=True)
    state = client.wait_for_workflow_completion(instance, timeout_in_seconds=10)
    assert json.loads(state.serialized_output) == {"approved": True}
    with pytest.raises(grpc.RpcError) as err:  # durabletask-go's ErrInstanceNotFound: UNKNOWN on daprd
        client.raise_workflow_event("never-started", "approve", data=True)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, "no such instance exists")


def test_H_child_workflows(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    state = run(wf_stack, "parent")
    assert json.loads(state.serialized_output) == 25
    client = wf_stack.workflow_client()
    child = client.get_workflow_state(f"{state.instance_id}-explicit")
    assert child is not None and child.runtime_status == wf.WorkflowStatus.COMPLETED
    from localdapr.workflow.protos import history

    prefix = f"wfapp||dapr.internal.default.wfapp.workflow||{state.instance_id}||history-"
    rows = [history.HistoryEvent.FromString(wf_stack.redis.hget(k, "data")) for k in wf_stack.redis.keys(prefix + "*")]
    children = sorted(e.childWorkflowInstanceCreated.instanceId for e in rows if e.HasField("childWorkflowInstanceCreated"))
    assert len(children) == 2 and f"{state.instance_id}-explicit" in children  # the other: <parent>:<action id, 4 hex>
    assert all(wf_stack.workflow_keys(c) for c in children)
    log = wf_stack.sidecar.process.log_path.read_text(errors="replace")
    for instance in (state.instance_id, *children):  # durabletask-go logs every start, a child's too, as its first turn runs
        name = "parent" if instance == state.instance_id else "child"
        assert f"{instance}: starting new '{name}' instance with ID = '{instance}'." in log, instance
    client.purge_workflow(state.instance_id)  # recursive by default: the children go too
    for instance in (state.instance_id, *children):
        assert client.get_workflow_state(instance) is None and wf_stack.workflow_keys(instance) == [], instance


def test_H_activity_retry_policy(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    key = uuid.uuid4().hex
    state = run(wf_stack, "retrying", key)
    assert json.loads(state.serialized_output) == "ok after 3" and calls[key] == 3


def test_H_failed_workflow_reports_status_and_details(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    state = run(wf_stack, "failing")
    assert state.runtime_status == wf.WorkflowStatus.FAILED
    assert state.failure_details is not None and "kaboom" in state.failure_details.message


def test_H_continue_as_new(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    state = run(wf_stack, "counter", 0)
    assert json.loads(state.serialized_output) == 3
    from localdapr.workflow.protos import backend, history

    prefix = f"wfapp||dapr.internal.default.wfapp.workflow||{state.instance_id}||"
    meta = backend.BackendWorkflowStateMetadata.FromString(wf_stack.redis.hget(prefix + "metadata", "data"))
    # daprd runs continue-as-new in a tight loop inside one turn (durabletask-go's
    # workflowProcessor) and adds 1 to the generation per turn that continued as new, not per
    # restart: after three restarts in the first turn, generation 2, and the history holds the
    # last execution only (WorkflowStarted, ExecutionStarted, ExecutionCompleted).
    assert (meta.generation, meta.historyLength, meta.inboxLength) == (2, 3, 0)
    kinds = [history.HistoryEvent.FromString(wf_stack.redis.hget(prefix + f"history-{i:06d}", "data")).WhichOneof("eventType") for i in range(3)]
    assert kinds == ["workflowStarted", "executionStarted", "executionCompleted"]


def test_H3_4_terminate_suspend_resume_purge(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    client = wf_stack.workflow_client()
    paused = client.schedule_new_workflow("approval", instance_id=iid())
    client.wait_for_workflow_start(paused, timeout_in_seconds=10)
    client.pause_workflow(paused)
    assert client.get_workflow_state(paused).runtime_status == wf.WorkflowStatus.SUSPENDED
    client.raise_workflow_event(paused, "approve", data="while paused")
    client.resume_workflow(paused)
    state = client.wait_for_workflow_completion(paused, timeout_in_seconds=10)
    assert json.loads(state.serialized_output) == {"approved": "while paused"}

    doomed = client.schedule_new_workflow("approval", instance_id=iid())
    client.wait_for_workflow_start(doomed, timeout_in_seconds=10)
    client.terminate_workflow(doomed, output="stopped")
    state = client.get_workflow_state(doomed)
    assert state.runtime_status == wf.WorkflowStatus.TERMINATED
    assert wf_stack.workflow_keys(doomed)
    client.purge_workflow(doomed)
    assert wf_stack.workflow_keys(doomed) == []
    assert client.get_workflow_state(doomed) is None


def test_H3_1_reusing_an_active_instance_id_fails(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    client = wf_stack.workflow_client()
    instance = client.schedule_new_workflow("approval", instance_id=iid())
    with pytest.raises(grpc.RpcError) as err:
        client.schedule_new_workflow("approval", instance_id=instance)
    assert err.value.code() == grpc.StatusCode.ALREADY_EXISTS  # daprd 1.18.2's exact answer:
    assert err.value.details() == (
        f"failed to create workflow instance: rpc error: code = AlreadyExists desc = an active workflow with ID '{instance}' already exists"
    )
    client.terminate_workflow(instance)
    # a finished instance id can be started again
    client.schedule_new_workflow("chain", instance_id=instance)
    assert client.wait_for_workflow_completion(instance, timeout_in_seconds=10).runtime_status == wf.WorkflowStatus.COMPLETED


def test_H3_7_http_routes(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    import time

    import httpx

    base = f"http://127.0.0.1:{wf_stack.sidecar.http_port}/v1.0/workflows/dapr"
    r = httpx.post(f"{base}/approval/start?instanceID=http-1", content=b'"x"')
    assert r.status_code == 202 and r.json() == {"instanceID": "http-1"}
    assert httpx.post(f"{base}/http-1/raiseEvent/approve", json="yes").status_code == 202
    deadline = time.monotonic() + 10
    while httpx.get(f"{base}/http-1").json()["runtimeStatus"] != "COMPLETED":
        assert time.monotonic() < deadline
        time.sleep(0.05)
    doc = httpx.get(f"{base}/http-1").json()
    assert doc["workflowName"] == "approval" and json.loads(doc["properties"]["dapr.workflow.output"]) == {"approved": "yes"}
    assert httpx.post(f"{base}/http-1/purge").status_code == 202
    missing = httpx.get(f"{base}/http-1")
    assert missing.status_code == 404 and missing.json()["errorCode"] == "ERR_INSTANCE_ID_NOT_FOUND"


def test_H3_7_errors_for_unknown_and_running_instances(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    """daprd 1.18.2's exact answers, HTTP and gRPC, for calls on an instance that does not exist
    and for purging one that is still running (404s include Go's "%!(EXTRA ...)": daprd passes
    two arguments to a one-%s message)."""
    import httpx

    from localdapr.workflow.protos import service, service_grpc

    base = f"http://127.0.0.1:{wf_stack.sidecar.http_port}/v1.0/workflows/dapr"
    missing = "unable to find workflow with the provided instance ID: nope"
    expected = {
        "raiseEvent/go": (500, "ERR_RAISE_EVENT_WORKFLOW",
                          "error raising event on workflow 'nope': failed to raise event go on workflow nope: failed to raise event: no such instance exists"),
        "terminate": (404, "ERR_INSTANCE_ID_NOT_FOUND", missing + "%!(EXTRA *fmt.wrapError=failed to submit termination request:: no such instance exists)"),
        "pause": (500, "ERR_PAUSE_WORKFLOW", "error pausing workflow nope: failed to pause workflow nope: failed to suspend workflow: no such instance exists"),
        "resume": (500, "ERR_RESUME_WORKFLOW", "error resuming workflow nope: failed to resume workflow nope: failed to resume workflow: no such instance exists"),
        "purge": (404, "ERR_INSTANCE_ID_NOT_FOUND",
                  missing + "%!(EXTRA *fmt.wrapError=failed to purge workflow state: failed to fetch workflow state: no such instance exists)"),
    }
    for path, (status, code, message) in expected.items():
        r = httpx.post(f"{base}/nope/{path}", timeout=30)
        assert (r.status_code, r.json()) == (status, {"errorCode": code, "message": message}), path

    client = wf_stack.workflow_client()
    running = client.schedule_new_workflow("approval", instance_id=iid())
    r = httpx.post(f"{base}/{running}/purge", timeout=30)
    assert (r.status_code, r.json()) == (500, {
        "errorCode": "ERR_PURGE_WORKFLOW",
        "message": f"error purging workflow {running}: failed to Purge workflow {running}: failed to purge workflow state: orchestration has not yet completed",
    })
    stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{wf_stack.sidecar.grpc_port}"))
    for instance, details in (
        (running, "failed to purge workflow state: orchestration has not yet completed"),
        ("nope", "failed to purge workflow state: failed to fetch workflow state: no such instance exists"),
    ):
        with pytest.raises(grpc.RpcError) as err:
            stub.PurgeInstances(service.PurgeInstancesRequest(instanceId=instance, recursive=True), timeout=30)
        assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, details)
    with pytest.raises(grpc.RpcError) as err:
        stub.TerminateInstance(service.TerminateRequest(instanceId="nope"), timeout=30)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNKNOWN, "failed to submit termination request: no such instance exists")
    client.terminate_workflow(running)


NOT_CONFIGURED = (  # daprd 1.18.2's messages.ErrActorRuntimeNotFound, as it answers it
    'the state store is not configured to use the actor runtime. Have you set the - name: actorStateStore value: "true" '
    "in your state store component file?"
)


def test_H1_1_without_an_actor_store_workflows_fail_clearly(tmp_path, redis_server, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    """What daprd 1.18.2 does without an ``actorStateStore`` component: it starts, accepts a
    worker, and every call on workflow state fails with INTERNAL naming actorStateStore. A start
    made while no worker is connected waits for one (daprd registers its workflow actors only
    while a GetWorkItems stream is open) and then gets the same error."""
    import httpx

    from cookbook.processes import wait_until
    from localdapr.workflow.protos import service, service_grpc
    from tests.conformance.conftest import component

    (tmp_path / "s.yaml").write_text(component("plain", "state.redis", {"redisHost": redis_server.address}))
    sidecar = sidecar_factory("no-actor-store", tmp_path)
    stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}"))
    with pytest.raises(grpc.RpcError) as err:
        stub.GetInstance(service.GetInstanceRequest(instanceId="x"), timeout=30)
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.INTERNAL, NOT_CONFIGURED)
    started_log = sidecar.process.log_path.read_text()  # daprd's two start lines (runtime.go, actors.go)
    assert "actors: state store is not configured - this is okay for clients but services with hosted actors will fail to initialize!" in started_log
    assert "Actor state store not configured - actor hosting disabled, but invocation enabled" in started_log

    with pytest.raises(grpc.RpcError) as err:  # no worker: the start waits; only the deadline ends it
        stub.StartInstance(service.CreateInstanceRequest(instanceId="x", name="chain"), timeout=2)
    assert err.value.code() == grpc.StatusCode.DEADLINE_EXCEEDED

    from concurrent.futures import ThreadPoolExecutor

    rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(sidecar.grpc_port))

    @rt.workflow(name="chain")
    def chain(ctx, _):  # type: ignore[no-untyped-def]
        return None
    metadata = f"http://127.0.0.1:{sidecar.http_port}/v1.0/metadata"
    assert not {"workflows", "actors"} & set(httpx.get(metadata).json())  # no worker: no workflow actors
    with ThreadPoolExecutor(1) as pool:
        waiting = pool.submit(stub.StartInstance, service.CreateInstanceRequest(instanceId="y", name="chain"), timeout=120)
        try:
            rt.start()  # the waiting start now gets its answer
            wait_until(lambda: httpx.get(metadata).json().get("workflows", {}).get("connectedWorkers") == 1, timeout=30)
            with pytest.raises(grpc.RpcError) as err:
                waiting.result(timeout=60)
            assert err.value.code() == grpc.StatusCode.INTERNAL
            assert err.value.details() == "failed to create workflow instance: api error: code = Internal desc = " + NOT_CONFIGURED
            client = wf.DaprWorkflowClient(host="127.0.0.1", port=str(sidecar.grpc_port))
            with pytest.raises(grpc.RpcError, match="actorStateStore"):
                client.schedule_new_workflow("chain", instance_id="z")
            started = httpx.post(f"http://127.0.0.1:{sidecar.http_port}/v1.0/workflows/dapr/chain/start?instanceID=h", timeout=60)
            assert started.status_code == 500 and started.json() == {
                "errorCode": "ERR_START_WORKFLOW",
                "message": "error starting workflow 'chain': unable to start workflow: failed to start workflow: "
                           "api error: code = Internal desc = " + NOT_CONFIGURED,
            }
            got = httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/workflows/dapr/h", timeout=60)
            assert got.status_code == 500 and got.json() == {
                "errorCode": "ERR_GET_WORKFLOW",
                "message": "error while getting workflow info on instance 'h': failed to get workflow metadata for 'h': "
                           "failed to fetch workflow metadata: api error: code = Internal desc = " + NOT_CONFIGURED,
            }
        finally:
            rt.shutdown()


def test_H3_3_waits_end_only_at_the_callers_deadline(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    """daprd 1.18.2 answers WaitForInstanceStart/Completion only when the condition holds: the
    caller's deadline ends the wait (DEADLINE_EXCEEDED, which the SDK raises as TimeoutError),
    an instance that does not exist yet is waited for (its workflow actor registers the status
    stream), and a caller that cancels is simply gone."""
    from concurrent.futures import ThreadPoolExecutor
    from datetime import datetime, timedelta, timezone

    from localdapr.workflow.protos import service, service_grpc

    def ends_at_the_deadline(wait, instance: str) -> None:  # type: ignore[no-untyped-def]
        """No answer before the deadline: the SDK's TimeoutError. daprd's server resets the
        stream at the deadline, and when that reset beats the client's own timer (about 1 call
        in 8 here) the SDK passes on CANCELLED "Stream removed (RST_STREAM ...)" instead."""
        try:
            state = wait(instance, timeout_in_seconds=1)
        except TimeoutError:
            return
        except grpc.RpcError as err:
            assert wf_stack.runtime == "daprd" and err.code() == grpc.StatusCode.CANCELLED and "RST_STREAM" in err.details(), err
            return
        pytest.fail(f"answered before the deadline: {state}")

    client = wf_stack.workflow_client()
    waiting = client.schedule_new_workflow("approval", instance_id=iid())
    ends_at_the_deadline(client.wait_for_workflow_completion, waiting)
    later = client.schedule_new_workflow("approval", instance_id=iid(), start_at=datetime.now(timezone.utc) + timedelta(hours=1))
    ends_at_the_deadline(client.wait_for_workflow_start, later)
    ends_at_the_deadline(client.wait_for_workflow_completion, iid())  # not created yet: no "does not exist" answer

    stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{wf_stack.sidecar.grpc_port}"))
    cancelled = [stub.WaitForInstanceCompletion.future(service.GetInstanceRequest(instanceId=waiting), timeout=60) for _ in range(5)]
    for call in cancelled:
        call.cancel()
    assert all(call.cancelled() for call in cancelled)

    future_id = iid()
    with ThreadPoolExecutor(1) as pool:  # a wait on an id nobody has started yet
        early = pool.submit(client.wait_for_workflow_completion, future_id, timeout_in_seconds=60)
        client.schedule_new_workflow("approval", instance_id=future_id)
        client.wait_for_workflow_start(future_id, timeout_in_seconds=10)
        client.raise_workflow_event(future_id, "approve", data="late")
        state = early.result(timeout=60)
    assert state is not None and json.loads(state.serialized_output) == {"approved": "late"}
    client.raise_workflow_event(waiting, "approve", data="after cancels")
    assert json.loads(client.wait_for_workflow_completion(waiting, timeout_in_seconds=30).serialized_output) == {"approved": "after cancels"}
    client.terminate_workflow(later)


@local_only("the local sidecar's reminder keys; daprd's are Scheduler jobs (its debug log shows the same deletes)")
def test_H_event_wait_timers_are_deleted_as_daprd_deletes_them(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    """The SDK arms a year-9999 timer for a wait_for_external_event without timeout; daprd
    creates its reminder ('timer-<id>'), deletes it when the event answers the wait and the
    workflow goes on (deleteCancelledEventTimers), and deletes all of an instance's timer and
    activity reminders when it finishes with timers unfired (deleteAllReminders)."""
    from localdapr.workflow.reminders import Reminders

    zkey = Reminders(None, "wfapp").zkey  # type: ignore[arg-type]

    def timers(instance: str) -> list[str]:
        return sorted(k.decode() for k in wf_stack.redis.zrange(zkey, 0, -1) if k.decode().startswith(f"timer||{instance}||"))

    client = wf_stack.workflow_client()
    for name in ("approval", "twice"):
        instance = client.schedule_new_workflow(name, instance_id=iid())
        client.wait_for_workflow_start(instance, timeout_in_seconds=10)
        from cookbook.processes import wait_until

        wait_until(lambda: timers(instance) == [f"timer||{instance}||1||1"], timeout=30)
        client.raise_workflow_event(instance, "approve", data=1)
        if name == "twice":  # the first wait's timer goes, the second wait's timer is armed
            wait_until(lambda: timers(instance) == [f"timer||{instance}||2||1"], timeout=30)
            client.raise_workflow_event(instance, "approve", data=2)
        client.wait_for_workflow_completion(instance, timeout_in_seconds=30)
        assert timers(instance) == []
    doomed = client.schedule_new_workflow("approval", instance_id=iid())
    wait_until(lambda: timers(doomed) != [], timeout=30)
    client.terminate_workflow(doomed)
    assert timers(doomed) == []


def test_H_get_instance_payloads_only_when_asked(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    """durabletask-go's createGetInstanceResponse: input, output, custom status and failure
    details only with getInputsAndOutputs."""
    from localdapr.workflow.protos import service, service_grpc

    state = run(wf_stack, "with_status", 7)
    stub = service_grpc.TaskHubSidecarServiceStub(grpc.insecure_channel(f"127.0.0.1:{wf_stack.sidecar.grpc_port}"))
    bare = stub.GetInstance(service.GetInstanceRequest(instanceId=state.instance_id), timeout=30).workflowState
    full = stub.GetInstance(service.GetInstanceRequest(instanceId=state.instance_id, getInputsAndOutputs=True), timeout=30).workflowState
    assert [f.name for f, _ in bare.ListFields() if f.name in ("input", "output", "customStatus")] == []
    assert (full.input.value, full.output.value, full.customStatus.value) == ("7", "7", "working")
    failed = run(wf_stack, "failing")
    bare = stub.GetInstance(service.GetInstanceRequest(instanceId=failed.instance_id), timeout=30).workflowState
    full = stub.GetInstance(service.GetInstanceRequest(instanceId=failed.instance_id, getInputsAndOutputs=True), timeout=30).workflowState
    assert not bare.HasField("failureDetails") and "kaboom" in full.failureDetails.errorMessage


def test_H3_7_http_get_properties(wf_stack: WorkflowStack, runtime: wf.WorkflowRuntime) -> None:
    """daprd's GET /v1.0/workflows/dapr/<id> properties (wfengine/client.go): input, output and
    custom status when the instance has them, the failure's type, message and stack trace."""
    import httpx

    base = f"http://127.0.0.1:{wf_stack.sidecar.http_port}/v1.0/workflows/dapr"
    def props(name: str, arg: object) -> dict[str, str]:
        return httpx.get(f"{base}/{run(wf_stack, name, arg).instance_id}", timeout=30).json()["properties"]

    assert props("chain", None) == {"dapr.workflow.output": '["Hello a", "Hello b"]'}
    assert props("with_status", 7) == {"dapr.workflow.custom_status": "working", "dapr.workflow.input": "7", "dapr.workflow.output": "7"}
    failed = props("failing", None)
    assert sorted(failed) == ["dapr.workflow.failure.error_message", "dapr.workflow.failure.error_type", "dapr.workflow.failure.stack_trace"]
    assert failed["dapr.workflow.failure.error_type"] == "TaskFailedError" and "kaboom" in failed["dapr.workflow.failure.error_message"]
