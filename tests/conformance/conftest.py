"""One Redis + one sidecar (per runtime) per test module, reached through the dapr SDK and plain HTTP."""

from __future__ import annotations

import shutil
import tempfile
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import httpx
import pytest
import redis

from cookbook.ports import free_port_block
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar


def component(name: str, ctype: str, metadata: dict[str, str], extra: str = "") -> str:
    items = "".join(f'\n  - name: {k}\n    value: "{v}"' for k, v in metadata.items())
    return textwrap.dedent(
        f"""\
        apiVersion: dapr.io/v1alpha1
        kind: Component
        metadata:
          name: {name}
        spec:
          type: {ctype}
          version: v1
          metadata:"""
    ) + (items or " []") + "\n" + extra


@dataclass
class Dapr:
    runtime: str
    sidecar: Sidecar
    redis: redis.Redis
    http: httpx.Client
    app_id: str

    def client(self):  # type: ignore[no-untyped-def]
        from dapr.clients import DaprClient
        from dapr.conf import settings

        settings.DAPR_HTTP_PORT = self.sidecar.http_port
        settings.DAPR_GRPC_PORT = self.sidecar.grpc_port
        return DaprClient(address=f"127.0.0.1:{self.sidecar.grpc_port}")


def write_resources(folder: Path, redis_addr: str) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "statestore.yaml").write_text(
        component("statestore", "state.redis", {"redisHost": redis_addr, "actorStateStore": "true"})
    )
    docs = [
        component("byname", "state.redis", {"redisHost": redis_addr, "keyPrefix": "name"}),
        component("noprefix", "state.redis", {"redisHost": redis_addr, "keyPrefix": "none"}),
        component("custom", "state.redis", {"redisHost": redis_addr, "keyPrefix": "MyShared"}),
        component("ttlstore", "state.redis", {"redisHost": redis_addr, "ttlInSeconds": "100", "keyPrefix": "name"}),
        component("otherapp", "state.redis", {"redisHost": redis_addr}, extra="scopes:\n- someone-else\n"),
        component("smallpool", "state.redis", {"redisHost": redis_addr, "poolSize": "2"}),
    ]
    (folder / "more.yaml").write_text("---\n".join(docs))


@pytest.fixture(scope="module")
def dapr(dapr_runtime: str) -> Iterator[Dapr]:
    tmp = Path(tempfile.mkdtemp(prefix="conformance-"))
    ports = free_port_block(20)
    server = RedisServer(port=ports.take(), workdir=tmp / "redis").start()
    write_resources(tmp / "resources", server.address)
    sidecar = Sidecar("conf-app", [tmp / "resources"], ports, tmp / "run", runtime=dapr_runtime)
    try:
        sidecar.start()
        with httpx.Client(base_url=f"http://127.0.0.1:{sidecar.http_port}", timeout=10) as http:
            yield Dapr(dapr_runtime, sidecar, server.client(), http, "conf-app")
    finally:
        sidecar.stop()
        server.stop()
        ports.release()
        shutil.rmtree(tmp, ignore_errors=True)  # daprd's scheduler data: 64 MB of etcd WAL
