"""The app channel's rules (calls from the sidecar to the app on ``--app-port``), as daprd's HTTP
channel (``pkg/channel/http``) and app health checks (``pkg/apphealth``) have them.

* ``APP_API_TOKEN`` in the sidecar's environment is sent as ``dapr-api-token`` on every call to
  the app (subscriptions fetch, event delivery); health probes go without it, as daprd's.
* ``--app-max-concurrency N`` (N > 0): at most N calls to the app at once, the rest wait.
* ``--enable-app-health-check``: ``GET <app-health-check-path>`` every
  ``--app-health-probe-interval`` seconds, ``--app-health-probe-timeout`` ms each; 2xx is a
  success. The app starts unhealthy (failure count = threshold); the first success makes it
  healthy (subscriptions start), ``--app-health-threshold`` failures in a row make it unhealthy
  (subscriptions stop until it is healthy again), with daprd's log lines.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from typing import Any, AsyncIterator, Awaitable, Callable

import httpx

from localdapr.api.access import APP_API_TOKEN_ENV, TOKEN_HEADER

log = logging.getLogger("localdapr.runtime.apphealth")


def app_headers(env: dict[str, str] | None = None) -> dict[str, str]:
    """Headers every app-channel call carries (the app token, when set)."""
    token = (os.environ if env is None else env).get(APP_API_TOKEN_ENV, "")
    return {TOKEN_HEADER: token} if token else {}


class ConcurrencyLimit:
    """``--app-max-concurrency``: a semaphore when N > 0, no limit otherwise."""

    def __init__(self, limit: int) -> None:
        self._slots = asyncio.Semaphore(limit) if limit > 0 else None

    @contextlib.asynccontextmanager
    async def slot(self) -> AsyncIterator[None]:
        if self._slots is None:
            yield
            return
        async with self._slots:
            yield


class AppHealthMonitor:
    """Probes the app; calls ``on_change(healthy)`` when the status flips (daprd ``setResult``)."""

    def __init__(self, base_url: str, path: str, interval: float, timeout: float, threshold: int,
                 on_change: Callable[[bool], Awaitable[None]]) -> None:
        self.base_url, self.path = base_url, "/" + path.lstrip("/")
        self.interval, self.timeout, self.threshold = interval, timeout, threshold
        self.on_change = on_change
        self.failures = threshold  # daprd: the app is unhealthy until a probe succeeds

    @property
    def healthy(self) -> bool:
        return self.failures < self.threshold

    async def probe(self, client: httpx.AsyncClient) -> tuple[bool, str]:
        try:
            resp = await client.get(self.base_url + self.path, timeout=self.timeout)
        except httpx.HTTPError as exc:
            return False, f"Network error: {exc}"
        if 200 <= resp.status_code < 300:
            return True, ""
        return False, f"Health check failed with status code: {resp.status_code}"

    async def record(self, ok: bool, reason: str) -> None:
        if ok:
            previous, self.failures = self.failures, 0
            if previous >= self.threshold:
                log.info("App entered healthy status")
                await self.on_change(True)
            return
        self.failures += 1
        if self.failures == self.threshold:
            log.warning("App entered un-healthy status: %s", reason)
            await self.on_change(False)

    async def run(self, stop: asyncio.Event) -> None:
        log.info("App health probes starting")
        async with httpx.AsyncClient() as client:
            while not stop.is_set():
                ok, reason = await self.probe(client)
                await self.record(ok, reason)
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(stop.wait(), timeout=self.interval)
        log.info("App health probes stopping")


async def call_hooks(services: dict[str, Any], name: str) -> None:
    """Call ``name()`` on every service that has it (on_app_ready / on_app_unhealthy)."""
    for service in list(services.values()):
        hook = getattr(service, name, None)
        if hook is not None:
            await hook()
