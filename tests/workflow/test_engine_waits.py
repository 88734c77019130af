"""The engine's status waits release everything when their caller goes (no Redis, no sidecar).

gRPC cancels the handler task of a WaitForInstanceStart/Completion whose client cancelled or
whose deadline passed; the wait must then leave nothing behind (no waiter on the engine's
condition, no task), however many callers come and go. The runtime-level behaviour (deadline ->
TimeoutError, waits on not-yet-created instances) is tested on both runtimes in
test_workflows.py::test_H3_3_waits_end_only_at_the_callers_deadline.
"""

from __future__ import annotations

import asyncio

from localdapr.workflow.engine import WorkflowEngine
from localdapr.workflow.runtimestate import InstanceState


class _Runtime:
    app_id = "app"
    namespace_or_default = "default"


def test_cancelled_waits_leave_no_waiter_behind() -> None:
    async def scenario() -> None:
        engine = WorkflowEngine(_Runtime())  # type: ignore[arg-type]
        engine.streams._any_connected.set()  # a worker is connected: the wait reaches the instance
        loads = 0

        async def load(iid: str) -> InstanceState:
            nonlocal loads
            loads += 1
            return InstanceState(iid)  # never created: the wait goes on

        engine.load = load  # type: ignore[method-assign]
        waits = [asyncio.create_task(engine.wait_for("x", lambda s: s.exists, None)) for _ in range(50)]
        for _ in range(10_000):  # let every wait look once and park on the condition
            if len(engine._changed._waiters) == 50:  # type: ignore[attr-defined]
                break
            await asyncio.sleep(0)
        assert loads == 50 and len(engine._changed._waiters) == 50  # type: ignore[attr-defined]
        for task in waits:
            task.cancel()
        results = await asyncio.gather(*waits, return_exceptions=True)
        assert all(isinstance(r, asyncio.CancelledError) for r in results)
        assert len(engine._changed._waiters) == 0  # type: ignore[attr-defined]
        assert not engine._changed.locked()
        await engine._notify()  # a later change notifies nobody and does not fail

    asyncio.run(scenario())
