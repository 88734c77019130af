"""Shared fixtures: a private Redis, sidecars on free ports, and a guard against leftovers.

Every fixture stops what it started on teardown; the guard then fails the test if any process
started through ``cookbook.processes`` is still alive, and the session finalizer sweeps pid
files written by notebook kernels (the repository's conftest.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Iterator

import pytest

from cookbook import processes
from cookbook.ports import PortBlock, free_port_block
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar
from tests.runtimes import require_runtime, runtime_params

@pytest.fixture
def ports() -> Iterator[PortBlock]:
    block = free_port_block(40)
    yield block
    block.release()  # after the fixtures using it (Redis, sidecars) were torn down


@pytest.fixture
def redis_server(ports: PortBlock, tmp_path: Path) -> Iterator[RedisServer]:
    server = RedisServer(port=ports.take(), workdir=tmp_path / "redis").start()
    yield server
    server.stop()


@pytest.fixture(scope="module", params=runtime_params())
def dapr_runtime(request: pytest.FixtureRequest) -> str:
    """The sidecar runtime of this test: every sidecar test runs on daprd and on localdapr.

    Module-scoped so a module's shared stack starts once per runtime. A test that is about the
    local sidecar alone overrides it with ``tests.runtimes.local_only``.
    """
    require_runtime(request.param)
    return request.param


@pytest.fixture
def sidecar_factory(ports: PortBlock, tmp_path: Path, dapr_runtime: str) -> Iterator[Callable[..., Sidecar]]:
    started: list[Sidecar] = []

    def start(app_id: str, resources: Path | str | list[Path | str], *, wait: bool = True, **kwargs: object) -> Sidecar:
        paths = resources if isinstance(resources, list) else [resources]
        sidecar = Sidecar(app_id, paths, ports, tmp_path / f"run-{app_id}-{len(started)}", runtime=dapr_runtime, **kwargs)  # type: ignore[arg-type]
        started.append(sidecar)
        if wait:
            sidecar.start()
        return sidecar

    yield start
    for sidecar in reversed(started):
        sidecar.stop()


@pytest.fixture(autouse=True)
def no_leftover_processes() -> Iterator[None]:
    """Fail a test that leaves a managed process running (after fixtures tore down)."""
    before = {id(p) for p in processes.live_processes()}
    yield
    leftover = [p for p in processes.live_processes() if id(p) not in before]
    for proc in leftover:
        proc.kill()
    assert not leftover, f"processes left running: {leftover}"
