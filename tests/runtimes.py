"""Which sidecar runtimes a test runs on: real daprd (the reference) and the local sidecar.

Differential testing: every test that talks to a sidecar runs once per runtime, and a behaviour
that differs is a local-sidecar defect (or a difference listed in localdapr/DIFFERENCES.md).

Why not skip silently: the daprd half is the point of the suite. When daprd is missing it is
skipped with a message saying how to get it, unless ``COOKBOOK_REQUIRE_DAPRD=1`` (set by
``make test`` whenever Go is on PATH, so CI builds daprd and must run it), in which case the
missing binary is a failure.
"""

from __future__ import annotations

import atexit
import functools
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Sequence

import pytest

from cookbook.sidecar import find_daprd, write_daprd_config

RUNTIMES = ("daprd", "local")
REQUIRE_ENV = "COOKBOOK_REQUIRE_DAPRD"
HOW_TO_GET_DAPRD = (
    "no daprd found (DAPRD, PATH, the project's .dapr/bin, ~/.dapr/bin): build it with "
    "'make daprd' (needs Go 1.26) or install it with 'dapr init --slim'"
)


def require_runtime(runtime: str) -> None:
    """Skip (or fail, when daprd is required) a daprd test on a machine without daprd."""
    if runtime != "daprd" or find_daprd() is not None:
        return
    if os.environ.get(REQUIRE_ENV) == "1":
        pytest.fail(f"{REQUIRE_ENV}=1 but {HOW_TO_GET_DAPRD}")
    pytest.skip(HOW_TO_GET_DAPRD)


def local_only(reason: str):  # type: ignore[no-untyped-def]
    """Run a test on the local sidecar only; ``reason`` says why it has no daprd half (e.g. it
    checks the local sidecar's own "not supported" answer or its internal reminder keys)."""
    return pytest.mark.parametrize("dapr_runtime", [pytest.param("local", id=f"local-only({reason})")], indirect=True)


def runtime_params() -> list[pytest.param]:  # type: ignore[valid-type]
    """``params=`` for fixtures that start a sidecar: one id per runtime."""
    return [pytest.param(r, id=r) for r in RUNTIMES]


def sidecar_command(runtime: str) -> list[str]:
    """The executable (and arguments) that start a bare sidecar of this runtime."""
    if runtime == "daprd":
        found = find_daprd()
        assert found is not None, HOW_TO_GET_DAPRD
        return [str(found.daprd)]
    return [sys.executable, "-m", "localdapr"]


# A bare daprd listens on 0.0.0.0 and fixed ports (metrics 9090) that collide between tests run
# side by side: bind it to loopback, without metrics. A flag the test passes itself wins.
_DAPRD_LOOPBACK = (
    ("--enable-metrics", "false"),
    ("--metrics-listen-address", "127.0.0.1"),
    ("--dapr-internal-grpc-listen-address", "127.0.0.1"),
    ("--dapr-listen-addresses", "127.0.0.1"),
)


@functools.cache
def _bare_daprd_config() -> Path:
    """One Configuration with file-based name resolution for every bare daprd of this run
    (its folder is removed when the test process exits)."""
    folder = Path(tempfile.mkdtemp(prefix="daprd-nr-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    return write_daprd_config(folder / "config.yaml", folder / "nr.db")


def run_sidecar_to_exit(runtime: str, args: Sequence[str], cwd: Path | None = None, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a sidecar that is expected to exit by itself (bad flags or components).

    Both runtimes log to stdout, and flag errors go to stderr; both streams are returned joined
    in ``stderr`` so one assertion reads either.
    """
    extra: list[str] = []
    if runtime == "daprd":
        given = {a.split("=", 1)[0] for a in args}
        extra = [f"{flag}={value}" for flag, value in _DAPRD_LOOPBACK if flag not in given]
        if "--config" not in given:  # no mDNS multicast: file-based name resolution, as the launcher does
            extra += ["--config", str(_bare_daprd_config())]
    out = subprocess.run(
        [*sidecar_command(runtime), *args, *extra], capture_output=True, text=True, timeout=timeout, start_new_session=True, cwd=cwd
    )
    return subprocess.CompletedProcess(out.args, out.returncode, out.stdout, out.stderr + out.stdout)
