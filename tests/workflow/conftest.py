"""A sidecar with an actor store (notebook 01's component) per test module."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

import grpc
import pytest

from cookbook.redis_server import RedisServer
from cookbook.services import prepare_resources
from tests.stacks import SidecarStack, start_stack

ROOT = Path(__file__).resolve().parents[2]


def actor_store(folder: Path, server: RedisServer) -> Path:
    return prepare_resources(ROOT / "components" / "01-redis-state-store", folder, server)


def start_workflow_stack(app_id: str, runtime: str, appendonly: bool = False) -> SidecarStack:
    return start_stack(app_id, actor_store, runtime, appendonly=appendonly)


@pytest.fixture(scope="module")
def wf_stack(dapr_runtime: str) -> Iterator[SidecarStack]:
    stack = start_workflow_stack("wfapp", dapr_runtime)
    yield stack
    stack.stop()


def assert_ended_by_the_deadline(err: grpc.RpcError) -> None:
    """A call that got no answer before its deadline. The deadline travels to the sidecar as
    ``grpc-timeout`` and whichever timer fires first ends the call: the client's own
    (DEADLINE_EXCEEDED), or the server's, which resets the stream with CANCEL; the client then
    reads CANCELLED "Stream removed (RST_STREAM ...)". On daprd (grpc-go) about 1 call in 8 here
    ends the second way; both mean the caller's deadline ended it, and nothing else does."""
    if err.code() == grpc.StatusCode.DEADLINE_EXCEEDED:
        return
    assert err.code() == grpc.StatusCode.CANCELLED and "RST_STREAM" in (err.details() or ""), err
