"""Configuration API on ``configuration.redis`` (gRPC stable + Alpha1 names, HTTP v1.0 + v1.0-alpha1).

Every expectation here is daprd 1.18.2's answer, read off a running daprd (and pkg/api/grpc/grpc.go,
pkg/api/http/http.go, components-contrib configuration/redis): the local sidecar must give the same.
"""

from __future__ import annotations

import json
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Iterator

import grpc
import httpx
import pytest
import redis
from dapr.proto.runtime.v1 import configuration_pb2 as pb
from dapr.proto.runtime.v1 import dapr_pb2_grpc
from google.rpc import error_details_pb2
from grpc_status import rpc_status

from cookbook.ports import PortBlock, free_port_block
from cookbook.redis_server import RedisServer
from cookbook.services import use_sidecar_in_this_process
from cookbook.sidecar import Sidecar
from tests.conformance.conftest import component

STORE = "configstore"
READ_TIMEOUT = 20.0  # bound for one change notification to arrive (a bound, not a timing assertion)


class AppReceiver:
    """The app side of HTTP configuration subscriptions: records every POST daprd makes."""

    def __init__(self, port: int) -> None:
        self.received: queue.Queue[tuple[str, str, dict[str, object]]] = queue.Queue()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: object) -> None:
                pass

            def do_POST(self) -> None:  # noqa: N802 - http.server's name
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                outer.received.put((self.path, self.headers.get("Content-Type", ""), json.loads(body)))
                self.send_response(200)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def do_GET(self) -> None:  # noqa: N802
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        self.server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def next(self) -> tuple[str, str, dict[str, object]]:
        return self.received.get(timeout=READ_TIMEOUT)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@dataclass
class ConfigStack:
    sidecar: Sidecar
    redis: redis.Redis
    http: httpx.Client
    stub: dapr_pb2_grpc.DaprStub
    app: AppReceiver


@pytest.fixture(scope="module")
def cfg(dapr_runtime: str) -> Iterator[ConfigStack]:
    tmp = Path(tempfile.mkdtemp(prefix="conformance-cfg-"))
    ports = free_port_block(20)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    app = AppReceiver(ports.take())
    res = tmp / "resources"
    res.mkdir()
    (res / "config.yaml").write_text(component(STORE, "configuration.redis", {"redisHost": server.address}))
    (res / "state.yaml").write_text(component("statestore", "state.redis", {"redisHost": server.address}))
    sidecar = Sidecar("cfg-app", [res], ports, tmp / "run", runtime=dapr_runtime, actors=False, app_port=app.server.server_address[1])
    try:
        sidecar.start()
        with httpx.Client(base_url=f"http://127.0.0.1:{sidecar.http_port}", timeout=10) as http, \
                grpc.insecure_channel(f"127.0.0.1:{sidecar.grpc_port}") as channel:
            yield ConfigStack(sidecar, server.client(), http, dapr_pb2_grpc.DaprStub(channel), app)
    finally:
        sidecar.stop()
        app.stop()
        server.stop()
        ports.release()
        shutil.rmtree(tmp, ignore_errors=True)


def rpc_error(call) -> tuple[grpc.StatusCode, str, list[str]]:  # type: ignore[no-untyped-def]
    """(code, message, ErrorInfo reasons) of a failing unary call."""
    with pytest.raises(grpc.RpcError) as info:
        call()
    status = rpc_status.from_call(info.value)
    reasons = []
    for detail in status.details if status else []:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            err = error_details_pb2.ErrorInfo()
            detail.Unpack(err)
            reasons.append(err.reason)
    return info.value.code(), info.value.details(), reasons


def wait_listening(r: redis.Redis, *keys: str) -> None:
    """contrib SUBSCRIBEs in the background after it answers with the subscription id: a change
    made before that is not notified, on daprd as here. Wait (bounded) until Redis has the listeners."""
    channels = [f"__keyspace@0__:{k}" for k in keys]
    deadline = time.monotonic() + READ_TIMEOUT
    while not all(n for _, n in r.pubsub_numsub(*channels)):
        assert time.monotonic() < deadline, f"nobody subscribed to {channels}"
        time.sleep(0.05)


def items_of(response: pb.GetConfigurationResponse | pb.SubscribeConfigurationResponse) -> dict[str, tuple[str, str]]:
    return {k: (v.value, v.version) for k, v in response.items.items()}


def seed(r: redis.Redis) -> None:
    r.flushdb()
    r.set("k1", "v1||7")  # contrib's encoding: value||version
    r.set("k2", "plain")  # no version
    r.set("k3", "a||b||c")  # a third part is dropped
    r.set("k4", "")  # empty value: left out
    r.set("k5", "||3")  # empty value with a version: left out
    r.hset("h1", "x", "y")  # another type (a state row): left out (contrib logs WRONGTYPE)


EXPECTED = {"k1": ("v1", "7"), "k2": ("plain", ""), "k3": ("a", "b")}


@pytest.mark.parametrize("method", ["GetConfiguration", "GetConfigurationAlpha1"])
def test_get_keys_and_all_keys_in_contribs_encoding(cfg: ConfigStack, method: str) -> None:
    seed(cfg.redis)
    get = getattr(cfg.stub, method)
    asked = get(pb.GetConfigurationRequest(store_name=STORE, keys=["k1", "k2", "k3", "k4", "k5", "h1", "missing"]))
    assert items_of(asked) == EXPECTED
    assert items_of(get(pb.GetConfigurationRequest(store_name=STORE))) == EXPECTED  # no keys: KEYS *


@pytest.mark.parametrize("version", ["v1.0", "v1.0-alpha1"])
def test_http_get_is_go_json_and_204_when_nothing_matches(cfg: ConfigStack, version: str) -> None:
    seed(cfg.redis)
    resp = cfg.http.get(f"/{version}/configuration/{STORE}", params=[("key", "k1"), ("key", "k2"), ("key", "k3"), ("key", "missing")])
    assert resp.status_code == 200 and resp.headers["content-type"] == "application/json"
    assert resp.text == '{"k1":{"value":"v1","version":"7"},"k2":{"value":"plain"},"k3":{"value":"a","version":"b"}}\n'
    assert cfg.http.get(f"/{version}/configuration/{STORE}").json() == json.loads(resp.text)
    empty = cfg.http.get(f"/{version}/configuration/{STORE}", params={"key": "missing"})
    assert empty.status_code == 204 and empty.content == b""


@pytest.mark.parametrize("name", ["nosuch", "statestore", ""])
def test_unknown_store_is_invalid_argument_on_grpc_and_400_on_http(cfg: ConfigStack, name: str) -> None:
    """A state store's name is not a configuration store; the error carries ErrorInfo on gRPC only."""
    message = f"configuration store {name} not found"
    for call in (
        lambda: cfg.stub.GetConfiguration(pb.GetConfigurationRequest(store_name=name, keys=["a"])),
        lambda: cfg.stub.GetConfigurationAlpha1(pb.GetConfigurationRequest(store_name=name)),
        lambda: next(cfg.stub.SubscribeConfiguration(pb.SubscribeConfigurationRequest(store_name=name, keys=["a"]))),
    ):
        assert rpc_error(call) == (grpc.StatusCode.INVALID_ARGUMENT, message, ["ERR_CONFIGURATION_STORE_NOT_FOUND"])
    if name:
        for path in (f"/v1.0/configuration/{name}", f"/v1.0/configuration/{name}/subscribe", f"/v1.0-alpha1/configuration/{name}/abc/unsubscribe"):
            resp = cfg.http.get(path, params={"key": "a"})
            assert (resp.status_code, resp.json()) == (400, {"errorCode": "ERR_CONFIGURATION_STORE_NOT_FOUND", "message": message})


def test_grpc_subscription_streams_changes_until_unsubscribed(cfg: ConfigStack) -> None:
    """First message: the id only. Then one message per keyspace event of a subscribed key (the
    key read again; an empty item once it is gone); UnsubscribeConfiguration ends the stream OK."""
    seed(cfg.redis)
    stream = cfg.stub.SubscribeConfiguration(pb.SubscribeConfigurationRequest(store_name=STORE, keys=["k1", "k9"]))
    first = next(stream)
    assert first.id and not first.items
    # contrib turns keyspace notifications on (CONFIG SET notify-keyspace-events Kg$xe)
    assert set(cfg.redis.config_get("notify-keyspace-events")["notify-keyspace-events"]) == set("Kg$xe")
    received: queue.Queue[object] = queue.Queue()

    def read() -> None:
        try:
            for message in stream:
                received.put(message)
            received.put("END")
        except grpc.RpcError as exc:
            received.put(exc)

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    wait_listening(cfg.redis, "k1", "k9")
    # contrib reads the key again when its event arrives: one change at a time, each awaited
    got = []
    for change in (lambda: cfg.redis.set("k2", "not subscribed") and cfg.redis.set("k1", "new||8"),
                   lambda: cfg.redis.set("k9", "nine"), lambda: cfg.redis.delete("k1")):
        change()
        got.append(received.get(timeout=READ_TIMEOUT))
    assert [(m.id, items_of(m)) for m in got] == [  # type: ignore[attr-defined]
        (first.id, {"k1": ("new", "8")}),
        (first.id, {"k9": ("nine", "")}),
        (first.id, {"k1": ("", "")}),
    ]
    assert list(got[2].items) == ["k1"]  # type: ignore[attr-defined]
    answer = cfg.stub.UnsubscribeConfigurationAlpha1(pb.UnsubscribeConfigurationRequest(store_name="any-name", id=first.id))
    assert answer.ok and not answer.message
    # The stream ends. daprd races with itself here (pkg/api/grpc/grpc.go SubscribeConfiguration):
    # it cancels the subscription's context, and contrib's watcher goroutine, seeing that, deletes
    # the id from its cancel map; only then, or before, does daprd call store.Unsubscribe, which
    # answers "subscription with id <id> does not exist" when the goroutine won. So the stream
    # ends OK or with that UNKNOWN error; the local sidecar always ends it OK.
    end = received.get(timeout=READ_TIMEOUT)
    if end != "END":
        assert isinstance(end, grpc.RpcError) and cfg.sidecar.runtime_used == "daprd", end
        assert (end.code(), end.details()) == (  # type: ignore[attr-defined]
            grpc.StatusCode.UNKNOWN, f"subscription with id {first.id} does not exist")
    assert received.empty()
    again = cfg.stub.UnsubscribeConfiguration(pb.UnsubscribeConfigurationRequest(store_name=STORE, id=first.id))
    assert (again.ok, again.message) == (False, f"failed to unsubscribe to configuration request {first.id}: subscription does not exist")


def test_http_subscription_posts_changes_to_the_app(cfg: ConfigStack) -> None:
    seed(cfg.redis)
    resp = cfg.http.get(f"/v1.0/configuration/{STORE}/subscribe", params={"key": "k2"})
    assert resp.status_code == 200
    sub_id = resp.json()["id"]
    wait_listening(cfg.redis, "k2")
    assert resp.text == json.dumps({"id": sub_id}, separators=(",", ":")) + "\n"
    cfg.redis.set("k2", "changed||2")
    path, content_type, body = cfg.app.next()
    assert (path, content_type, body) == (f"/configuration/{STORE}/k2", "application/json", {"id": sub_id, "items": {"k2": {"value": "changed", "version": "2"}}})
    unsub = cfg.http.get(f"/v1.0-alpha1/configuration/{STORE}/{sub_id}/unsubscribe")
    assert (unsub.status_code, unsub.json()) == (200, {"ok": True})
    unknown = cfg.http.get(f"/v1.0/configuration/{STORE}/{sub_id}/unsubscribe")
    assert (unknown.status_code, unknown.json()) == (500, {"message": f"failed to unsubscribe to configuration request {sub_id}: subscription with id {sub_id} does not exist"})
    cfg.redis.set("k2", "after unsubscribe")
    with pytest.raises(queue.Empty):  # nothing more reaches the app (bounded wait, not a timing check)
        cfg.app.received.get(timeout=1.0)


def test_no_configuration_store_and_no_app_channel(ports: PortBlock, tmp_path: Path, redis_server: RedisServer, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    """Without any configuration store: FAILED_PRECONDITION / 500 "not configured"; with one but
    no --app-port, HTTP subscribe is refused (the changes would have nowhere to go)."""
    (tmp_path / "none").mkdir()
    (tmp_path / "none" / "s.yaml").write_text(component("statestore", "state.redis", {"redisHost": redis_server.address}))
    bare = sidecar_factory("no-config", tmp_path / "none", actors=False)
    with grpc.insecure_channel(f"127.0.0.1:{bare.grpc_port}") as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        code, message, reasons = rpc_error(lambda: stub.GetConfiguration(pb.GetConfigurationRequest(store_name=STORE)))
    assert (code, message, reasons) == (grpc.StatusCode.FAILED_PRECONDITION, "configuration stores not configured", ["ERR_CONFIGURATION_STORE_NOT_CONFIGURED"])
    resp = httpx.get(f"http://127.0.0.1:{bare.http_port}/v1.0/configuration/{STORE}")
    assert (resp.status_code, resp.json()) == (500, {"errorCode": "ERR_CONFIGURATION_STORE_NOT_CONFIGURED", "message": "configuration stores not configured"})

    (tmp_path / "cfg").mkdir()
    (tmp_path / "cfg" / "c.yaml").write_text(component(STORE, "configuration.redis", {"redisHost": redis_server.address}))
    no_app = sidecar_factory("no-app", tmp_path / "cfg", actors=False)
    resp = httpx.get(f"http://127.0.0.1:{no_app.http_port}/v1.0/configuration/{STORE}/subscribe", params={"key": "a"})
    assert (resp.status_code, resp.json()) == (500, {"errorCode": "ERR_APP_CHANNEL_NIL", "message": "app channel is not initialized. cannot subscribe to configuration updates"})


def test_sdk_get_configuration(cfg: ConfigStack) -> None:
    """dapr-agents and the python-sdk read configuration through DaprClient.get_configuration."""
    from dapr.clients import DaprClient

    use_sidecar_in_this_process(cfg.sidecar)  # the SDK's health check reads these ports
    seed(cfg.redis)
    with DaprClient(address=f"127.0.0.1:{cfg.sidecar.grpc_port}") as client:
        got = client.get_configuration(STORE, ["k1", "k2"])
    assert {k: (v.value, v.version) for k, v in got.items.items()} == {"k1": ("v1", "7"), "k2": ("plain", "")}


def test_sdk_subscribe_configuration_as_dapr_agents_does(cfg: ConfigStack) -> None:
    """dapr-agents' hot reload: DaprClient.subscribe_configuration(handler) on a stream the SDK
    reads in a thread, then unsubscribe_configuration (the deprecated RPC) to stop it."""
    from dapr.clients import DaprClient

    use_sidecar_in_this_process(cfg.sidecar)
    seed(cfg.redis)
    updates: queue.Queue[tuple[str, dict[str, str]]] = queue.Queue()
    with DaprClient(address=f"127.0.0.1:{cfg.sidecar.grpc_port}") as client:
        sub_id = client.subscribe_configuration(
            STORE, ["agent_role"], lambda id_, resp: updates.put((id_, {k: v.value for k, v in resp.items.items()})))
        assert sub_id
        wait_listening(cfg.redis, "agent_role")
        cfg.redis.set("agent_role", "New Role")
        seen = updates.get(timeout=READ_TIMEOUT)
        while not seen[1]:  # the SDK also hands the handler the first (id-only) message
            seen = updates.get(timeout=READ_TIMEOUT)
        assert seen == (sub_id, {"agent_role": "New Role"})
        assert client.unsubscribe_configuration(STORE, sub_id) is True
        assert client.unsubscribe_configuration(STORE, sub_id) is False


def test_a_client_that_leaves_ends_its_subscription(cfg: ConfigStack) -> None:
    """A client that goes away (its channel closed, which cancels the stream) unsubscribes from
    the store: Redis loses the listener (bounded wait). Its own channel, not ``cfg.stub``'s: a
    call object may be wrapped by whatever instruments gRPC in the test process (OpenTelemetry's
    client interceptor turns a stream into a plain generator without ``cancel``)."""
    channel = grpc.insecure_channel(f"127.0.0.1:{cfg.sidecar.grpc_port}")
    stream = dapr_pb2_grpc.DaprStub(channel).SubscribeConfigurationAlpha1(pb.SubscribeConfigurationRequest(store_name=STORE, keys=["leaving"]))
    assert next(stream).id
    wait_listening(cfg.redis, "leaving")
    channel.close()
    deadline = time.monotonic() + READ_TIMEOUT
    while cfg.redis.pubsub_numsub("__keyspace@0__:leaving")[0][1]:
        assert time.monotonic() < deadline, "the store still listens after the client left"
        time.sleep(0.05)
