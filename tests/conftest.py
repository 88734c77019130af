"""Shared fixtures: a private Redis, sidecars on free ports, and a guard against leftovers.

Every fixture stops what it started on teardown; the guard then fails the test if any process
started through ``cookbook.processes`` is still alive, and the session finalizer sweeps pid
files written by notebook kernels (which run in their own processes).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path
from typing import Callable, Iterator

import pytest

from cookbook import processes
from cookbook.ports import PortBlock, free_port_block
from cookbook.redis_server import RedisServer
from cookbook.sidecar import Sidecar
from tests.runtimes import require_runtime, runtime_params

# Kernels started by nbmake/papermill inherit this and record their processes here. Each xdist
# worker keeps its own folder: workers inherit the controller's environment, and a worker that
# finishes sweeps its folder, which must not hold the kernels of a worker still running.
_PIDFILES = Path(tempfile.mkdtemp(prefix="cookbook-pids-"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ[processes.PIDFILE_DIR_ENV] = str(_PIDFILES)
else:
    os.environ.setdefault(processes.PIDFILE_DIR_ENV, str(_PIDFILES))

_NOTEBOOK_NUMBER = re.compile(r"(?<![0-9])(\d\d)_[a-z]")


def xdist_group_of(item: pytest.Item) -> str:
    """The worker group of a test under ``pytest -n N --dist loadgroup``.

    Everything about notebook NN (its nbmake run, its papermill cases) shares one group, because
    notebook NN always binds the same port block (20000 + 100*NN) and two of its runs at once
    would collide. Any other test goes with its module and runtime, so a module's shared stack
    (fixtures of module scope) starts once per runtime, as without xdist, while a module's daprd
    and local halves may run side by side.
    """
    path = item.path
    if path.suffix == ".ipynb":
        return f"notebook-{path.name[:2]}"
    if path.parent.name == "notebooks" and path.parent.parent.name == "tests":
        callspec = getattr(item, "callspec", None)
        names = [v for v in (callspec.params.values() if callspec else ()) if isinstance(v, str)]
        numbers = {m.group(1) for v in names if (m := _NOTEBOOK_NUMBER.match(v))}
        if len(numbers) == 1:
            return f"notebook-{numbers.pop()}"
    callspec = getattr(item, "callspec", None)
    runtime = callspec.params.get("dapr_runtime") if callspec else None
    module = item.nodeid.split("::", 1)[0]
    return f"{module}[{runtime}]" if runtime else module


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))


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


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    processes.stop_all()
    killed = processes.sweep_pidfiles(_PIDFILES)
    shutil.rmtree(_PIDFILES, ignore_errors=True)
    if killed:
        print(f"\ncookbook guard: killed leftover processes from notebooks: {', '.join(killed)}")
