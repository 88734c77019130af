"""Work-item streams: what GetWorkItems connections receive, and matching their completions.

A worker (the SDK's WorkflowRuntime) opens a GetWorkItems server stream; the engine pushes
workflow and activity work items to one of the open streams and waits for the matching
CompleteOrchestratorTask / CompleteActivityTask (matched by instance id, and task id for
activities — spec H3.5). When a stream closes, what it had in flight fails at once so the
reminder behind it is retried (on another stream, or when the worker reconnects).
"""

from __future__ import annotations

import asyncio
import itertools
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Hashable

from localdapr.workflow.protos import service


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

    @property
    def connected(self) -> int:
        return len(self._streams)

    async def serve(self) -> AsyncIterator[service.WorkItem]:
        """Body of GetWorkItems: yields work items until the client goes away."""
        stream = _Stream()
        self._streams.append(stream)
        for callback in self.on_connect:
            callback()
        try:
            while True:
                yield await stream.queue.get()
        finally:
            self._streams.remove(stream)
            for key in list(stream.pending):
                entry = self._pending.pop(key, None)
                if entry and not entry[0].done():
                    entry[0].set_exception(StreamClosed("the worker's work-item stream closed"))

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
