"""The reminder store (the local stand-in for daprd's Scheduler), on a real Redis."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis

from cookbook.ports import free_port_block
from cookbook.redis_server import RedisServer
from localdapr.workflow.reminders import RETRY_SECONDS, Reminder, Reminders


def test_failed_steps_are_retried_at_once_when_a_worker_connects(tmp_path: Path) -> None:
    """A step that failed (no worker) waits RETRY_SECONDS, unless a worker connects first;
    a timer that is simply not due yet keeps its time."""
    ports = free_port_block(2)
    server = RedisServer(port=ports.take(), workdir=tmp_path).start()

    async def scenario() -> None:
        client = aioredis.Redis(host="127.0.0.1", port=server.port)
        calls: list[str] = []

        async def no_worker(rid: str, payload: dict[str, Any]) -> bool:
            calls.append(rid)
            return False

        reminders = Reminders(client, "app")
        reminders.handler = no_worker
        timer_due = int((time.time() + 60) * 1000)
        await reminders.add(Reminder.now("act||i||1||1", {"kind": "activity"}))
        await reminders.add(Reminder("timer||i||2", timer_due, {"kind": "timer"}))

        before = time.time()
        await reminders._fire("act||i||1||1")
        assert calls == ["act||i||1||1"]
        retry_at = await client.zscore(reminders.zkey, "act||i||1||1")
        assert retry_at >= int(before * 1000) + RETRY_SECONDS * 1000  # waiting out the retry interval

        await reminders.retry_now()
        assert await client.zscore(reminders.zkey, "act||i||1||1") <= time.time() * 1000  # due now
        assert await client.zscore(reminders.zkey, "timer||i||2") == timer_due  # untouched

        await reminders.remove("act||i||1||1")
        await reminders.retry_now()  # a step that finished meanwhile is not brought back
        assert await client.zscore(reminders.zkey, "act||i||1||1") is None
        await client.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
        ports.release()


def test_a_parked_step_waits_for_the_next_worker_even_across_a_restart(tmp_path: Path) -> None:
    """A stalled workflow's turn is parked (due after everything, year-9999 timers included)
    and made due when a worker connects: by the same Reminders object and by a new one (a
    restarted sidecar), since the parking is in Redis."""
    from localdapr.workflow.reminders import PARK, PARKED_MS

    ports = free_port_block(2)
    server = RedisServer(port=ports.take(), workdir=tmp_path).start()

    async def scenario() -> None:
        client = aioredis.Redis(host="127.0.0.1", port=server.port)
        reminders = Reminders(client, "app")

        async def stalled(rid: str, payload: dict[str, Any]) -> bool | str:
            return PARK

        reminders.handler = stalled
        year_9999 = 253402300799999
        await reminders.add(Reminder.now("run||i||turn", {"kind": "run"}))
        await reminders.add(Reminder("timer||i||1||1", year_9999, {"kind": "timer"}))
        await reminders._fire("run||i||turn")
        assert await client.zscore(reminders.zkey, "run||i||turn") == PARKED_MS > year_9999
        await reminders._fire_due()  # not due: nothing runs it
        assert await client.zscore(reminders.zkey, "run||i||turn") == PARKED_MS

        restarted = Reminders(client, "app")
        await restarted.retry_now()  # a worker connects to the restarted sidecar
        assert await client.zscore(reminders.zkey, "run||i||turn") <= time.time() * 1000
        assert await client.zscore(reminders.zkey, "timer||i||1||1") == year_9999  # untouched
        await client.aclose()

    try:
        asyncio.run(scenario())
    finally:
        server.stop()
        ports.release()
