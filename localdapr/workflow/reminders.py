"""Durable reminders: the local stand-in for daprd's Scheduler service.

Real daprd keeps every pending workflow step (start, new event, timer, activity run) as a
reminder in the Scheduler (etcd) and removes it only after the step succeeded; that is what makes
workflows survive crashes (spec H3.6). This sidecar keeps the same reminders in the actor store's
Redis, under keys daprd never uses (``localdapr||<app>||reminders``: a sorted set of ids by due
time in ms, plus a hash of their payloads), written in the same MULTI as the workflow state they
belong to. A due reminder is handed to the engine; if the step fails (no worker connected, the
worker or its stream died) it is retried one second later, forever, as daprd's failure policy
does, and at once when a worker (re)connects: a sidecar restarted under a waiting worker should
not add a retry interval on top of the worker's own reconnect backoff. At-least-once: a step may
run again after a crash, never zero times.

Cross-app steps (an activity or child workflow whose router names another app, a child's result
for a parent in another app) are reminders in the OTHER app's set, written in the same MULTI as
the state that made them: whichever sidecar serves that app id runs them, and while none does
they wait in Redis (daprd keeps retrying the call until placement finds the app). A publish on
the app's wake channel (``localdapr||<app>||reminders||wake``) makes its sidecar look at once.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from dataclasses import dataclass
from typing import Any, Awaitable, Callable

import redis.asyncio as aioredis

log = logging.getLogger("localdapr.workflow")

RETRY_SECONDS = 1.0
# The due time of a parked step (a stalled workflow's turn): after every real due time, the SDK's
# year-9999 timers included, so the loop never fires it; a worker connecting makes it due again
# (``retry_now``), the way daprd retries a stalled workflow's reminder once the stall is
# released. Kept in Redis, so a restarted sidecar retries it too.
PARKED_MS = 10**16
PARK = "park"  # a handler's answer: keep the step, run it again when a worker connects


@dataclass
class Reminder:
    id: str
    due_ms: int
    payload: dict[str, Any]
    app: str | None = None  # the app whose sidecar runs it; None: this sidecar's own app

    @staticmethod
    def now(id: str, payload: dict[str, Any], delay: float = 0.0, app: str | None = None) -> "Reminder":
        return Reminder(id, int((time.time() + delay) * 1000), payload, app)


def reminder_keys(app_id: str, namespace: str = "default") -> tuple[str, str, str]:
    """An app's reminder set, payload hash and wake channel (keys daprd never uses).

    Per namespace, as daprd's Scheduler keeps jobs per namespace: two sidecars serving the same
    app id in two namespaces (``NAMESPACE=acme`` / ``globex``, one Redis) must never run each
    other's steps. The default namespace keeps the short keys ``localdapr||<app>||reminders``.
    """
    base = f"localdapr||{app_id}" if namespace in ("", "default") else f"localdapr||{namespace}||{app_id}"
    return f"{base}||reminders", f"{base}||reminders||data", f"{base}||reminders||wake"


class Reminders:
    def __init__(self, client: aioredis.Redis, app_id: str, namespace: str = "default",
                 keys: tuple[str, str, str] | None = None) -> None:
        """``keys``: another set than the app's workflow reminders (the actor runtime's own)."""
        self.client = client
        self.app_id = app_id
        self.namespace = namespace
        self.zkey, self.hkey, self.channel = keys or reminder_keys(app_id, namespace)
        self._listener: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._inflight: set[str] = set()
        self._retrying: set[str] = set()  # failed steps waiting out RETRY_SECONDS
        self._task: asyncio.Task[None] | None = None
        # True: done (removed by the handler's own save); False: retry after RETRY_SECONDS; PARK.
        self.handler: Callable[[str, dict[str, Any]], Awaitable[bool | str]] | None = None

    # ---- writes (queued into the caller's MULTI) ------------------------------------------
    def queue_changes(self, pipe: Any, add: list[Reminder], remove: list[str]) -> None:
        added = {r.id for r in add}
        for rid in remove:
            if rid not in added:
                pipe.zrem(self.zkey, rid)
                pipe.hdel(self.hkey, rid)
        woken: set[str] = set()
        for r in add:
            if r.app is not None and r.app != self.app_id:  # another app's step: its sidecar runs it
                zkey, hkey, channel = reminder_keys(r.app, self.namespace)
                if channel not in woken:
                    woken.add(channel)
            else:
                zkey, hkey = self.zkey, self.hkey
            pipe.zadd(zkey, {r.id: r.due_ms})
            pipe.hset(hkey, r.id, json.dumps(r.payload))
        for channel in sorted(woken):  # after the writes, inside the same MULTI
            pipe.publish(channel, "1")

    def queue_instance_removal(self, pipe: Any, instance_id: str, kind: str | None = None) -> None:
        """Drop every reminder of an instance (purge), or only those of one ``kind`` (the id's
        first segment: "timer", "act"). Ids embed the instance id between '||'."""
        pipe.eval(
            """
            local ids = redis.call('ZRANGE', KEYS[1], 0, -1)
            for _, id in ipairs(ids) do
              local hit
              if ARGV[2] == '' then hit = string.find(id, ARGV[1], 1, true)
              else hit = string.sub(id, 1, string.len(ARGV[2] .. ARGV[1])) == ARGV[2] .. ARGV[1] end
              if hit then
                redis.call('ZREM', KEYS[1], id); redis.call('HDEL', KEYS[2], id)
              end
            end
            return 0
            """,
            2, self.zkey, self.hkey, f"||{instance_id}||", kind or "",
        )

    async def add(self, reminder: Reminder) -> None:
        pipe = self.client.pipeline(transaction=True)
        self.queue_changes(pipe, [reminder], [])
        await pipe.execute()
        self.wake()

    async def remove(self, rid: str) -> None:
        pipe = self.client.pipeline(transaction=True)
        self.queue_changes(pipe, [], [rid])
        await pipe.execute()

    def wake(self) -> None:
        self._wake.set()

    async def retry_now(self) -> None:
        """Make every step that is waiting to be retried due now (a worker has just connected).

        Only failed steps are moved: a timer that is not due yet keeps its time.
        """
        ids, self._retrying = list(self._retrying), set()
        ids += [raw.decode() for raw in await self.client.zrangebyscore(self.zkey, PARKED_MS, PARKED_MS)]
        if ids:
            now_ms = int(time.time() * 1000)
            await self.client.zadd(self.zkey, {rid: now_ms for rid in ids}, xx=True)
        self.wake()

    # ---- the loop that fires them --------------------------------------------------------------
    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="workflow-reminders")
        self._listener = asyncio.create_task(self._listen(), name="workflow-reminders-wake")

    async def close(self) -> None:
        for task in (self._task, self._listener):
            if task is not None:
                task.cancel()

    async def _listen(self) -> None:
        """Wake the loop when another app's sidecar added a step for this app (a publish on this
        app's wake channel); without it the step would wait for the next poll (<= 0.5 s)."""
        while True:
            pubsub = self.client.pubsub()
            try:
                await pubsub.subscribe(self.channel)
                async for message in pubsub.listen():
                    if message.get("type") == "message":
                        self.wake()
            except asyncio.CancelledError:
                raise
            except Exception:  # noqa: BLE001 - Redis away: polling still finds the steps
                await asyncio.sleep(RETRY_SECONDS)
            finally:
                try:
                    await pubsub.aclose()
                except Exception:  # noqa: BLE001
                    pass

    async def _loop(self) -> None:
        while True:
            try:
                delay = await self._fire_due()
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # noqa: BLE001 - Redis down: keep trying, the reminders are safe there
                log.warning("reminder loop: %s", exc)
                delay = RETRY_SECONDS
            self._wake.clear()
            try:
                await asyncio.wait_for(self._wake.wait(), timeout=delay)
            except asyncio.TimeoutError:
                pass

    async def _fire_due(self) -> float:
        now_ms = int(time.time() * 1000)
        due = await self.client.zrangebyscore(self.zkey, "-inf", now_ms, start=0, num=200, withscores=False)
        for raw in due:
            rid = raw.decode()
            if rid in self._inflight:
                continue
            self._inflight.add(rid)
            asyncio.create_task(self._fire(rid))
        nxt = await self.client.zrange(self.zkey, 0, 0, withscores=True)
        if not nxt:
            return 0.5
        return max(0.005, min(0.5, (nxt[0][1] - now_ms) / 1000.0))

    async def _fire(self, rid: str) -> None:
        ok: bool | str = False
        try:
            raw = await self.client.hget(self.hkey, rid)
            if raw is None:
                await self.client.zrem(self.zkey, rid)
                ok = True
                return
            assert self.handler is not None
            ok = await self.handler(rid, json.loads(raw))
        except asyncio.CancelledError:
            raise
        except Exception:  # noqa: BLE001
            log.warning("reminder %s failed; retrying in %ss", rid, RETRY_SECONDS, exc_info=True)
        finally:
            try:
                await self._after(rid, ok)
            finally:
                # only now: a loop pass between would see the step still due and run it twice
                self._inflight.discard(rid)
                self.wake()

    async def _after(self, rid: str, ok: bool | str) -> None:
        """Park, forget or reschedule a step that ran, by its handler's answer."""
        if ok == PARK:
            self._retrying.discard(rid)
            try:
                await self.client.zadd(self.zkey, {rid: PARKED_MS}, xx=True)
            except Exception:  # noqa: BLE001 - Redis down: it stays due and is parked again
                pass
        elif ok:
            self._retrying.discard(rid)
        else:
            try:
                # Still pending: due again after the retry interval (only if it still exists).
                await self.client.zadd(self.zkey, {rid: int((time.time() + RETRY_SECONDS) * 1000)}, xx=True)
                self._retrying.add(rid)
            except Exception:  # noqa: BLE001
                pass
