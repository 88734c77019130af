"""An actor type hosted by another app: sidecar B (no app) calls type ``Rec`` that app A hosts.

daprd finds A through the shared placement service; the local sidecar through the app
directory in the shared actor store's Redis (``localdapr||actorhosts||<ns>||<type>``).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

import grpc
import httpx
from dapr.proto.runtime.v1 import actors_pb2, dapr_pb2_grpc

from cookbook.ports import free_port_block
from cookbook.processes import wait_until
from cookbook.redis_server import RedisServer
from cookbook.sidecar import ControlPlane
from tests.conformance.conftest import component
from tests.conformance.test_actors import ACTOR_CONFIG, start_actor_app


def test_another_apps_actor_is_reached_through_placement(dapr_runtime: str) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="actors-multi-"))
    ports = free_port_block(30)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    (tmp / "res").mkdir()
    (tmp / "res" / "statestore.yaml").write_text(component("statestore", "state.redis", {"redisHost": server.address, "actorStateStore": "true"}))
    app, app_port = start_actor_app(ports, tmp, server.url, ACTOR_CONFIG)
    plane = ControlPlane(ports, tmp / "run", runtime=dapr_runtime)
    host = plane.sidecar("host-app", [tmp / "res"], app_port=app_port)
    caller = plane.sidecar("caller-app", [tmp / "res"])
    r = server.client()
    try:
        host.start()
        caller.start()
        wait_until(lambda: r.lrange("calls", 0, -1), details=lambda: host.log_tail(20))  # the host read /dapr/config
        with httpx.Client(base_url=f"http://127.0.0.1:{caller.http_port}/v1.0", timeout=30) as http:
            resp = http.put("/actors/Rec/m1/method/hello", content=b"from-b", headers={"X-Test": "x"})
            assert resp.status_code == 200, resp.text
            assert resp.json() == {"echo": "from-b", "path": "/actors/Rec/m1/method/hello"}
            call = [json.loads(c) for c in r.lrange("calls", 0, -1) if b"/m1/" in c][-1]
            # daprd 1.18.2 names the HOST app as the caller of a call that came through placement
            assert call["headers"]["dapr-caller-app-id"] == "host-app" and call["headers"]["x-test"] == "x"
            # gRPC too
            stub = dapr_pb2_grpc.DaprStub(grpc.insecure_channel(f"127.0.0.1:{caller.grpc_port}"))
            got = stub.InvokeActor(actors_pb2.InvokeActorRequest(actor_type="Rec", actor_id="m1", method="hello", data=b"g"))
            assert json.loads(got.data)["echo"] == "g"
            # an app's errors come back to the caller as the host's sidecar words them
            failed = http.put("/actors/Rec/m1/method/fail")
            assert (failed.status_code, failed.json()["errorCode"]) == (500, "ERR_ACTOR_INVOKE_METHOD")
            assert failed.json()["message"] == ("error invoke actor method: rpc error: code = Internal desc = "
                                                "error invoke actor method: error from actor service: (500) app says no")
            # actor state is per calling sidecar's app id: the caller does not see the host's rows
            with httpx.Client(base_url=f"http://127.0.0.1:{host.http_port}/v1.0", timeout=30) as hh:
                assert hh.put("/actors/Rec/m1/state", json=[{"operation": "upsert", "request": {"key": "k", "value": 1}}]).status_code == 204
                assert hh.get("/actors/Rec/m1/state/k").json() == 1
            assert http.get("/actors/Rec/m1/state/k").status_code == 204
            # and the caller cannot write an actor it does not host
            assert http.put("/actors/Rec/m1/state", json=[{"operation": "upsert", "request": {"key": "k", "value": 2}}]).json()["errorCode"] == "ERR_ACTOR_INSTANCE_MISSING"
            # nor register its reminders
            assert http.put("/actors/Rec/m1/reminders/r", json={"dueTime": "1s"}).json()["errorCode"] == "ERR_ACTOR_REMINDER_NON_HOSTED"
    finally:
        caller.stop()
        host.stop()
        plane.stop()
        app.terminate()
        server.stop()
        ports.release()
        shutil.rmtree(tmp, ignore_errors=True)
