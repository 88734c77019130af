"""Which local sidecar serves which app id: the role placement plays for daprd, kept in Redis.

daprd finds another app's workflow and activity actors through placement, and an app's
actors are placed only while its sidecar is up AND a workflow worker is connected to it
(daprd 1.18 registers the workflow actor types with the worker's GetWorkItems stream). A
killed sidecar drops out of placement after its heartbeats stop; calls for it then fail with
``did not find address for actor`` and are retried.

Every local sidecar with an actor state store writes one entry for its app here, in the actor
store's Redis (``localdapr||directory||<namespace>||<app>``: JSON with its pid and ports), with
a time to live refreshed every second while a worker is connected; it deletes the entry when
the last worker leaves or the sidecar stops. A kill -9 leaves the entry to expire
(``TTL_MS``). The work itself never depends on the entry: steps for another app are durable
reminders in that app's set (``reminders.py``) that wait until a sidecar of that app runs
them; the entry says whether one is there now (log lines, ``live_apps``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
from typing import Any, Callable

import redis.asyncio as aioredis

log = logging.getLogger("localdapr.workflow")

HEARTBEAT_SECONDS = 1.0
TTL_MS = 5000  # stale after ~5 heartbeats missed, about as long as placement takes to drop a host


def entry_key(namespace: str, app_id: str) -> str:
    return f"localdapr||directory||{namespace}||{app_id}"


class Directory:
    def __init__(self, client: aioredis.Redis, namespace: str, app_id: str, info: dict[str, Any],
                 serving: Callable[[], bool]) -> None:
        self.client = client
        self.namespace = namespace
        self.app_id = app_id
        self.info = {**info, "appID": app_id, "pid": os.getpid()}
        self.serving = serving  # True while this sidecar hosts workflow actors (a worker is connected)
        self._task: asyncio.Task[None] | None = None
        self._listed = False

    def start(self) -> None:
        self._task = asyncio.create_task(self._loop(), name="workflow-directory")

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
        if self._listed:
            try:
                await self.client.delete(entry_key(self.namespace, self.app_id))
            except Exception:  # noqa: BLE001 - Redis away: the entry expires by itself
                pass

    async def _loop(self) -> None:
        while True:
            await self._beat_once()
            await asyncio.sleep(HEARTBEAT_SECONDS)

    def refresh_soon(self) -> None:
        """Write (or delete) the entry now rather than at the next beat (a worker came or left)."""
        if self._task is not None:
            asyncio.get_running_loop().create_task(self._beat_once())

    async def _beat_once(self) -> None:
        key = entry_key(self.namespace, self.app_id)
        try:
            if self.serving():
                await self.client.set(key, json.dumps(self.info), px=TTL_MS)
                self._listed = True
            elif self._listed:
                await self.client.delete(key)
                self._listed = False
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - Redis away: retried on the next beat
            log.debug("directory heartbeat failed: %s", exc)

    async def is_live(self, app_id: str) -> bool:
        if app_id == self.app_id:
            return self.serving()
        try:
            return bool(await self.client.exists(entry_key(self.namespace, app_id)))
        except Exception:  # noqa: BLE001
            return False

    async def live_apps(self) -> dict[str, dict[str, Any]]:
        """Every app with a live entry in this namespace, with what its sidecar wrote."""
        out: dict[str, dict[str, Any]] = {}
        async for raw in self.client.scan_iter(match=entry_key(self.namespace, "*"), count=200):
            value = await self.client.get(raw)
            if value is not None:
                entry = json.loads(value)
                out[entry["appID"]] = entry
        return out
