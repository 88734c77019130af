"""Reading a running workflow's state again when daprd 1.18.2 answers a torn read.

daprd 1.18.2 reads a workflow's metadata row, then its inbox/history rows, without the actor's
lock (``wfengine/state/state.go`` ``LoadWorkflowState``): a save landing in between makes rows
the metadata declares look missing, and the read fails with "workflow '<id>': inbox key
'inbox-000000' declared in metadata (inboxLength=1) but missing from state store (transient store
read failure or partial save?)". The run itself is fine; Dapr 1.18.3 retries the load (5 times,
15 ms apart). Notebooks 06 and 07 read status while steps are being saved, so both ask again
through this one function instead of failing on a read that the next attempt answers.
"""

from __future__ import annotations

import time
from typing import Callable, TypeVar

import grpc

TORN_READ = "(transient store read failure or partial save?)"
T = TypeVar("T")


def read_again_if_torn(call: Callable[[], T], *, attempts: int = 5, pause: float = 0.015,
                       seen: list[str] | None = None, what: str = "") -> T:
    """``call()``, asked again up to ``attempts`` times, ``pause`` seconds apart, while it fails
    with the torn read; any other error, or a torn read every time, is raised. Each torn answer
    is appended to ``seen`` (as ``"<what>: <details>"``) so a notebook can show how often it met one."""
    for attempt in range(attempts):
        try:
            return call()
        except grpc.RpcError as err:
            if TORN_READ not in (err.details() or "") or attempt == attempts - 1:
                raise
            if seen is not None:
                seen.append(f"{what}: {err.details()}")
            time.sleep(pause)
    raise AssertionError("attempts must be at least 1")
