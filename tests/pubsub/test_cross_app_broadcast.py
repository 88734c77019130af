"""Two apps, two sidecars, one broadcast topic: every app gets every message once.

pubsub.redis makes one consumer group per app id on the topic's stream (``consumerID`` defaults
to the app id), so each app reads the whole stream, while replicas of one app would share
it. Both sidecars only need the pub/sub component (no actors). Both runtimes.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Iterator

import pytest
from dapr.clients import DaprClient

from cookbook.ports import free_port_block
from cookbook.processes import wait_until
from cookbook.redis_server import RedisServer
from cookbook.services import use_sidecar_in_this_process
from cookbook.sidecar import Sidecar
from tests.conformance.conftest import component
from tests.pubsub.streams import next_message, subscribe

APPS = ("team-a", "team-b")
TOPIC = "team.broadcast"


@pytest.fixture
def two_apps(dapr_runtime: str) -> Iterator[tuple[RedisServer, dict[str, Sidecar]]]:
    tmp = Path(tempfile.mkdtemp(prefix="stack-broadcast-"))
    ports = free_port_block(40)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    resources = tmp / "resources"
    resources.mkdir()
    (resources / "pubsub.yaml").write_text(component("messagepubsub", "pubsub.redis", {"redisHost": server.address}))
    sidecars = {app: Sidecar(app, [resources], ports, tmp / app, runtime=dapr_runtime, actors=False) for app in APPS}
    try:
        for sidecar in sidecars.values():
            sidecar.start()
        yield server, sidecars
    finally:
        for sidecar in sidecars.values():
            sidecar.stop()
        server.stop()
        ports.release()
        shutil.rmtree(tmp, ignore_errors=True)


def _client(sidecar: Sidecar) -> DaprClient:
    use_sidecar_in_this_process(sidecar)  # the SDK's health check at construction reads these ports
    return DaprClient(address=f"127.0.0.1:{sidecar.grpc_port}")


def test_each_app_gets_each_broadcast_once(two_apps: tuple[RedisServer, dict[str, Sidecar]]) -> None:
    server, sidecars = two_apps
    r = server.client()
    clients = {app: _client(sc) for app, sc in sidecars.items()}
    subs = {app: subscribe(c, "messagepubsub", TOPIC) for app, c in clients.items()}
    try:
        clients["team-a"].publish_event("messagepubsub", TOPIC, json.dumps({"from": "team-a", "n": 1}), data_content_type="application/json")
        clients["team-b"].publish_event("messagepubsub", TOPIC, json.dumps({"from": "team-b", "n": 2}), data_content_type="application/json")
        got: dict[str, list[dict]] = {app: [] for app in APPS}
        for app, sub in subs.items():
            for _ in range(2):
                msg = next_message(sub)
                got[app].append({"data": msg.data(), "source": msg.source()})
                sub.respond_success(msg)
        expected = [{"data": {"from": "team-a", "n": 1}, "source": "team-a"}, {"data": {"from": "team-b", "n": 2}, "source": "team-b"}]
        assert got == {"team-a": expected, "team-b": expected}  # each app, each message, in stream order
        assert r.xlen(TOPIC) == 2  # one stream entry per publish, whoever reads it
        wait_until(lambda: all(g["pending"] == 0 for g in r.xinfo_groups(TOPIC)))
        groups = {g["name"].decode(): g for g in r.xinfo_groups(TOPIC)}
        assert set(groups) == set(APPS)  # one consumer group per app id
        last = r.xrevrange(TOPIC, count=1)[0][0]
        assert {app: g["last-delivered-id"] for app, g in groups.items()} == {app: last for app in APPS}
    finally:
        for sub in subs.values():
            sub.close()
        for c in clients.values():
            c.close()
