"""A sidecar with pubsub.redis (short redelivery timings for tests) and a state store."""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest
import redis

from cookbook.ports import PortBlock, free_port_block
from cookbook.redis_server import RedisServer
from cookbook.services import use_sidecar_in_this_process
from cookbook.sidecar import Sidecar
from tests.conformance.conftest import component


@dataclass
class PubSubStack:
    redis_server: RedisServer
    sidecar: Sidecar
    ports: PortBlock
    tmp: Path

    @property
    def redis(self) -> redis.Redis:
        return self.redis_server.client()

    def client(self):  # type: ignore[no-untyped-def]
        from dapr.clients import DaprClient

        use_sidecar_in_this_process(self.sidecar)
        return DaprClient(address=f"127.0.0.1:{self.sidecar.grpc_port}")


def write_resources(folder: Path, redis_addr: str, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pubsub.yaml").write_text(component("messagepubsub", "pubsub.redis", {
        "redisHost": redis_addr, "processingTimeout": "1000", "redeliverInterval": "200"}))
    (folder / "state.yaml").write_text(component("statestore", "state.redis", {"redisHost": redis_addr, "actorStateStore": "true"}))
    if extra:
        (folder / "extra.yaml").write_text(extra)
    return folder


def start_pubsub_stack(app_id: str, app_port: int | None = None, extra: str = "", ports: PortBlock | None = None) -> PubSubStack:
    tmp = Path(tempfile.mkdtemp(prefix=f"ps-{app_id}-"))
    ports = ports or free_port_block(40)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    resources = write_resources(tmp / "resources", server.address, extra)
    sidecar = Sidecar(app_id, [resources], ports, tmp / "run", runtime="local", app_port=app_port)
    try:
        sidecar.start()
    except Exception:
        server.stop()
        raise
    use_sidecar_in_this_process(sidecar)
    return PubSubStack(server, sidecar, ports, tmp)


@pytest.fixture
def ps_stack() -> Iterator[PubSubStack]:
    stack = start_pubsub_stack("psapp")
    yield stack
    stack.sidecar.stop()
    stack.redis_server.stop()
