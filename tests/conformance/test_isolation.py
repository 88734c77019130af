"""Scoping and isolation (notebook 05), on both runtimes: component scopes, the four keyPrefix
strategies with and without ``NAMESPACE``, secret scopes from ``--config``, and two sidecars
serving the SAME app id in two namespaces on one Redis, workflows included.

The expected answers are daprd 1.18.2's, seen by running it with
``components/05-state-store-scoping`` (and read in dapr's ``pkg/components/state/state_config.go``:
``namespace`` falls back to the app id when ``NAMESPACE`` is empty).
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Iterator

import dapr.ext.workflow as wf
import grpc
import pytest
from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2

from cookbook.ports import free_port_block
from cookbook.processes import ManagedProcess
from cookbook.tenancy import Tenancy

ROOT = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("ns_worker.py")
NOT_FOUND = {
    "errorCode": "ERR_STATE_STORE_NOT_FOUND",
    "message": "state store privatestore is not found",
    "details": [{"@type": "type.googleapis.com/google.rpc.ErrorInfo", "domain": "dapr.io",
                 "metadata": {"appID": "app-b"}, "reason": "DAPR_STATE_NOT_FOUND"}],
}


@pytest.fixture(scope="module")
def tenancy(dapr_runtime: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tenancy]:
    t = Tenancy(5, tmp_path_factory.mktemp("isolation") / "run", runtime=dapr_runtime, ports=free_port_block())
    try:
        t.start({"billing-api-key": "bk-123"})
        t.sidecars_up({
            "app-a": {"app_id": "app-a", "folder": "apps", "config": "config-app-a.yaml"},
            "app-b": {"app_id": "app-b", "folder": "apps"},
            "acme": {"app_id": "agents", "folder": "tenant", "namespace": "acme"},
            "globex": {"app_id": "agents", "folder": "tenant", "namespace": "globex"},
        })
        yield t
    finally:
        t.stop()
        assert t.ports is not None
        t.ports.release()


def test_a_scoped_store_is_not_found_by_another_app(tenancy: Tenancy) -> None:
    assert tenancy.call("app-a", "POST", "/state/privatestore", json=[{"key": "k", "value": "a"}]).status_code == 204
    for method, path, body in (("POST", "/state/privatestore", [{"key": "k", "value": "b"}]), ("GET", "/state/privatestore/k", None),
                               ("DELETE", "/state/privatestore/k", None), ("POST", "/state/privatestore/transaction", {"operations": []})):
        answer = tenancy.call("app-b", method, path, json=body)
        assert (answer.status_code, answer.json()) == (400, NOT_FOUND), (method, path)
    with grpc.insecure_channel(f"127.0.0.1:{tenancy.sidecars['app-b'].grpc_port}") as channel:
        with pytest.raises(grpc.RpcError) as err:
            dapr_pb2_grpc.DaprStub(channel).GetState(state_pb2.GetStateRequest(store_name="privatestore", key="k"))
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.INVALID_ARGUMENT, "state store privatestore is not found")
    names = {c["name"] for c in tenancy.call("app-b", "GET", "/metadata").json()["components"]}
    assert "privatestore" not in names and "appidstore" in names


def test_key_prefixes_without_namespace(tenancy: Tenancy) -> None:
    r = tenancy.redis.client()
    for store in ("appidstore", "namestore", "sharedstore"):
        for app in ("app-a", "app-b"):
            assert tenancy.call(app, "POST", f"/state/{store}", json=[{"key": f"{store}-key", "value": app}]).status_code == 204
    assert sorted(k.decode() for k in r.keys("*appidstore-key")) == ["app-a||appidstore-key", "app-b||appidstore-key"]
    assert [k.decode() for k in r.keys("*namestore-key")] == ["namestore||namestore-key"]
    assert [k.decode() for k in r.keys("*sharedstore-key")] == ["sharedstore-key"]
    assert tenancy.call("app-a", "GET", "/state/namestore/namestore-key").json() == "app-b"  # one key, last writer wins


def test_namespace_prefix_falls_back_to_the_app_id_when_namespace_is_unset(tenancy: Tenancy) -> None:
    """dapr/dapr#4676's strategy in self-hosted mode without NAMESPACE: ``<app-id>||key``, the
    very key ``appid`` gives: the two stores overwrite each other."""
    assert tenancy.call("app-a", "POST", "/state/appidstore", json=[{"key": "same", "value": "via appid"}]).status_code == 204
    assert tenancy.call("app-a", "POST", "/state/nsstore", json=[{"key": "same", "value": "via namespace"}]).status_code == 204
    assert [k.decode() for k in tenancy.redis.client().keys("*same")] == ["app-a||same"]
    assert tenancy.call("app-a", "GET", "/state/appidstore/same").json() == "via namespace"


def test_namespace_prefix_separates_two_tenants_with_the_same_app_id(tenancy: Tenancy) -> None:
    for tenant in ("acme", "globex"):
        for store in ("agentstatestore", "agentregistry"):
            assert tenancy.call(tenant, "POST", f"/state/{store}", json=[{"key": "profile", "value": tenant}]).status_code == 204
    assert sorted(k.decode() for k in tenancy.redis.client().keys("*profile")) == ["acme.agents||profile", "globex.agents||profile"]
    assert [tenancy.call(t, "GET", "/state/agentstatestore/profile").json() for t in ("acme", "globex")] == ["acme", "globex"]


def test_secret_scopes_from_config(tenancy: Tenancy) -> None:
    password = tenancy.redis.password or ""
    assert tenancy.call("app-a", "GET", "/secrets/tenantsecrets/redis-password").json() == {"redis-password": password}
    denied = tenancy.call("app-a", "GET", "/secrets/tenantsecrets/billing-api-key")
    assert (denied.status_code, denied.json()) == (403, {
        "errorCode": "ERR_PERMISSION_DENIED", "message": 'access denied by policy to get "billing-api-key" from "tenantsecrets"'})
    assert tenancy.call("app-a", "GET", "/secrets/tenantsecrets/bulk").json() == {"redis-password": {"redis-password": password}}
    assert tenancy.call("app-b", "GET", "/secrets/tenantsecrets/bulk").text == (  # no --config: all, keys sorted as daprd's JSON
        '{"billing-api-key":{"billing-api-key":"bk-123"},"redis-password":{"redis-password":"%s"}}\n' % password)


def test_workflows_of_the_same_app_id_in_two_namespaces_stay_apart(tenancy: Tenancy) -> None:
    """Same workflow name, same instance id, one Redis: each namespace's worker runs only its
    own steps (the local sidecar keeps its reminders per namespace, as daprd's Scheduler does)."""
    workers: list[ManagedProcess] = []
    try:
        for tenant in ("acme", "globex"):
            worker = tenancy.sidecars[tenant].app_process(f"worker-{tenant}", [sys.executable, str(WORKER)],
                                                          env={"TENANT": tenant, "PYTHONPATH": str(ROOT)})
            log = worker.log_path
            worker.ready = lambda w=worker, p=log: p.exists() and p.read_text().count("worker started") >= w.starts
            workers.append(worker.start())
        for worker in workers:
            worker.wait_ready(120)
        clients = {t: wf.DaprWorkflowClient(host="127.0.0.1", port=str(tenancy.sidecars[t].grpc_port)) for t in ("acme", "globex")}
        for i in range(3):
            for tenant, client in clients.items():
                client.schedule_new_workflow("ask", input=f"q{i}", instance_id=f"same-{i}")
        for i in range(3):
            for tenant, client in clients.items():
                done = client.wait_for_workflow_completion(f"same-{i}", timeout_in_seconds=60)
                assert done is not None and done.runtime_status == wf.WorkflowStatus.COMPLETED, (tenant, i)
                assert done.serialized_output == f'"[{tenant}] [{tenant}] q{i}"'
        assert clients["acme"].get_workflow_state("only-in-globex") is None
        clients["globex"].schedule_new_workflow("ask", input="x", instance_id="only-in-globex")
        assert clients["globex"].wait_for_workflow_completion("only-in-globex", timeout_in_seconds=60).runtime_status == wf.WorkflowStatus.COMPLETED
        assert clients["acme"].get_workflow_state("only-in-globex") is None
        rows = {k.decode().split("||")[1] for k in tenancy.redis.client().keys("agents||dapr.internal.*||same-0||metadata")}
        assert rows == {"dapr.internal.acme.agents.workflow", "dapr.internal.globex.agents.workflow"}
    finally:
        for worker in workers:
            worker.terminate()
