"""Work-item streams: what GetWorkItems connections receive, and matching their completions.

A worker (the SDK's WorkflowRuntime) opens a GetWorkItems server stream; the engine pushes
workflow and activity work items to one of the open streams and waits for the matching
CompleteOrchestratorTask / CompleteActivityTask (matched by instance id, and task id for
activities — spec H3.5). When a stream closes, what it had in flight fails at once so the
reminder behind it is retried (on another stream, or when the worker reconnects).

``wait_for_worker`` exists because daprd 1.18 registers its workflow actor types only while a
GetWorkItems stream is open: a start with no worker connected is retried (placement answers
"did not find address for actor") until one connects or the caller gives up, and the engine
reproduces that wait.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Awaitable, Callable, Hashable

from localdapr.workflow.protos import service

log = logging.getLogger(__name__)


class NoWorker(RuntimeError):
    pass


class StreamClosed(RuntimeError):
    pass


@dataclass(eq=False)
class _Stream:
    queue: asyncio.Queue[service.WorkItem] = field(default_factory=asyncio.Queue)
    pending: set[Hashable] = field(default_factory=set)


class WorkItemStreams:
    def __init__(self) -> None:
        self._streams: list[_Stream] = []
        self._rr = itertools.count()
        self._pending: dict[Hashable, tuple[asyncio.Future[Any], _Stream]] = {}
        self.on_connect: list[Any] = []
        self._any_connected = asyncio.Event()

    @property
    def connected(self) -> int:
        return len(self._streams)

    async def serve(self) -> AsyncIterator[service.WorkItem]:
        """Body of GetWorkItems: yields work items until the client goes away."""
        stream = _Stream()
        self._streams.append(stream)
        log.info("work item stream established")
        self._any_connected.set()
        for callback in self.on_connect:
            callback()
        try:
            while True:
                yield await stream.queue.get()
        finally:
            log.info("work item stream closed")
            self._streams.remove(stream)
            if not self._streams:
                self._any_connected.clear()
            for key in list(stream.pending):
                entry = self._pending.pop(key, None)
                if entry and not entry[0].done():
                    entry[0].set_exception(StreamClosed("the worker's work-item stream closed"))

    async def wait_for_worker(self, gave_up: Callable[[], Awaitable[bool]] | None = None, timeout: float | None = None) -> bool:
        """Wait until at least one worker stream is open (True), or ``timeout`` passed (False).

        Without a timeout only the caller's cancellation (gRPC deadline, client gone) ends the
        wait. ``gave_up`` is for callers that are not cancelled when their client leaves (HTTP):
        polled every half second.
        """
        loop = asyncio.get_running_loop()
        deadline = None if timeout is None else loop.time() + timeout
        while not self._any_connected.is_set():
            step = 0.5 if deadline is None else min(0.5, deadline - loop.time())
            if step <= 0:
                return False
            try:
                await asyncio.wait_for(self._any_connected.wait(), timeout=step)
            except asyncio.TimeoutError:
                if gave_up is not None and await gave_up():
                    raise asyncio.CancelledError("the caller went away while waiting for a workflow worker")
        return True

    async def _dispatch(self, key: Hashable, item: service.WorkItem, timeout: float) -> Any:
        if not self._streams:
            raise NoWorker("no workflow worker is connected (GetWorkItems)")
        if key in self._pending:
            raise RuntimeError(f"work item {key} is already in flight")
        stream = self._streams[next(self._rr) % len(self._streams)]
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._pending[key] = (fut, stream)
        stream.pending.add(key)
        await stream.queue.put(item)
        try:
            return await asyncio.wait_for(fut, timeout)
        finally:
            self._pending.pop(key, None)
            stream.pending.discard(key)

    async def run_workflow(self, request: service.WorkflowRequest, timeout: float = 300.0) -> service.WorkflowResponse:
        return await self._dispatch(("wf", request.instanceId), service.WorkItem(workflowRequest=request), timeout)

    async def run_activity(self, request: service.ActivityRequest, timeout: float = 3600.0) -> service.ActivityResponse:
        key = ("act", request.workflowInstance.instanceId, request.taskId)
        return await self._dispatch(key, service.WorkItem(activityRequest=request), timeout)

    def complete(self, key: Hashable, response: Any) -> bool:
        entry = self._pending.get(key)
        if entry is None or entry[0].done():
            return False
        entry[0].set_result(response)
        return True
