"""daprd's flags (spec J1) on both runtimes: every flag accepted, values parsed as daprd parses
them (pflag types, Kubernetes quantities), daprd's errors and exit codes, and the flags with an
effect: ``--max-body-size`` (HTTP and gRPC) and ``--enable-api-logging``."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import grpc
import httpx
import pytest
from dapr.proto.common.v1 import common_pb2
from dapr.proto.runtime.v1 import dapr_pb2_grpc, metadata_pb2, state_pb2

from cookbook.ports import PortBlock
from cookbook.processes import wait_until
from cookbook.redis_server import RedisServer
from tests.conformance.conftest import component
from tests.runtimes import run_sidecar_to_exit, sidecar_command


def flags(ports: PortBlock, *extra: str) -> list[str]:
    http, grpc_port = ports.take_many(2)
    return ["--app-id", "flags", "--dapr-http-port", str(http), "--dapr-grpc-port", str(grpc_port), *extra]


def daprd_usage(runtime: str) -> str:
    """The flag list the runtime prints for ``--help`` (pflag: exit 2, usage on stderr)."""
    out = subprocess.run([*sidecar_command(runtime), "--help"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert out.stderr.startswith("Usage of daprd:\n")
    return out.stderr


# A value each flag type accepts (the quantity flags take quantities).
_VALUES = {"string": "x", "strings": "a,b", "int": "3", "uint": "3", "duration": "30s"}
_SPECIAL = {"max-body-size": "4Mi", "read-buffer-size": "4Ki", "log-level": "info", "mode": "standalone", "app-protocol": "http",
            "app-port": "1234", "dapr-http-port": "3500", "dapr-grpc-port": "50001", "metrics-port": "9090", "profile-port": "7777"}
_EXITING = {"help", "version", "build-info", "wait"}


def test_J1_help_lists_the_same_flags(dapr_runtime: str) -> None:
    names = set(re.findall(r"^\s+--([a-z0-9-]+)", daprd_usage(dapr_runtime), re.M))
    assert {"app-id", "config", "max-body-size", "read-buffer-size", "app-max-concurrency", "enable-api-logging",
            "enable-app-health-check", "app-health-probe-interval", "unix-domain-socket", "log-file"} <= names
    assert len(names) == 51


def test_J1_every_daprd_flag_is_accepted(dapr_runtime: str) -> None:
    """Every flag of daprd's own --help, with a value of its type, parses (``--version`` then
    prints the version and exits 0, after the flags are parsed)."""
    usage = daprd_usage("daprd") if dapr_runtime == "daprd" else daprd_usage("local")
    args: list[str] = []
    for name, kind in re.findall(r"^\s+--([a-z0-9-]+)(?: (\w+))?", usage, re.M):
        if name in _EXITING:
            continue
        args += [f"--{name}=true"] if not kind else [f"--{name}", _SPECIAL.get(name, _VALUES[kind])]
    out = subprocess.run([*sidecar_command(dapr_runtime), *args, "--version"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr + out.stdout
    assert re.fullmatch(r"1\.18\.\d+\n", out.stdout)


def test_J1_deprecated_flags_are_accepted_with_pflags_notice(dapr_runtime: str) -> None:
    out = subprocess.run([*sidecar_command(dapr_runtime), "--components-path", "x", "--dapr-http-max-request-size", "4", "--version"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0
    assert "Flag --components-path has been deprecated, use --resources-path" in out.stderr
    assert "Flag --dapr-http-max-request-size has been deprecated, use '--max-body-size 4Mi'" in out.stderr


@pytest.mark.parametrize(("flag", "value", "message"), [
    ("--app-health-probe-interval", "abc", 'invalid argument "abc" for "--app-health-probe-interval" flag: strconv.ParseInt: parsing "abc": invalid syntax'),
    ("--dapr-graceful-shutdown-seconds", "1.5", 'invalid argument "1.5" for "--dapr-graceful-shutdown-seconds" flag: strconv.ParseInt: parsing "1.5": invalid syntax'),
    ("--enable-api-logging=maybe", None, 'invalid argument "maybe" for "--enable-api-logging" flag: strconv.ParseBool: parsing "maybe": invalid syntax'),
    ("--dapr-block-shutdown-duration", "5", 'invalid argument "5" for "--dapr-block-shutdown-duration" flag: time: missing unit in duration "5"'),
    ("--scheduler-job-streams", "-1", 'invalid argument "-1" for "--scheduler-job-streams" flag: strconv.ParseUint: parsing "-1": invalid syntax'),
])
def test_J1_a_value_of_the_wrong_type_is_a_flag_error(ports: PortBlock, dapr_runtime: str, flag: str, value: str | None, message: str) -> None:
    """pflag's ExitOnError: the message, ``Usage of daprd:``, exit 2."""
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, flag, *([value] if value is not None else [])))
    assert out.returncode == 2
    assert out.stderr.startswith(f"{message}\nUsage of daprd:\n")


def test_J1_a_flag_without_its_value(ports: PortBlock, dapr_runtime: str) -> None:
    out = subprocess.run([*sidecar_command(dapr_runtime), *flags(ports), "--log-level"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 2 and out.stderr.startswith("flag needs an argument: --log-level\nUsage of daprd:\n")


@pytest.mark.parametrize("value", ["4Mi", "1e3", "4k", "1.5k", "1.5e3", "0.0", "-1", "7Ti", "999Gi"])
def test_J1_quantities_daprd_accepts(dapr_runtime: str, value: str) -> None:
    out = subprocess.run([*sidecar_command(dapr_runtime), "--max-body-size", value, "--read-buffer-size", value, "--version"],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout


@pytest.mark.parametrize(("value", "reason"), [
    ("4XB", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),
    ("-4Ki", "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"),  # daprd reads it as --4Ki
    ("4ii", "unable to parse quantity's suffix"),
    ("1.5Ki", "cannot get bytes from resource quantity value '"),
    ("0.5", "cannot get bytes from resource quantity value '"),
    ("7Pi", "cannot get bytes from resource quantity value '"),  # the int64 fast path's precision ends below Pi
    ("100Ti", "cannot get bytes from resource quantity value '"),
])
def test_J1_max_body_size_is_a_kubernetes_quantity(ports: PortBlock, dapr_runtime: str, value: str, reason: str) -> None:
    """Not a pflag error: daprd parses the quantity after the flags (fatal, exit 1). After
    ``cannot get bytes ...`` daprd prints Go's struct dump of the quantity; not compared."""
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, "--max-body-size", value))
    assert out.returncode == 1
    assert f"Failed to parse flags: invalid value for 'max-body-size' option: {reason}".replace('"', '\\"') in out.stderr


@pytest.mark.parametrize(("extra", "fatal"), [
    (["--app-port", "abc"], 'error parsing app-port: strconv.Atoi: parsing \\"abc\\": invalid syntax'),
    (["--app-protocol", "ftp"], "invalid value for 'app-protocol': ftp"),
    (["--disable-init-endpoints", "nope"], "invalid value for 'disable-init-endpoints': nope"),
    (["--app-health-probe-interval", "1", "--app-health-probe-timeout", "2000"], "value for 'health-probe-timeout' must be smaller than 'health-probe-interval'"),
])
def test_J1_values_daprd_checks_at_start(ports: PortBlock, dapr_runtime: str, extra: list[str], fatal: str) -> None:
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, *extra))
    assert out.returncode == 1
    assert f"Fatal error from runtime: {fatal}" in out.stderr


def test_J1_app_port_equal_to_the_http_port(ports: PortBlock, dapr_runtime: str) -> None:
    http = ports.take()
    out = run_sidecar_to_exit(dapr_runtime, ["--app-id", "a", "--dapr-http-port", str(http), "--dapr-grpc-port", str(ports.take()), "--app-port", str(http)])
    assert out.returncode == 1
    assert f"Fatal error from runtime: the 'dapr-http-port' argument value {http} conflicts with 'app-port'" in out.stderr


def test_J1_unknown_log_level(ports: PortBlock, dapr_runtime: str) -> None:
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, "--log-level", "loud"))
    assert out.returncode == 1 and 'level=fatal msg="invalid value for --log-level: loud"' in out.stderr


# ---- flags with an effect -------------------------------------------------------------------------

def _state_resources(folder: Path, server: RedisServer) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "state.yaml").write_text(component("statestore", "state.redis", {"redisHost": server.address}))
    return folder


def _save(n: int) -> str:
    return '[{"key": "k", "value": "' + "x" * n + '"}]'


def test_J1_dapr_cli_flags_start_the_sidecar(sidecar_factory, redis_server: RedisServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """What ``dapr run`` always passes: ``--app-max-concurrency -1 --read-buffer-size 4Ki``."""
    sidecar = sidecar_factory("cliflags", _state_resources(tmp_path / "res", redis_server), actors=False,
                              extra_args=["--app-max-concurrency", "-1", "--read-buffer-size", "4Ki", "--max-body-size", "4Mi"])
    assert httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/metadata").json()["id"] == "cliflags"
    if sidecar.runtime_used == "local":  # the local sidecar names the flags it accepts without effect
        wait_until(lambda: "flags accepted but ignored by the local sidecar (localdapr): --read-buffer-size" in sidecar.log_tail(50))


def test_J1_max_body_size_limits_http_and_grpc(sidecar_factory, redis_server: RedisServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """daprd reads request bodies through a 1 KiB-limited reader: the state API answers its
    ``stream too large`` errors; gRPC refuses the message with grpc-go's RESOURCE_EXHAUSTED."""
    sidecar = sidecar_factory("bodysize", _state_resources(tmp_path / "res", redis_server), actors=False, extra_args=["--max-body-size", "1Ki"])
    base = f"http://127.0.0.1:{sidecar.http_port}"
    headers = {"content-type": "application/json"}
    assert httpx.post(f"{base}/v1.0/state/statestore", content=_save(900), headers=headers).status_code == 204
    r = httpx.post(f"{base}/v1.0/state/statestore", content=_save(1100), headers=headers)
    assert (r.status_code, r.json()) == (400, {"errorCode": "ERR_MALFORMED_REQUEST", "message": "stream too large"})
    tx = '{"operations": [{"operation": "upsert", "request": {"key": "k", "value": "' + "x" * 1100 + '"}}]}'
    r = httpx.post(f"{base}/v1.0/state/statestore/transaction", content=tx, headers=headers)
    assert (r.status_code, r.json()) == (400, {"errorCode": "ERR_MALFORMED_REQUEST", "message": "failed deserializing HTTP body: stream too large"})
    r = httpx.put(f"{base}/v1.0/metadata/big", content="x" * 2000)
    assert (r.status_code, r.json()) == (400, {"errorCode": "ERR_BODY_READ", "message": "failed to read request body: stream too large"})
    assert httpx.get(f"{base}/v1.0/state/statestore/k", headers=headers).status_code == 200  # a GET does not read its body
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}"))
    small = state_pb2.SaveStateRequest(store_name="statestore", states=[common_pb2.StateItem(key="g", value=b"x" * 900)])
    stub.SaveState(small)
    big = state_pb2.SaveStateRequest(store_name="statestore", states=[common_pb2.StateItem(key="g", value=b"x" * 1100)])
    with pytest.raises(grpc.RpcError) as info:
        stub.SaveState(big)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info.value.details() == f"grpc: received message larger than max ({big.ByteSize()} vs. 1024)"


def test_J1_max_body_size_default_is_4Mi(sidecar_factory, redis_server: RedisServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sidecar = sidecar_factory("bodydefault", _state_resources(tmp_path / "res", redis_server), actors=False)
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}"))
    big = state_pb2.SaveStateRequest(store_name="statestore", states=[common_pb2.StateItem(key="g", value=b"x" * (4 << 20))])
    with pytest.raises(grpc.RpcError) as info:
        stub.SaveState(big)
    assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert info.value.details() == f"grpc: received message larger than max ({big.ByteSize()} vs. 4194304)"
    r = httpx.post(f"http://127.0.0.1:{sidecar.http_port}/v1.0/state/statestore", content=_save((4 << 20) + 10), headers={"content-type": "application/json"})
    assert (r.status_code, r.json()) == (400, {"errorCode": "ERR_MALFORMED_REQUEST", "message": "stream too large"})


def test_J1_enable_api_logging_logs_each_call(sidecar_factory, redis_server: RedisServer, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sidecar = sidecar_factory("apilog", _state_resources(tmp_path / "res", redis_server), actors=False, extra_args=["--enable-api-logging"])
    httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/state/statestore/nokey", headers={"user-agent": "cookbook-test"})
    stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}"))
    stub.GetMetadata(metadata_pb2.GetMetadataRequest())

    def lines(msg: str) -> list[str]:
        return [line for line in sidecar.process.log_path.read_text().splitlines() if f'msg="{msg}"' in line]

    wait_until(lambda: lines("HTTP API Called") and lines("gRPC API Called"), details=lambda: sidecar.log_tail(20))
    http_line = next(line for line in lines("HTTP API Called") if "nokey" in line)
    assert 'method="GET /v1.0/state/statestore/nokey"' in http_line and " code=204 " in http_line
    assert "scope=dapr.runtime.http-info" in http_line and "useragent=cookbook-test" in http_line
    grpc_line = next(line for line in lines("gRPC API Called") if "GetMetadata" in line)
    assert "method=/dapr.proto.runtime.v1.Dapr/GetMetadata" in grpc_line and " code=0 " in grpc_line
    assert "scope=dapr.runtime.grpc.api-info" in grpc_line


def test_J1_log_as_json(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """logrus' JSON formatter with daprd's fields, one object per line."""
    (tmp_path / "res").mkdir()
    sidecar = sidecar_factory("jsonlog", tmp_path / "res", actors=False, extra_args=["--log-as-json"])
    records = [json.loads(line) for line in sidecar.process.log_path.read_text().splitlines() if line.startswith("{")]
    assert records, sidecar.log_tail(10)
    for record in records:
        assert {"app_id", "instance", "level", "msg", "scope", "time", "type", "ver"} <= set(record)
        assert record["app_id"] == "jsonlog" and record["type"] == "log"


def test_J1_log_file(sidecar_factory, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """``--log-file``: the log lines go to the file (appended), not to stdout."""
    (tmp_path / "res").mkdir()
    log_file = tmp_path / "sidecar.log"
    log_file.write_text("earlier line\n")
    sidecar = sidecar_factory("filelog", tmp_path / "res", actors=False, extra_args=["--log-file", str(log_file)])
    wait_until(lambda: "dapr initialized. Status: Running" in log_file.read_text())
    assert log_file.read_text().startswith("earlier line\n")
    assert "dapr initialized" not in sidecar.process.log_path.read_text()
