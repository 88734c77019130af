"""A sidecar with pubsub.redis (short redelivery timings for tests) and a state store."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import grpc
import pytest

from cookbook.redis_server import RedisServer
from tests.conformance.conftest import component
from tests.stacks import SidecarStack, start_stack


def write_resources(folder: Path, server: RedisServer, extra: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "pubsub.yaml").write_text(component("messagepubsub", "pubsub.redis", {
        "redisHost": server.address, "processingTimeout": "1000", "redeliverInterval": "200"}))
    (folder / "state.yaml").write_text(component("statestore", "state.redis", {"redisHost": server.address, "actorStateStore": "true"}))
    if extra:
        (folder / "extra.yaml").write_text(extra)
    return folder


def grpc_ready(port: int) -> bool:
    """Readiness of a gRPC app on 127.0.0.1:port (its channel connects)."""
    with grpc.insecure_channel(f"127.0.0.1:{port}") as channel:
        try:
            grpc.channel_ready_future(channel).result(timeout=0.5)
            return True
        except grpc.FutureTimeoutError:
            return False


@pytest.fixture
def ps_stack(dapr_runtime: str) -> Iterator[SidecarStack]:
    stack = start_stack("psapp", write_resources, dapr_runtime)
    yield stack
    stack.stop()
