"""Component types and loader input as daprd 1.18.2 takes them (spec A1-A2, issue 12).

Every resources folder here starts, or fails, identically on daprd and the local sidecar: types
daprd registers load (the local sidecar lists the ones it does not implement, says so once, and
answers their API with UNIMPLEMENTED / 501 naming them), and daprd's own messages for unknown
types, versions and categories, and for a document that is not a mapping.
"""

from __future__ import annotations

from pathlib import Path

import grpc
import httpx
import pytest

from cookbook.ports import PortBlock
from cookbook.redis_server import RedisServer
from tests.conformance.conftest import component
from tests.conformance.test_startup import flags, init_failure, sidecar_log
from tests.runtimes import local_only, run_sidecar_to_exit

def daprd_only_types(tmp: Path, redis_address: str) -> Path:
    """One component per building block the local sidecar does not implement (each with the
    metadata its daprd component needs to initialise), beside two it does."""
    tmp.mkdir(parents=True, exist_ok=True)
    (tmp / "keys").mkdir()
    (tmp / "files").mkdir()
    docs = [
        component("mem", "state.in-memory", {}),
        component("mempubsub", "pubsub.in-memory", {}),
        component("files", "bindings.localstorage", {"rootPath": str(tmp / "files")}),
        component("tick", "bindings.cron", {"schedule": "@every 1h"}),
        component("crypt", "crypto.dapr.localstorage", {"path": str(tmp / "keys")}),
        component("llm", "conversation.openai", {"key": "not-a-real-key"}),
        component("upper", "middleware.http.uppercase", {}),
        component("env", "secretstores.local.env", {}),
        component("configstore", "configuration.redis", {"redisHost": redis_address}),
    ]
    folder = tmp / "res"
    folder.mkdir()
    (folder / "all.yaml").write_text("---\n".join(docs))
    return folder


def metadata_components(sidecar) -> dict[str, dict[str, object]]:  # type: ignore[no-untyped-def]
    doc = httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/metadata").json()
    return {c["name"]: c for c in doc.get("components", [])}


def test_A2_8_a_folder_of_daprd_component_types_starts(tmp_path: Path, redis_server: RedisServer, sidecar_factory, dapr_runtime: str) -> None:  # type: ignore[no-untyped-def]
    sidecar = sidecar_factory("all-types", daprd_only_types(tmp_path / "t", redis_server.address), actors=False)
    listed = metadata_components(sidecar)
    assert {n: (c["type"], c["version"]) for n, c in listed.items()} == {
        "mem": ("state.in-memory", "v1"), "mempubsub": ("pubsub.in-memory", "v1"), "files": ("bindings.localstorage", "v1"),
        "tick": ("bindings.cron", "v1"), "crypt": ("crypto.dapr.localstorage", "v1"), "llm": ("conversation.openai", "v1"),
        "upper": ("middleware.http.uppercase", "v1"), "env": ("secretstores.local.env", "v1"), "configstore": ("configuration.redis", "v1"),
    }
    # bindings' capabilities follow from the registry; the local sidecar knows those too
    assert listed["files"]["capabilities"] == ["OUTPUT_BINDING"] and listed["tick"]["capabilities"] == ["INPUT_BINDING"]
    if dapr_runtime == "local":  # one line per component it does not implement, naming component and type
        log = sidecar_log(sidecar)
        for name, ctype in (("mem", "state.in-memory"), ("files", "bindings.localstorage"), ("upper", "middleware.http.uppercase")):
            assert log.count(f"localdapr does not implement {ctype}/v1 (component {name} in ") == 1


@local_only("checks the local sidecar's own 'does not implement' answers")
def test_unimplemented_component_apis_name_the_component(tmp_path: Path, redis_server: RedisServer, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    from dapr.proto.runtime.v1 import binding_pb2, crypto_pb2, dapr_pb2_grpc, state_pb2

    sidecar = sidecar_factory("unimpl", daprd_only_types(tmp_path / "t", redis_server.address), actors=False)
    with grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}") as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        for call, ctype, name in (
            (lambda: stub.GetState(state_pb2.GetStateRequest(store_name="mem", key="a")), "state.in-memory", "mem"),
            (lambda: stub.InvokeBinding(binding_pb2.InvokeBindingRequest(name="files", operation="create")), "bindings.localstorage", "files"),
            (lambda: stub.SubtleGetKeyAlpha1(crypto_pb2.SubtleGetKeyRequest(component_name="crypt", name="k")), "crypto.dapr.localstorage", "crypt"),
        ):
            with pytest.raises(grpc.RpcError) as info:
                call()
            assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED
            assert info.value.details() == f"localdapr does not implement {ctype}/v1 (component {name}); run daprd for it"
    base = f"http://127.0.0.1:{sidecar.http_port}"
    for method, path, ctype, name in (
        ("GET", "/v1.0/state/mem/a", "state.in-memory", "mem"),
        ("POST", "/v1.0/publish/mempubsub/topic", "pubsub.in-memory", "mempubsub"),
        ("POST", "/v1.0/bindings/tick", "bindings.cron", "tick"),
        ("PUT", "/v1.0-alpha1/crypto/crypt/encrypt", "crypto.dapr.localstorage", "crypt"),
        ("POST", "/v1.0-alpha2/conversation/llm/converse", "conversation.openai", "llm"),
    ):
        resp = httpx.request(method, base + path, json={})
        assert (resp.status_code, resp.json()) == (501, {
            "errorCode": "ERR_NOT_SUPPORTED_BY_LOCAL_SIDECAR", "message": f"localdapr does not implement {ctype}/v1 (component {name}); run daprd for it"})
    # a name that is not a loaded component keeps the generic answer; a state store's name is not a binding
    resp = httpx.post(base + "/v1.0/bindings/mem", json={})
    assert resp.status_code == 501 and "component mem" not in resp.json()["message"]


def test_A2_8_wrong_version_fails_as_on_daprd(ports: PortBlock, tmp_path: Path, dapr_runtime: str) -> None:
    (tmp_path / "v9.yaml").write_text(component("store", "state.redis", {"redisHost": "127.0.0.1:1"}).replace("version: v1", "version: v9"))
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, "a", tmp_path))
    assert out.returncode == 1
    who = "store (state.redis/v9)"
    assert (f"Fatal error from runtime: process component store error: [INIT_COMPONENT_FAILURE]: initialization error occurred for {who}: "
            f"[CREATE_COMPONENT_FAILURE]: initialization error occurred for {who}: couldn't find state store state.redis/v9") in out.stderr
    if dapr_runtime == "local":  # the addition says which versions daprd has
        assert "daprd 1.18.2 has state.redis in version(s) v1" in out.stderr


@pytest.mark.parametrize(
    ("ctype", "fatal"),
    [
        ("nameresolution.mdns", "process component c error: incorrect type nameresolution.mdns"),
        ("workflowbackend.actors", "process component c error: incorrect type workflowbackend.actors"),
        ("State.redis", "process component c error: incorrect type State.redis"),  # daprd's category match is case-sensitive
        ("bindings.nosuch", "process component c error: [INIT_COMPONENT_FAILURE]: initialization error occurred for c (bindings.nosuch/v1): couldn't find binding c (bindings.nosuch/v1)"),
        ("middleware.http.nosuch", init_failure("c", "middleware.http.nosuch", "process component c error: HTTP middleware middleware.http.nosuch/v1 has not been registered", inner="CREATE_COMPONENT_FAILURE").removeprefix("Fatal error from runtime: ")),
        ("lock.nosuch", init_failure("c", "lock.nosuch", "couldn't find lock store lock.nosuch/v1", inner="CREATE_COMPONENT_FAILURE").removeprefix("Fatal error from runtime: ")),
    ],
)
def test_A2_8_types_daprd_refuses(ports: PortBlock, tmp_path: Path, dapr_runtime: str, ctype: str, fatal: str) -> None:
    (tmp_path / "c.yaml").write_text(component("c", ctype, {}))
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, "a", tmp_path))
    assert out.returncode == 1
    assert f"Fatal error from runtime: {fatal}" in out.stderr


def test_A2_8_top_level_list_is_skipped_with_daprds_warning(tmp_path: Path, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    """A manifest written as a YAML list: daprd warns (naming the file) and loads the rest."""
    listed = tmp_path / "listed.yaml"
    listed.write_text("- " + component("inlist", "secretstores.local.env", {}).replace("\n", "\n  ").rstrip() + "\n")
    (tmp_path / "ok.yaml").write_text(component("env", "secretstores.local.env", {}))
    sidecar = sidecar_factory("list-app", tmp_path, actors=False)
    assert list(metadata_components(sidecar)) == ["env"]
    warning = (f"daprd load Component error when parsing manifests yaml resource in {listed}: error unmarshaling JSON: while decoding JSON: "
               "json: cannot unmarshal array into Go value of type struct { v1.TypeMeta")
    assert warning in sidecar_log(sidecar)


def test_A1_component_without_version(tmp_path: Path, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    """No ``version``: daprd loads it (an unversioned registration), logs ``name (type)`` and
    lists it without a version."""
    (tmp_path / "e.yaml").write_text(component("nover", "secretstores.local.env", {}).replace("  version: v1\n", ""))
    sidecar = sidecar_factory("nover-app", tmp_path, actors=False)
    assert metadata_components(sidecar)["nover"] == {"name": "nover", "type": "secretstores.local.env"}
    assert "Component loaded: nover (secretstores.local.env)" in sidecar_log(sidecar)


def test_C7_enable_tls_against_a_plain_redis_times_out_naming_the_cause(ports: PortBlock, tmp_path: Path, redis_server: RedisServer, dapr_runtime: str) -> None:
    """daprd's client waits for a TLS handshake the plain Redis never answers until initTimeout."""
    doc = component("tlsstore", "state.redis", {"redisHost": redis_server.address, "enableTLS": "true"})
    (tmp_path / "res").mkdir()
    (tmp_path / "res" / "s.yaml").write_text(doc.replace("  version: v1", "  version: v1\n  initTimeout: 2s"))
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, "a", tmp_path / "res"))
    assert out.returncode == 1
    detail = f"redis store: error connecting to redis at {redis_server.address}: context deadline exceeded"
    assert init_failure("tlsstore", "state.redis", detail, inner="INIT_COMPONENT_FAILURE") in out.stderr
    assert "init timeout for component tlsstore (state.redis/v1)" in out.stderr
    if dapr_runtime == "local":  # the addition: which timeout, and the likely cause
        assert "initTimeout 2s elapsed" in out.stderr and "plain-text (non-TLS) Redis" in out.stderr


def test_A2_8_ignore_errors_on_an_init_timeout_logs_it_and_runs_on(tmp_path: Path, redis_server: RedisServer, sidecar_factory, dapr_runtime: str) -> None:  # type: ignore[no-untyped-def]
    """``ignoreErrors: true`` and a component that never finishes its init: daprd's two lines
    ("Failed to init component ...", "Ignoring error processing component: ..."), no traceback,
    and the sidecar serves without it."""
    doc = component("slow", "configuration.redis", {"redisHost": redis_server.address, "enableTLS": "true"})
    (tmp_path / "s.yaml").write_text(doc.replace("  version: v1", "  version: v1\n  ignoreErrors: true\n  initTimeout: 1s"))
    (tmp_path / "e.yaml").write_text(component("env", "secretstores.local.env", {}))
    sidecar = sidecar_factory("ignoring-timeout", tmp_path, actors=False)
    assert list(metadata_components(sidecar)) == ["env"]
    log = sidecar_log(sidecar)
    who = "slow (configuration.redis/v1)"
    assert log.count(f"Ignoring error processing component: process component slow error: [INIT_COMPONENT_FAILURE]: initialization error occurred for {who}") == 1
    assert f"redis store: error connecting to redis at {redis_server.address}: context deadline exceeded" in log
    assert "Traceback" not in log


@pytest.mark.parametrize(
    ("ctype", "detail"),
    [
        ("bindings.cron", "schedule not set"),
        ("bindings.localstorage", "failed to parse metadata: property rootPath must not be empty"),
        ("crypto.dapr.localstorage", "failed to load metadata: metadata property 'path' is required"),
        ("state.sqlite", "missing connection string"),
    ],
)
def test_A2_8_daprd_only_component_without_its_required_metadata_fails_as_on_daprd(ports: PortBlock, tmp_path: Path, dapr_runtime: str, ctype: str, detail: str) -> None:
    """The local sidecar does not run these, but refuses what daprd's Init refuses, in its words."""
    (tmp_path / "c.yaml").write_text(component("c", ctype, {}))
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, "a", tmp_path))
    assert out.returncode == 1
    assert init_failure("c", ctype, detail, inner="INIT_COMPONENT_FAILURE") in out.stderr
