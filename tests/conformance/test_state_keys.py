"""cookbook/keys.py computes the Redis key the sidecar really writes, on daprd and on localdapr.

Every keyPrefix strategy (appid, name, namespace, none, a custom prefix with capitals, which daprd
lower-cases), with the sidecar's NAMESPACE unset (self-hosted default) and set, for state API
keys and for a workflow's actor-state rows (whose actor type carries the namespace).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import dapr.ext.workflow as wf
import pytest

from cookbook import keys
from cookbook.ports import free_port_block
from cookbook.redis_server import RedisServer
from cookbook.services import use_sidecar_in_this_process
from cookbook.sidecar import Sidecar
from tests.conformance.conftest import component

APP = "keyapp"
STORES = {"wf": None, "byname": "name", "byns": "namespace", "shared": "none", "custom": "Acme-Shared"}


@pytest.fixture(scope="module", params=["", "tenant-a"], ids=["namespace-unset", "namespace-set"])
def stack(request: pytest.FixtureRequest, dapr_runtime: str) -> Iterator[tuple[Sidecar, object, str]]:
    namespace = request.param
    tmp = Path(tempfile.mkdtemp(prefix="state-keys-"))
    ports = free_port_block(20)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    folder = tmp / "resources"
    folder.mkdir()
    docs = []
    for name, prefix in STORES.items():
        meta = {"redisHost": server.address, **({"keyPrefix": prefix} if prefix else {}), **({"actorStateStore": "true"} if name == "wf" else {})}
        docs.append(component(name, "state.redis", meta))
    (folder / "stores.yaml").write_text("---\n".join(docs))
    sidecar = Sidecar(APP, [folder], ports, tmp / "run", runtime=dapr_runtime, env={"NAMESPACE": namespace} if namespace else {})
    try:
        sidecar.start()
        use_sidecar_in_this_process(sidecar)
        yield sidecar, server.client(), namespace
    finally:
        sidecar.stop()
        server.stop()
        ports.release()
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.mark.parametrize("store", list(STORES))
def test_state_key_is_what_the_sidecar_writes(stack: tuple[Sidecar, object, str], store: str) -> None:
    from dapr.clients import DaprClient

    sidecar, r, namespace = stack
    key = f"order-{store}"
    with DaprClient(address=f"127.0.0.1:{sidecar.grpc_port}") as client:
        client.save_state(store, key, json.dumps({"store": store}))
    written = sorted(k.decode() for k in r.scan_iter(match=f"*{key}") if json.loads(r.hget(k, "data")) == {"store": store})
    computed = keys.state_key(key, app_id=APP, store=store, key_prefix=STORES[store] or "appid", namespace=namespace)
    assert written == [computed]
    assert keys.original_key(computed) == key


def test_illegal_key_is_refused_with_the_sidecars_words(stack: tuple[Sidecar, object, str]) -> None:
    from dapr.clients import DaprClient

    sidecar, _, _ = stack
    with DaprClient(address=f"127.0.0.1:{sidecar.grpc_port}") as client, pytest.raises(Exception) as refused:
        client.save_state("wf", "a||b", "x")
    with pytest.raises(keys.IllegalKey) as computed:
        keys.state_key("a||b", app_id=APP, store="wf")
    assert str(computed.value) in str(refused.value)


def test_workflow_rows_are_what_the_sidecar_writes(stack: tuple[Sidecar, object, str]) -> None:
    from localdapr.workflow.protos import backend

    sidecar, r, namespace = stack
    rt = wf.WorkflowRuntime(host="127.0.0.1", port=str(sidecar.grpc_port))

    @rt.activity(name="shout")
    def shout(ctx, text: str) -> str:
        return text.upper()

    @rt.workflow(name="chain")
    def chain(ctx, _):
        return (yield ctx.call_activity(shout, input="a"))

    rt.start()
    try:
        client = wf.DaprWorkflowClient(host="127.0.0.1", port=str(sidecar.grpc_port))
        client.schedule_new_workflow(chain, input=None, instance_id="keys-1")
        state = client.wait_for_workflow_completion("keys-1", timeout_in_seconds=60)
        assert state is not None and state.runtime_status == wf.WorkflowStatus.COMPLETED
    finally:
        rt.shutdown()
    written = sorted(k.decode() for k in r.scan_iter(match="*||keys-1||*"))
    meta_key = keys.workflow_keys(APP, "keys-1", history=0, custom_status=False, namespace=namespace)[0]
    meta = backend.BackendWorkflowStateMetadata.FromString(r.hget(meta_key, "data"))
    assert sorted(keys.workflow_keys(APP, "keys-1", history=meta.historyLength, inbox=meta.inboxLength, namespace=namespace)) == written
    assert all(f".{namespace or 'default'}.{APP}.workflow||" in k for k in written)
    assert {keys.decode(k).family for k in written} == {"workflow metadata", "workflow customStatus", "workflow history"}


def test_orphan_scan_removes_orphans_and_keeps_a_key_written_meanwhile(stack: tuple[Sidecar, object, str]) -> None:
    """The ETag guard of cookbook/orphans.py against the real sidecar: an entry rewritten between
    the scan's read and its delete stays (the delete fails with the sidecar's ETag mismatch)."""
    from dapr.clients import DaprClient

    from cookbook.orphans import find_orphans, remove_orphans

    sidecar, r, _ = stack
    stores = {"agent per-run entry": "wf", "agent memory": "wf"}
    with DaprClient(address=f"127.0.0.1:{sidecar.grpc_port}") as client:
        for instance in ("gone-1", "racing-1", "alive-1"):
            client.save_state("wf", keys.agent_entry_key("Scout", instance), json.dumps({"messages": []}))
        client.save_state("wf", keys.agent_memory_key("Scout", "gone-1"), json.dumps([]))

        def exists(instance: str) -> bool:
            if instance == "racing-1":  # a run writes the entry after the scan read it
                client.save_state("wf", keys.agent_entry_key("Scout", instance), json.dumps({"messages": ["new"]}))
            return instance == "alive-1"

        orphans = find_orphans(r, APP, stores=stores, workflow_exists=lambda i: i == "alive-1")
        outcome = remove_orphans(client, orphans, exists)
        racing = client.get_state("wf", keys.agent_entry_key("Scout", "racing-1")).data
    entry = {i: keys.state_key(keys.agent_entry_key("Scout", i), app_id=APP, store="wf") for i in ("gone-1", "racing-1", "alive-1")}
    memory = keys.state_key(keys.agent_memory_key("Scout", "gone-1"), app_id=APP, store="wf")
    assert sorted(o.redis_key for o in orphans) == sorted([entry["gone-1"], entry["racing-1"], memory])
    assert sorted(outcome["removed"]) == sorted([entry["gone-1"], memory]) and outcome["kept"] == [entry["racing-1"]]
    assert json.loads(racing) == {"messages": ["new"]} and r.exists(entry["alive-1"])
