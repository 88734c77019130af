"""The actors API on both runtimes: app channel, invocation, state, reminders, timers, errors.

One Redis, one recording actor app (``actor_app.py``, type ``Rec``, idle timeout 2 s, scan 1 s)
and one sidecar per runtime, with ``APP_API_TOKEN`` set and the ``ActorStateTTL`` feature on.
Every expectation here was first seen on daprd 1.18.2 (with placement and scheduler) and is
asserted on both runtimes.
"""

from __future__ import annotations

import json
import os
import shutil
import sys
import tempfile
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import grpc
import httpx
import pytest
import redis
from dapr.proto.runtime.v1 import actors_pb2, dapr_pb2_grpc
from google.protobuf import any_pb2

from cookbook.ports import free_port_block
from cookbook.processes import ManagedProcess, wait_until
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar
from tests.conformance.conftest import component

APP = Path(__file__).with_name("actor_app.py")
APP_ID = "actorapp"
ACTOR_CONFIG = {"entities": ["Rec"], "actorIdleTimeout": "2s", "actorScanInterval": "1s"}
TTL_CONFIG = """\
apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata:
  name: actors
spec:
  features:
  - name: ActorStateTTL
    enabled: true
"""


@dataclass
class Stack:
    runtime: str
    sidecar: Sidecar
    app: ManagedProcess
    redis: redis.Redis
    http: httpx.Client

    def calls(self, path_part: str = "") -> list[dict[str, Any]]:
        return [c for c in (json.loads(x) for x in self.redis.lrange("calls", 0, -1)) if path_part in c["path"]]

    def grpc(self) -> dapr_pb2_grpc.DaprStub:
        return dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{self.sidecar.grpc_port}"))

    def activate(self, actor_id: str) -> None:
        assert self.http.put(f"/actors/Rec/{actor_id}/method/hello", content=b"").status_code == 200


def start_actor_app(ports, tmp: Path, redis_url: str, config: dict[str, Any], name: str = "actor-app") -> tuple[ManagedProcess, int]:  # type: ignore[no-untyped-def]
    port = ports.take()
    app = ManagedProcess(name, [sys.executable, str(APP)], tmp / f"{name}.log",
                         env={**os.environ, "COUNTER_REDIS_URL": redis_url, "APP_PORT": str(port), "ACTOR_CONFIG": json.dumps(config)},
                         ready=lambda: httpx.get(f"http://127.0.0.1:{port}/healthz").status_code == 200)
    app.start_and_wait(30)
    return app, port


@pytest.fixture(scope="module")
def stack(dapr_runtime: str) -> Iterator[Stack]:
    tmp = Path(tempfile.mkdtemp(prefix="actors-"))
    ports = free_port_block(24)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    (tmp / "res").mkdir()
    (tmp / "res" / "statestore.yaml").write_text(component("statestore", "state.redis", {"redisHost": server.address, "actorStateStore": "true"}))
    (tmp / "config.yaml").write_text(TTL_CONFIG)
    app, app_port = start_actor_app(ports, tmp, server.url, ACTOR_CONFIG)
    sidecar = Sidecar(APP_ID, [tmp / "res"], ports, tmp / "run", runtime=dapr_runtime, app_port=app_port, config=tmp / "config.yaml",
                      env={"APP_API_TOKEN": "app-token"})
    try:
        sidecar.start()
        client = server.client()
        with httpx.Client(base_url=f"http://127.0.0.1:{sidecar.http_port}/v1.0", timeout=30) as http:
            stack = Stack(dapr_runtime, sidecar, app, client, http)
            wait_until(lambda: stack.calls("/dapr/config"), details=lambda: sidecar.log_tail(20))
            yield stack
    finally:
        sidecar.stop()
        app.terminate()
        server.stop()
        ports.release()
        shutil.rmtree(tmp, ignore_errors=True)


def error(resp: httpx.Response) -> tuple[int, str, str]:
    body = resp.json()
    return resp.status_code, body["errorCode"], body["message"]


# ---- app channel ---------------------------------------------------------------------------------
def test_config_is_fetched_from_the_app_with_the_app_token(stack: Stack) -> None:
    call = stack.calls("/dapr/config")[0]
    assert call["method"] == "GET"
    assert call["headers"]["dapr-api-token"] == "app-token"


def test_invocation_is_a_put_on_the_app_with_daprd_headers(stack: Stack) -> None:
    resp = stack.http.post("/actors/Rec/inv1/method/hello?q=1", content=b'{"in":1}', headers={"Content-Type": "application/json", "X-Test": "t"})
    assert resp.status_code == 200
    assert resp.json() == {"echo": '{"in":1}', "path": "/actors/Rec/inv1/method/hello?q=1"}
    call = stack.calls("/actors/Rec/inv1/method/hello")[-1]
    assert call["method"] == "PUT"  # daprd always PUTs, whatever the caller's verb
    assert call["headers"] == {"content-type": "application/json", "x-test": "t", "dapr-api-call": "true", "dapr-caller-app-id": APP_ID,
                               "dapr-caller-namespace": "default", "dapr-api-token": "app-token"}


def test_app_response_headers_come_back(stack: Stack) -> None:
    resp = stack.http.put("/actors/Rec/inv1/method/hdr")
    assert (resp.status_code, resp.text, resp.headers["x-custom"]) == (200, '"ok"', "v1")


@pytest.mark.parametrize(("method", "message"), [
    ("fail", "error invoke actor method: error from actor service: (500) app says no"),
    ("missing", "error invoke actor method: actor method not found: actors/Rec/inv2/method/missing"),
])
def test_app_errors_are_err_actor_invoke_method(stack: Stack, method: str, message: str) -> None:
    assert error(stack.http.put(f"/actors/Rec/inv2/method/{method}")) == (500, "ERR_ACTOR_INVOKE_METHOD", message)


def test_a_type_nobody_hosts_is_not_found_after_retries(stack: Stack) -> None:
    assert error(stack.http.put("/actors/Nobody/x1/method/m")) == (
        500, "ERR_ACTOR_INVOKE_METHOD",
        "error invoke actor method: failed to lookup actor: api error: code = FailedPrecondition desc = did not find address for actor 'Nobody/x1'")


def test_an_empty_method_name_is_no_actor_route(stack: Stack) -> None:
    assert error(stack.http.put("/actors/Rec/x1/method/")) == (404, "ERR_DIRECT_INVOKE", "failed getting app id either from the URL path or the header dapr-app-id")


# ---- turn-based concurrency ----------------------------------------------------------------------
def test_calls_to_one_actor_are_serialised_and_other_actors_run_alongside(stack: Stack) -> None:
    stack.redis.delete("turns")
    threads = [threading.Thread(target=stack.http.put, args=(f"/actors/Rec/{aid}/method/slow",), kwargs={"content": str(n).encode()})
               for n, aid in enumerate(["turn1", "turn1", "turn1", "turn2"])]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    turns = [json.loads(x) for x in stack.redis.lrange("turns", 0, -1)]
    one = [(t["at"], t["n"]) for t in turns if t["id"] == "turn1"]
    assert len(one) == 6
    # start, end, start, end ...: never two turns of turn1 at once, each start followed by its own end
    assert [at for at, _ in one] == ["start", "end"] * 3
    assert all(one[i][1] == one[i + 1][1] for i in range(0, 6, 2))
    # turn2's call ran while turn1 was busy: its start comes before turn1's last end
    events = [(t["id"], t["at"]) for t in turns]
    assert events.index(("turn2", "start")) < len(events) - 1 - events[::-1].index(("turn1", "end"))


# ---- state ---------------------------------------------------------------------------------------
def test_state_of_an_inactive_actor_reads_empty_and_refuses_writes(stack: Stack) -> None:
    assert stack.http.get("/actors/Rec/never/state/k").status_code == 204
    assert error(stack.http.put("/actors/Rec/never/state", json=[{"operation": "upsert", "request": {"key": "k", "value": 1}}])) == (
        400, "ERR_ACTOR_INSTANCE_MISSING", "actor instance is missing")


def test_state_transaction_uses_daprd_key_layout_and_ttl(stack: Stack) -> None:
    stack.activate("st1")
    ops = [{"operation": "upsert", "request": {"key": "k1", "value": {"x": 1}}},
           {"operation": "upsert", "request": {"key": "k2", "value": "s", "metadata": {"ttlInSeconds": "100"}}},
           {"operation": "upsert", "request": {"key": "gone", "value": 1}}]
    assert stack.http.put("/actors/Rec/st1/state", json=ops).status_code == 204
    assert stack.http.put("/actors/Rec/st1/state", json=[{"operation": "delete", "request": {"key": "gone"}}]).status_code == 204
    assert stack.redis.hgetall(f"{APP_ID}||Rec||st1||k1") == {b"data": b'{"x":1}', b"version": b"1"}
    assert stack.redis.hget(f"{APP_ID}||Rec||st1||k2", "data") == b'"s"'
    assert 90 < stack.redis.ttl(f"{APP_ID}||Rec||st1||k2") <= 100
    assert stack.redis.ttl(f"{APP_ID}||Rec||st1||k1") == -1
    assert not stack.redis.exists(f"{APP_ID}||Rec||st1||gone")
    got = stack.http.get("/actors/Rec/st1/state/k1")
    assert (got.status_code, got.headers["content-type"], got.json()) == (200, "application/json", {"x": 1})
    assert stack.http.get("/actors/Rec/st1/state/nokey").status_code == 204


@pytest.mark.parametrize(("ops", "expected"), [
    ([{"operation": "bogus", "request": {"key": "k"}}], (500, "ERR_ACTOR_STATE_TRANSACTION_SAVE", "error saving actor transaction state: operation type bogus not supported")),
    ([{"operation": "delete", "request": {"key": ""}}], (500, "ERR_ACTOR_STATE_TRANSACTION_SAVE", "error saving actor transaction state: missing key")),
    ([{"operation": "upsert"}], (500, "ERR_ACTOR_STATE_TRANSACTION_SAVE", "error saving actor transaction state: request data is empty")),
    ([{"operation": "upsert", "request": {"key": "k", "value": 1, "metadata": {"ttlInSeconds": "bad"}}}],
     (500, "ERR_ACTOR_STATE_TRANSACTION_SAVE", 'error saving actor transaction state: failed to parse ttl from metadata: strconv.ParseInt: parsing "bad": invalid syntax')),
    ({"operation": "upsert"}, (400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: json: cannot unmarshal object into Go value of type []api.TransactionalOperation")),
], ids=["bogus-op", "missing-key", "no-request", "bad-ttl", "not-a-list"])
def test_bad_transactions(stack: Stack, ops: Any, expected: tuple[int, str, str]) -> None:
    stack.activate("bad1")
    assert error(stack.http.put("/actors/Rec/bad1/state", json=ops)) == expected


def test_malformed_transaction_body(stack: Stack) -> None:
    assert error(stack.http.put("/actors/Rec/bad1/state", content=b"notjson")) == (
        400, "ERR_MALFORMED_REQUEST", "failed deserializing HTTP body: invalid character 'o' in literal null (expecting 'u')")


def test_workflow_actor_types_are_reserved(stack: Stack) -> None:
    wf = f"dapr.internal.default.{APP_ID}.workflow"
    expected = (403, "ERR_ACTOR_TYPE_RESERVED", f'actor type "{wf}" is reserved for the Dapr workflow runtime; direct actor API access is not permitted')
    assert error(stack.http.get(f"/actors/{wf}/x/state/k")) == expected
    assert error(stack.http.put(f"/actors/{wf}/x/reminders/r", json={"dueTime": "1s"})) == expected


# ---- reminders -----------------------------------------------------------------------------------
def test_reminder_register_get_fire_delete(stack: Stack) -> None:
    assert stack.http.put("/actors/Rec/rem1/reminders/r1", json={"dueTime": "1s", "period": "1s", "data": {"hello": "w"}}).status_code == 204
    got = stack.http.get("/actors/Rec/rem1/reminders/r1")
    assert got.json() == {"actorID": "rem1", "actorType": "Rec", "data": {"hello": "w"}, "dueTime": "1s", "period": "@every 1s"}
    wait_until(lambda: len(stack.calls("/actors/Rec/rem1/method/remind/r1")) >= 2, timeout=20, details=lambda: stack.sidecar.log_tail(20))
    call = stack.calls("/actors/Rec/rem1/method/remind/r1")[0]
    assert call["method"] == "PUT" and json.loads(call["body"]) == {"data": {"hello": "w"}, "dueTime": "", "period": ""}
    assert call["headers"] == {"content-type": "application/json", "dapr-api-token": "app-token"}
    assert stack.http.delete("/actors/Rec/rem1/reminders/r1").status_code == 204
    assert error(stack.http.get("/actors/Rec/rem1/reminders/r1")) == (404, "ERR_ACTOR_REMINDER_NOT_FOUND", "actor reminder not found: r1")
    assert stack.http.delete("/actors/Rec/rem1/reminders/r1").status_code == 204  # deleting again is fine


def test_reminder_cancel_header_does_not_stop_it(stack: Stack) -> None:
    """daprd 1.18.2 (Scheduler reminders) keeps firing a reminder whose callback answers
    ``X-DaprReminderCancel: true``; only unregistering stops it."""
    assert stack.http.put("/actors/Rec/rem2/reminders/cancelme", json={"dueTime": "0s", "period": "1s"}).status_code == 204
    wait_until(lambda: len(stack.calls("/actors/Rec/rem2/method/remind/cancelme")) >= 3, timeout=20)
    assert stack.http.get("/actors/Rec/rem2/reminders/cancelme").status_code == 200
    assert stack.http.delete("/actors/Rec/rem2/reminders/cancelme").status_code == 204


@pytest.mark.parametrize(("body", "message"), [
    ({"dueTime": "xyz"}, "rpc error: code = Unknown desc = job failed validation: due time format not recognized"),
    ({"dueTime": "1s", "period": "xyz"}, "unsupported period format: xyz"),
    ({"dueTime": "1s", "period": "1s", "ttl": "xyz"}, "rpc error: code = Unknown desc = job failed validation: ttl format not recognized"),
    ({}, "rpc error: code = Unknown desc = job failed validation: job must have either a due time or a schedule"),
    ({"dueTime": "1s", "ttl": "1ms"}, "rpc error: code = Unknown desc = job failed validation: job must have a schedule to have a ttl"),
], ids=["due", "period", "ttl", "empty", "ttl-without-period"])
def test_bad_reminders(stack: Stack, body: dict[str, str], message: str) -> None:
    assert error(stack.http.put("/actors/Rec/rem3/reminders/bad", json=body)) == (500, "ERR_ACTOR_REMINDER_CREATE", f"error creating actor reminder: {message}")


def test_reminders_only_for_hosted_types(stack: Stack) -> None:
    assert error(stack.http.put("/actors/Nobody/x/reminders/r", json={"dueTime": "1s"})) == (
        403, "ERR_ACTOR_REMINDER_NON_HOSTED", "operations on actor reminders are only possible on hosted actor types")


def test_reminder_periods_read_back_as_the_scheduler_shows_them(stack: Stack) -> None:
    for name, period, shown in (("p1", "1h", "@every 1h0m0s"), ("p2", "R3/PT2S", "@every 2s"), ("p3", "90s", "@every 1m30s")):
        assert stack.http.put(f"/actors/Rec/rem4/reminders/{name}", json={"dueTime": "1h", "period": period}).status_code == 204
        assert stack.http.get(f"/actors/Rec/rem4/reminders/{name}").json()["period"] == shown
        stack.http.delete(f"/actors/Rec/rem4/reminders/{name}")


# ---- timers --------------------------------------------------------------------------------------
def test_timer_fires_with_its_callback_and_stops_when_deleted(stack: Stack) -> None:
    assert stack.http.put("/actors/Rec/tim1/timers/t1", json={"dueTime": "0s", "period": "1s", "callback": "cb", "data": "tdata"}).status_code == 204
    wait_until(lambda: len(stack.calls("/actors/Rec/tim1/method/timer/t1")) >= 2, timeout=20)
    assert stack.http.delete("/actors/Rec/tim1/timers/t1").status_code == 204
    call = stack.calls("/actors/Rec/tim1/method/timer/t1")[0]
    assert json.loads(call["body"]) == {"data": "tdata", "callback": "cb", "dueTime": "0s", "period": "1s"}
    fired = len(stack.calls("/actors/Rec/tim1/method/timer/t1"))
    stack.activate("tim1")  # a full round trip later ...
    stack.activate("tim1")
    assert len(stack.calls("/actors/Rec/tim1/method/timer/t1")) <= fired + 1  # ... at most the one already under way


def test_bad_timer_period(stack: Stack) -> None:
    assert error(stack.http.put("/actors/Rec/tim2/timers/bad", json={"period": "xyz"})) == (
        500, "ERR_ACTOR_TIMER_CREATE", "error creating actor timer: invalid timer period: parse error: unsupported duration format: xyz")


# ---- idle deactivation and metadata --------------------------------------------------------------
def test_idle_actor_is_deactivated_and_loses_its_instance(stack: Stack) -> None:
    stack.activate("idle1")
    assert stack.http.put("/actors/Rec/idle1/state", json=[{"operation": "upsert", "request": {"key": "k", "value": 1}}]).status_code == 204
    wait_until(lambda: any(c["method"] == "DELETE" for c in stack.calls("/actors/Rec/idle1")), timeout=20, details=lambda: stack.sidecar.log_tail(20))
    delete = [c for c in stack.calls("/actors/Rec/idle1") if c["method"] == "DELETE"][0]
    assert delete["path"] == "/actors/Rec/idle1" and delete["headers"]["dapr-api-token"] == "app-token"
    assert error(stack.http.put("/actors/Rec/idle1/state", json=[{"operation": "upsert", "request": {"key": "k", "value": 2}}]))[1] == "ERR_ACTOR_INSTANCE_MISSING"
    assert stack.http.get("/actors/Rec/idle1/state/k").json() == 1  # state outlives the activation


def test_metadata_lists_the_hosted_type_with_active_count(stack: Stack) -> None:
    stack.activate("meta1")
    meta = stack.http.get("/metadata").json()
    rec = [a for a in meta["actors"] if a["type"] == "Rec"]
    assert len(rec) == 1 and rec[0]["count"] >= 1
    assert {"type": "Rec", "count": rec[0]["count"]} in meta["actorRuntime"]["activeActors"]


# ---- gRPC ----------------------------------------------------------------------------------------
def test_grpc_actor_api(stack: Stack) -> None:
    st = stack.grpc()
    resp = st.InvokeActor(actors_pb2.InvokeActorRequest(actor_type="Rec", actor_id="g1", method="hello", data=b"hi", metadata={"X-Test": "m"}))
    assert json.loads(resp.data) == {"echo": "hi", "path": "/actors/Rec/g1/method/hello"}
    assert stack.calls("/actors/Rec/g1/method/hello")[-1]["headers"]["x-test"] == "m"
    with pytest.raises(grpc.RpcError) as err:
        st.InvokeActor(actors_pb2.InvokeActorRequest(actor_type="Rec", actor_id="g1", method="fail"))
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.INTERNAL, "error invoke actor method: error from actor service: (500) app says no")
    op = actors_pb2.TransactionalActorStateOperation(operationType="upsert", key="gk", value=any_pb2.Any(value=b'"v"'), metadata={"ttlInSeconds": "50"})
    st.ExecuteActorStateTransaction(actors_pb2.ExecuteActorStateTransactionRequest(actor_type="Rec", actor_id="g1", operations=[op]))
    assert stack.redis.hget(f"{APP_ID}||Rec||g1||gk", "data") == b'"v"' and 40 < stack.redis.ttl(f"{APP_ID}||Rec||g1||gk") <= 50
    assert st.GetActorState(actors_pb2.GetActorStateRequest(actor_type="Rec", actor_id="g1", key="gk")).data == b'"v"'
    assert st.GetActorState(actors_pb2.GetActorStateRequest(actor_type="Rec", actor_id="g1", key="none")).data == b""
    with pytest.raises(grpc.RpcError) as err:
        st.ExecuteActorStateTransaction(actors_pb2.ExecuteActorStateTransactionRequest(actor_type="Rec", actor_id="nope", operations=[op]))
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.INTERNAL, "actor instance is missing")
    with pytest.raises(grpc.RpcError) as err:
        st.ExecuteActorStateTransaction(actors_pb2.ExecuteActorStateTransactionRequest(
            actor_type="Rec", actor_id="g1", operations=[actors_pb2.TransactionalActorStateOperation(operationType="bogus", key="k")]))
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.UNIMPLEMENTED, "operation type bogus not supported")


def test_grpc_reminders_keep_data_as_daprd_does(stack: Stack) -> None:
    st = stack.grpc()
    st.RegisterActorReminder(actors_pb2.RegisterActorReminderRequest(actor_type="Rec", actor_id="g2", name="gr", due_time="1h", period="1h", data=b'{"a":1}'))
    got = st.GetActorReminder(actors_pb2.GetActorReminderRequest(actor_type="Rec", actor_id="g2", name="gr"))
    assert (got.actor_type, got.actor_id, got.due_time, got.period) == ("Rec", "g2", "1h", "@every 1h0m0s")
    assert got.data.type_url == "type.googleapis.com/google.protobuf.BytesValue" and got.data.value == b'\n\x0e"eyJhIjoxfQ=="'
    # the same reminder over HTTP: its data is the JSON (base64) string daprd keeps
    assert stack.http.get("/actors/Rec/g2/reminders/gr").json()["data"] == "eyJhIjoxfQ=="
    listed = st.ListActorReminders(actors_pb2.ListActorRemindersRequest(actor_type="Rec", actor_id="g2"))
    assert [r.name for r in listed.reminders] == ["gr"]
    st.UnregisterActorReminder(actors_pb2.UnregisterActorReminderRequest(actor_type="Rec", actor_id="g2", name="gr"))
    with pytest.raises(grpc.RpcError) as err:
        st.GetActorReminder(actors_pb2.GetActorReminderRequest(actor_type="Rec", actor_id="g2", name="gr"))
    assert (err.value.code(), err.value.details()) == (grpc.StatusCode.NOT_FOUND, "actor reminder not found: gr")
    with pytest.raises(grpc.RpcError) as err:
        st.RegisterActorReminder(actors_pb2.RegisterActorReminderRequest(actor_type="Nobody", actor_id="g2", name="gr", due_time="1s"))
    assert err.value.code() == grpc.StatusCode.PERMISSION_DENIED


# ---- restarts (last: they restart the module's sidecar) ------------------------------------------
def test_zz_reminders_survive_a_sidecar_kill_and_timers_do_not(stack: Stack) -> None:
    assert stack.http.put("/actors/Rec/dur1/reminders/keep", json={"dueTime": "4s", "data": "kept"}).status_code == 204
    assert stack.http.put("/actors/Rec/dur1/timers/lost", json={"dueTime": "4s", "callback": "cb"}).status_code == 204
    stack.sidecar.kill()
    assert stack.calls("/actors/Rec/dur1/method/remind/keep") == []  # not fired before the kill: a later fire is the new sidecar's
    stack.sidecar.process.start_and_wait(60)
    got = stack.http.get("/actors/Rec/dur1/reminders/keep")
    if got.status_code == 200:  # not due yet (a slow restart may take longer than the due time)
        assert got.json() == {"actorID": "dur1", "actorType": "Rec", "data": "kept", "dueTime": "4s"}
    wait_until(lambda: stack.calls("/actors/Rec/dur1/method/remind/keep"), timeout=30, details=lambda: stack.sidecar.log_tail(20))
    assert json.loads(stack.calls("/actors/Rec/dur1/method/remind/keep")[0]["body"]) == {"data": "kept", "dueTime": "", "period": ""}
    # a one-shot reminder is gone once it fired; the timer died with the sidecar
    wait_until(lambda: stack.http.get("/actors/Rec/dur1/reminders/keep").status_code == 404, timeout=20)
    assert stack.calls("/actors/Rec/dur1/method/timer/lost") == []


def test_zz_app_killed_mid_call_gets_daprd_error_and_the_actor_comes_back(stack: Stack) -> None:
    stack.activate("crash1")
    assert stack.http.put("/actors/Rec/crash1/state", json=[{"operation": "upsert", "request": {"key": "k", "value": "before"}}]).status_code == 204
    port = stack.sidecar.app_port
    stack.app.kill()
    status, code, message = error(stack.http.put("/actors/Rec/crash1/method/hello"))
    assert (status, code) == (500, "ERR_ACTOR_INVOKE_METHOD")
    assert message == f'error invoke actor method: Put "http://127.0.0.1:{port}/actors/Rec/crash1/method/hello": dial tcp 127.0.0.1:{port}: connect: connection refused'
    stack.app.start_and_wait(30)
    assert stack.http.put("/actors/Rec/crash1/method/hello").status_code == 200
    assert stack.http.get("/actors/Rec/crash1/state/k").json() == "before"


# ---- without placement, without an actor state store -----------------------------------------------
def _resources(tmp: Path, redis_address: str, actor_store: bool) -> Path:
    folder = tmp / ("res-store" if actor_store else "res-plain")
    folder.mkdir(exist_ok=True)
    meta = {"redisHost": redis_address, **({"actorStateStore": "true"} if actor_store else {})}
    (folder / "statestore.yaml").write_text(component("statestore", "state.redis", meta))
    return folder


def test_without_placement_every_actor_api_is_err_actor_no_placement(sidecar_factory, redis_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sidecar = sidecar_factory("noplacement", _resources(tmp_path, redis_server.address, True), actors=False)
    base = f"http://127.0.0.1:{sidecar.http_port}/v1.0/actors/Rec/a1"
    expected = (400, "ERR_ACTOR_NO_PLACEMENT", "placement service is not configured")
    assert error(httpx.put(f"{base}/method/m")) == expected
    assert error(httpx.get(f"{base}/state/k")) == expected
    assert error(httpx.put(f"{base}/state", json=[])) == expected
    assert error(httpx.put(f"{base}/reminders/r", json={"dueTime": "1s"})) == expected
    assert error(httpx.put(f"{base}/timers/t", json={"dueTime": "1s"})) == expected


def test_actors_run_without_an_actor_state_store(sidecar_factory, ports, redis_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    """daprd hosts and calls actors with no ``actorStateStore``; only state needs one (daprd's state
    calls then wait, the local sidecar answers ERR_ACTOR_RUNTIME_NOT_FOUND: see DIFFERENCES.md)."""
    app, app_port = start_actor_app(ports, tmp_path, redis_server.url, ACTOR_CONFIG, name="nostore-app")
    try:
        sidecar = sidecar_factory("nostore", _resources(tmp_path, redis_server.address, False), app_port=app_port)
        wait_until(lambda: redis_server.client().lrange("calls", 0, -1), details=lambda: sidecar.log_tail(20))
        resp = httpx.put(f"http://127.0.0.1:{sidecar.http_port}/v1.0/actors/Rec/a1/method/hello", content=b"x", timeout=30)
        assert (resp.status_code, resp.json()) == (200, {"echo": "x", "path": "/actors/Rec/a1/method/hello"})
    finally:
        app.terminate()


def test_a_graceful_stop_deactivates_active_actors(sidecar_factory, ports, redis_server, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    app, app_port = start_actor_app(ports, tmp_path, redis_server.url, {"entities": ["Rec"]}, name="stop-app")
    r = redis_server.client()
    try:
        sidecar = sidecar_factory("stopper", _resources(tmp_path, redis_server.address, True), app_port=app_port)
        wait_until(lambda: r.lrange("calls", 0, -1), details=lambda: sidecar.log_tail(20))
        assert httpx.put(f"http://127.0.0.1:{sidecar.http_port}/v1.0/actors/Rec/s1/method/hello", timeout=30).status_code == 200
        sidecar.terminate()
        deletes = [c for c in (json.loads(x) for x in r.lrange("calls", 0, -1)) if c["method"] == "DELETE"]
        assert [c["path"] for c in deletes] == ["/actors/Rec/s1"]
    finally:
        app.terminate()
