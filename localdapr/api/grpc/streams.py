"""Server streams that end when the sidecar starts shutting down, before its gRPC server stops.

daprd ends its long-lived streams itself on shutdown, each with a status of its own (the
workflow ``GetWorkItems`` stream: CANCELLED "shutting down"), rather than letting the server's
stop cancel them (which a client sees as UNAVAILABLE). Clients act on the difference: the
workflow SDK's worker reconnects after UNAVAILABLE but stops for good after CANCELLED.
"""

from __future__ import annotations

import asyncio
import contextlib
from typing import AsyncIterator, TypeVar

T = TypeVar("T")


class ShutdownRequested(Exception):
    """The sidecar is shutting down: end the stream with the RPC's shutdown status."""


async def until_shutdown(items: AsyncIterator[T], shutdown: asyncio.Event) -> AsyncIterator[T]:
    """Yield from ``items`` until it ends or ``shutdown`` is set (then raise ShutdownRequested)."""
    iterator = items.__aiter__()
    stop = asyncio.ensure_future(shutdown.wait())
    step: asyncio.Future[T] | None = None
    try:
        while True:
            step = asyncio.ensure_future(iterator.__anext__())
            done, _ = await asyncio.wait({step, stop}, return_when=asyncio.FIRST_COMPLETED)
            if step not in done:
                step.cancel()
                with contextlib.suppress(BaseException):
                    await step  # let the generator run its cleanup before it is closed
                raise ShutdownRequested()
            try:
                item = step.result()
            except StopAsyncIteration:
                return
            yield item
    finally:
        stop.cancel()
        if step is not None and not step.done():
            # The RPC itself was cancelled (the client went away) while ``step`` was still
            # inside the generator: cancel it and let the generator run its cleanup there;
            # aclose() on a generator that is still running raises RuntimeError and skips it.
            step.cancel()
            with contextlib.suppress(BaseException):
                await step
        aclose = getattr(iterator, "aclose", None)
        if aclose is not None:
            await aclose()
