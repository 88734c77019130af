"""``--config``: the Configuration file loaded and validated as daprd loads it (errors and exit
codes), secret scopes on GetSecret/GetBulkSecret over HTTP and gRPC, the API allow/deny
lists, API logging from the file, and the sections the local sidecar accepts but ignores."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path

import grpc
import httpx
import pytest
from dapr.proto.runtime.v1 import dapr_pb2_grpc, metadata_pb2, secret_pb2, state_pb2
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cookbook.ports import PortBlock
from cookbook.processes import wait_until
from cookbook.redis_server import RedisServer
from cookbook.sidecar import write_daprd_config
from tests.conformance.conftest import component
from tests.runtimes import run_sidecar_to_exit

SECRETS = {"a": "1", "b": "2", "c": "3"}


def flags(ports: PortBlock, config: Path) -> list[str]:
    http, grpc_port = ports.take_many(2)
    return ["--app-id", "cfg", "--dapr-http-port", str(http), "--dapr-grpc-port", str(grpc_port), "--config", str(config)]


def fatal(reason: str) -> str:
    """daprd's last line, as logfmt escapes it."""
    return "Fatal error from runtime: error loading configuration: " + reason.replace('"', '\\"').replace("\n", "\\n")


def write(path: Path, text: str) -> Path:
    path.write_text(textwrap.dedent(text))
    return path


# ---- loading errors ------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "reason"), [
    ("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: x\nspec: {}\n", "yaml: line 2: did not find expected ',' or '}'"),
    ("kind: Configuration\nspec:\n  secrets:\n  scopes: x\n bad: 1\n", "yaml: line 4: did not find expected key"),
    ("kind: Configuration\nspec: x: y\n", "yaml: line 2: mapping values are not allowed in this context"),
    ("kind: Configuration\nspec:\n  secrets:\n    scopes: abc\n", "yaml: unmarshal errors:\n  line 4: cannot unmarshal !!str `abc` into []config.SecretsScope"),
    ("kind: Configuration\nspec:\n  secrets:\n    scopes:\n    - storeName: s\n      allowedSecrets: x\n",
     "yaml: unmarshal errors:\n  line 6: cannot unmarshal !!str `x` into []string"),
    ("just a string\n", "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!str `just a ...` into config.Configuration"),
    ("- a\n- b\n", "yaml: unmarshal errors:\n  line 1: cannot unmarshal !!seq into config.Configuration"),
    ("kind: Configuration\nspec: 5\n", "yaml: unmarshal errors:\n  line 2: cannot unmarshal !!int `5` into config.ConfigurationSpec"),
    ("kind: Configuration\nspec:\n  features: {a: 1}\n", "yaml: unmarshal errors:\n  line 3: cannot unmarshal !!map into []config.FeatureSpec"),
    ("kind: Configuration\nspec:\n  features:\n  - name: X\n    enabled: maybe\n", "yaml: unmarshal errors:\n  line 5: cannot unmarshal !!str `maybe` into bool"),
    ("kind: Configuration\nspec:\n  secrets:\n    scopes:\n    - storeName: s\n      defaultAccess: maybe\n", "defaultAccess maybe can be either allow or deny"),
    ("kind: Configuration\nspec:\n  secrets:\n    scopes:\n    - storeName: s\n    - storeName: s\n", "s storeName is repeated in secrets configuration"),
], ids=["flow-mapping", "block-mapping", "mapping-values", "scopes-string", "allowed-string", "document-string", "document-list",
        "spec-int", "features-map", "bool", "defaultAccess", "repeated-store"])
def test_config_file_that_daprd_refuses(ports: PortBlock, tmp_path: Path, dapr_runtime: str, text: str, reason: str) -> None:
    config = tmp_path / "config.yaml"
    config.write_text(text)
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, config))
    assert out.returncode == 1, out.stderr
    assert fatal(reason) in out.stderr


def test_config_file_missing_or_a_folder(ports: PortBlock, tmp_path: Path, dapr_runtime: str) -> None:
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, tmp_path / "nope.yaml"))
    assert out.returncode == 1 and fatal(f"stat {tmp_path / 'nope.yaml'}: no such file or directory") in out.stderr
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, tmp_path))
    assert out.returncode == 1 and fatal(f"read {tmp_path}: is a directory") in out.stderr


def test_config_file_of_another_kind_is_read_anyway(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """daprd does not check ``kind``: a Component document given as --config is an empty
    Configuration and the sidecar starts."""
    config = write(tmp_path / "component.yaml", component("x", "state.redis", {"redisHost": "127.0.0.1:1"}))
    (tmp_path / "res").mkdir()
    sidecar = sidecar_factory("otherkind", tmp_path / "res", actors=False, config=config)
    assert httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/metadata").json()["id"] == "otherkind"


def test_config_file_sections_daprd_accepts(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """The cookbook's own Configuration (nameResolution sqlite, what the launcher gives daprd)
    plus tracing, metrics, features, pipelines, mTLS, workflow limits: the sidecar starts; the
    local sidecar names the sections it does not act on in one log line."""
    base = write(tmp_path / "base.yaml", """\
        apiVersion: dapr.io/v1alpha1
        kind: Configuration
        metadata:
          name: full
        spec:
          tracing:
            samplingRate: "0"
            stdout: false
          metrics:
            enabled: false
          metric:
            enabled: false
          features:
          - name: SomeFeature
            enabled: true
          httpPipeline:
            handlers: []
          appHttpPipeline:
            handlers: []
          accessControl:
            defaultAction: allow
          components:
            deny: []
          workflow:
            maxConcurrentWorkflowInvocations: 10
          logging:
            apiLogging:
              enabled: false
        """)
    config = write_daprd_config(tmp_path / "config.yaml", tmp_path / "nr.db", base)
    (tmp_path / "res").mkdir()
    sidecar = sidecar_factory("sections", tmp_path / "res", actors=False, config=config)
    assert httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/metadata").json()["id"] == "sections"
    if sidecar.runtime_used == "local":
        expected = ("Configuration sections accepted but ignored by the local sidecar (localdapr): spec.tracing, spec.metrics, spec.metric, "
                    "spec.features, spec.httpPipeline, spec.appHttpPipeline, spec.accessControl, spec.components, spec.workflow, spec.nameResolution")
        wait_until(lambda: expected in sidecar.log_tail(60), details=lambda: sidecar.log_tail(20))


# ---- secret scopes -------------------------------------------------------------------------------

SCOPED = """\
    apiVersion: dapr.io/v1alpha1
    kind: Configuration
    metadata:
      name: scopes
    spec:
      secrets:
        scopes:
        - storeName: ${SCOPED_STORE}
          defaultAccess: deny
          allowedSecrets: ["a"]
        - storeName: denylist
          deniedSecrets: ["b"]
        - storeName: closed
          defaultAccess: DENY
    """


def _secret_resources(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    secrets_file = folder.parent / "secrets.json"
    secrets_file.write_text(json.dumps(SECRETS))
    docs = [component(name, "secretstores.local.file", {"secretsFile": str(secrets_file)}) for name in ("allowlist", "denylist", "closed", "open")]
    (folder / "secrets.yaml").write_text("---\n".join(docs))
    return folder


@pytest.fixture
def scoped(sidecar_factory, tmp_path: Path):  # type: ignore[no-untyped-def]
    config = write(tmp_path / "config.yaml", SCOPED)
    return sidecar_factory("scoped", _secret_resources(tmp_path / "res"), actors=False, config=config,
                           env={"SCOPED_STORE": "allowlist"})  # daprd expands ${VAR} in the file


def test_secret_scopes_over_http(scoped) -> None:  # type: ignore[no-untyped-def]
    base = f"http://127.0.0.1:{scoped.http_port}/v1.0/secrets"
    assert httpx.get(f"{base}/allowlist/a").json() == {"a": "1"}
    r = httpx.get(f"{base}/allowlist/b")
    assert r.status_code == 403
    assert r.json() == {"errorCode": "ERR_PERMISSION_DENIED", "message": 'access denied by policy to get "b" from "allowlist"'}
    assert httpx.get(f"{base}/allowlist/bulk").json() == {"a": {"a": "1"}}
    assert httpx.get(f"{base}/denylist/a").json() == {"a": "1"}
    assert httpx.get(f"{base}/denylist/b").status_code == 403
    assert httpx.get(f"{base}/denylist/bulk").json() == {"a": {"a": "1"}, "c": {"c": "3"}}
    assert httpx.get(f"{base}/closed/a").status_code == 403  # defaultAccess is case-insensitive
    assert httpx.get(f"{base}/closed/bulk").json() == {}
    assert httpx.get(f"{base}/open/b").json() == {"b": "2"}  # no scope: everything allowed
    r = httpx.get(f"{base}/nosuch/a")
    assert r.status_code == 401 and r.json()["errorCode"] == "ERR_SECRET_STORE_NOT_FOUND"  # store checks come first


def test_secret_scopes_over_grpc(scoped) -> None:  # type: ignore[no-untyped-def]
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{scoped.grpc_port}"))
    assert dict(stub.GetSecret(secret_pb2.GetSecretRequest(store_name="allowlist", key="a")).data) == {"a": "1"}
    with pytest.raises(grpc.RpcError) as info:
        stub.GetSecret(secret_pb2.GetSecretRequest(store_name="allowlist", key="b"))
    assert info.value.code() == grpc.StatusCode.PERMISSION_DENIED
    assert info.value.details() == 'access denied by policy to get "b" from "allowlist"'
    assert not rpc_status.from_call(info.value) or not rpc_status.from_call(info.value).details  # no rich details
    bulk = stub.GetBulkSecret(secret_pb2.GetBulkSecretRequest(store_name="denylist"))
    assert {k: dict(v.secrets) for k, v in bulk.data.items()} == {"a": {"a": "1"}, "c": {"c": "3"}}
    assert len(stub.GetBulkSecret(secret_pb2.GetBulkSecretRequest(store_name="closed")).data) == 0


# ---- API allow / deny lists ----------------------------------------------------------------------

def _error_info(err: grpc.RpcError) -> tuple[str, dict[str, str]]:
    status = rpc_status.from_call(err)
    assert status is not None and len(status.details) == 1
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    assert info.domain == "dapr.io"
    return info.reason, dict(info.metadata)


def test_api_denied_list(sidecar_factory, redis_server: RedisServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """A denied HTTP endpoint is not routed (daprd's fallback answers: service invocation's
    404); a denied gRPC method answers UNIMPLEMENTED. A rule without ``protocol`` denies nothing."""
    config = write(tmp_path / "config.yaml", """\
        kind: Configuration
        spec:
          api:
            denied:
            - {name: state, version: v1.0, protocol: http}
            - {name: state, version: v1, protocol: grpc}
            - {name: secrets, version: v1}
        """)
    res = _secret_resources(tmp_path / "res")
    (res / "state.yaml").write_text(component("statestore", "state.redis", {"redisHost": redis_server.address}))
    sidecar = sidecar_factory("denied", res, actors=False, config=config)
    base = f"http://127.0.0.1:{sidecar.http_port}"
    r = httpx.get(f"{base}/v1.0/state/statestore/k")
    assert (r.status_code, r.json()) == (404, {"errorCode": "ERR_DIRECT_INVOKE", "message": "failed getting app id either from the URL path or the header dapr-app-id"})
    assert httpx.get(f"{base}/v1.0/secrets/open/a").json() == {"a": "1"}
    assert httpx.get(f"{base}/v1.0/healthz").status_code == 204
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}"))
    with pytest.raises(grpc.RpcError) as info:
        stub.GetState(state_pb2.GetStateRequest(store_name="statestore", key="k"))
    assert (info.value.code(), info.value.details()) == (grpc.StatusCode.UNIMPLEMENTED, "Not Implemented")
    assert _error_info(info.value) == ("Not Implemented", {"http.code": "501", "http.error_message": "requested endpoint is not available"})
    assert dict(stub.GetSecret(secret_pb2.GetSecretRequest(store_name="open", key="a")).data) == {"a": "1"}


def test_api_allowed_list(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """With an allow list only the listed groups are served (group names ``v1``, or the legacy
    URL prefix ``v1.0``); health endpoints always are."""
    config = write(tmp_path / "config.yaml", """\
        kind: Configuration
        spec:
          api:
            allowed:
            - {name: secrets, version: v1, protocol: HTTP}
            - {name: metadata, version: v1, protocol: grpc}
        """)
    sidecar = sidecar_factory("allowed", _secret_resources(tmp_path / "res"), actors=False, config=config)
    base = f"http://127.0.0.1:{sidecar.http_port}"
    assert httpx.get(f"{base}/v1.0/secrets/open/a").json() == {"a": "1"}
    assert httpx.get(f"{base}/v1.0/metadata").status_code == 404
    assert httpx.get(f"{base}/v1.0/healthz/outbound").status_code == 204
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}"))
    assert stub.GetMetadata(metadata_pb2.GetMetadataRequest()).id == "allowed"
    with pytest.raises(grpc.RpcError) as info:
        stub.GetSecret(secret_pb2.GetSecretRequest(store_name="open", key="a"))
    assert info.value.code() == grpc.StatusCode.UNIMPLEMENTED


def test_api_logging_from_the_configuration(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    config = write(tmp_path / "config.yaml", "kind: Configuration\nspec:\n  logging:\n    apiLogging:\n      enabled: true\n")
    sidecar = sidecar_factory("cfglog", _secret_resources(tmp_path / "res"), actors=False, config=config)
    httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/secrets/open/a")
    wait_until(lambda: 'method="GET /v1.0/secrets/open/a"' in sidecar.process.log_path.read_text(), details=lambda: sidecar.log_tail(10))


def test_launcher_config_is_what_the_local_sidecar_gets(tmp_path: Path, ports: PortBlock) -> None:
    """The launcher gives daprd its Configuration plus SQLite name resolution, and the local
    sidecar the caller's own file (or none): nothing it would have to ignore."""
    from cookbook.sidecar import Sidecar

    local = Sidecar("nr", [tmp_path], ports, tmp_path / "run", runtime="local", actors=False)
    assert "--config" not in local.argv()
    own = write(tmp_path / "own.yaml", "kind: Configuration\nspec: {}\n")
    local = Sidecar("nr", [tmp_path], ports, tmp_path / "run", runtime="local", actors=False, config=own)
    argv = local.argv()
    assert argv[argv.index("--config") + 1] == str(own)


def test_several_config_files_are_merged(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``--config`` may be given more than once: each file is decoded on top of the previous
    ones (sections add up; a list given again replaces the earlier one)."""
    first = write(tmp_path / "first.yaml", """\
        kind: Configuration
        spec:
          secrets:
            scopes:
            - {storeName: open, deniedSecrets: [a]}
          api:
            denied:
            - {name: metadata, version: v1, protocol: http}
        """)
    second = write(tmp_path / "second.yaml", """\
        kind: Configuration
        spec:
          secrets:
            scopes:
            - {storeName: open, deniedSecrets: [b]}
        """)
    sidecar = sidecar_factory("merged", _secret_resources(tmp_path / "res"), actors=False, config=first, extra_args=["--config", str(second)])
    base = f"http://127.0.0.1:{sidecar.http_port}/v1.0"
    assert httpx.get(f"{base}/secrets/open/a").json() == {"a": "1"}  # the second file's scopes replaced the first's
    assert httpx.get(f"{base}/secrets/open/b").status_code == 403
    assert httpx.get(f"{base}/metadata").status_code == 404  # the first file's api section still applies
