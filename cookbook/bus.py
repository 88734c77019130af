"""Pub/sub plumbing for the message-bus notebook: a streaming subscription that reads through the
SDK's reconnects, Redis Streams views (entries, consumer groups, pending entries), and a second
app of the team on its own sidecar (:func:`start_team_app`).

Why a subscription helper: the dapr SDK 1.18's ``Subscription.start()`` can half-close a new
stream at once (a race between gRPC's sending thread and the "stream active" flag); the SDK then
reconnects and ``next_message()`` returns None once. :class:`Subscriber` sets the flag before the
stream exists and reads past a None in one thread, and waiting has a deadline, so a notebook never
blocks forever on a message that will not come.
"""

from __future__ import annotations

import json
import queue
import shutil
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import redis
from dapr.clients.grpc.subscription import Subscription

from cookbook.display import Table
from cookbook.paths import ROOT
from cookbook.processes import ManagedProcess
from cookbook.services import Stack
from cookbook.sidecar import Sidecar


class _RaceFreeSubscription(Subscription):
    def start(self) -> None:
        self._set_stream_active()  # before the request generator first checks it
        super().start()


class Subscriber:
    """A streaming subscription (what dapr-agents' runner opens) read by one background thread
    into a queue, so waiting for a message can time out without leaving a reader behind that
    would swallow the next message."""

    def __init__(self, client: Any, pubsub: str, topic: str, dead_letter_topic: str | None = None) -> None:
        self.client = client  # its channel must outlive the subscription (the SDK reconnects on it)
        self.sub = _RaceFreeSubscription(client._stub, pubsub, topic, None, dead_letter_topic)
        self.sub.start()
        self._messages: queue.Queue[Any] = queue.Queue()
        self._closed = threading.Event()
        threading.Thread(target=self._read, daemon=True, name=f"bus-reader-{topic}").start()

    def _read(self) -> None:
        while not self._closed.is_set():
            try:
                message = self.sub.next_message()  # None after one of the SDK's reconnects
            except Exception as exc:  # noqa: BLE001 - handed to the caller
                if not self._closed.is_set():
                    self._messages.put(exc)
                return
            if message is not None:
                self._messages.put(message)

    def next(self, timeout: float = 30.0) -> Any:
        """The next message, or None when none arrives within ``timeout`` seconds."""
        try:
            result = self._messages.get(timeout=timeout)
        except queue.Empty:
            return None
        if isinstance(result, Exception):
            raise result
        return result

    def success(self, message: Any) -> None:
        self.sub.respond_success(message)

    def retry(self, message: Any) -> None:
        self.sub.respond_retry(message)

    def close(self) -> None:
        self._closed.set()
        self.sub.close()


def entries(r: redis.Redis, stream: str) -> list[dict[str, Any]]:
    """The stream's entries: entry id, the CloudEvent (decoded) and the publish metadata."""
    if not r.exists(stream):
        return []
    out = []
    for entry_id, fields in r.xrange(stream):
        event = json.loads(fields[b"data"])
        out.append({"entry": entry_id.decode(), "event": event,
                    "metadata": json.loads(fields[b"metadata"]) if b"metadata" in fields else None})
    return out


def stream_table(r: redis.Redis, stream: str, title: str = "") -> Table:
    """One row per entry: entry id, CloudEvent id, type, source and data."""
    rows = [{"entry id": e["entry"], "cloudevent id": e["event"].get("id"), "type": e["event"].get("type"),
             "source": e["event"].get("source"), "data": json.dumps(e["event"].get("data"))} for e in entries(r, stream)]
    return Table(rows, ["entry id", "cloudevent id", "type", "source", "data"], title=title or f"stream {stream}")


def groups_table(r: redis.Redis, streams: list[str], title: str = "consumer groups") -> Table:
    """Per stream: its length and each consumer group with its pending count and last delivered id."""
    rows = []
    for stream in streams:
        if not r.exists(stream):
            rows.append({"stream": stream, "entries": 0, "group (app id)": "(no stream yet)"})
            continue
        for group in r.xinfo_groups(stream) or [{}]:
            rows.append({"stream": stream, "entries": r.xlen(stream), "group (app id)": (group.get("name") or b"").decode(),
                         "pending": group.get("pending", ""), "last delivered": (group.get("last-delivered-id") or b"").decode()})
    return Table(rows, ["stream", "entries", "group (app id)", "pending", "last delivered"], title=title)


def pending(r: redis.Redis, stream: str, group: str) -> list[dict[str, Any]]:
    """XPENDING details: entry id, consumer, idle ms, times delivered."""
    if not r.exists(stream):
        return []
    return [{"entry id": p["message_id"].decode(), "consumer": p["consumer"].decode(), "idle ms": p["time_since_delivered"],
             "times delivered": p["times_delivered"]} for p in r.xpending_range(stream, group, min="-", max="+", count=100)]


@dataclass
class TeamApp:
    """Another app of the team: its own sidecar and one agent process, joined to the first app
    only by the bus (and the Redis both sidecars use)."""

    sidecar: Sidecar
    process: ManagedProcess
    started: float = field(default_factory=time.monotonic)

    def wait_ready(self, timeout: float = 120.0) -> float:
        """Wait for the app's ready line; seconds from its start (it imports while others run)."""
        self.process.wait_ready(timeout)
        seconds = time.monotonic() - self.started
        print(f"{self.process.name} ready {seconds:.1f} s (pid {self.process.pid}, sidecar {self.sidecar.app_id})", flush=True)
        return seconds

    def stop(self) -> None:
        """App first (it deregisters from the registry through its sidecar), then the sidecar."""
        self.process.terminate()
        self.sidecar.stop()


def start_team_app(stack: Stack, app_id: str, script: Path, env: dict[str, str], components: Sequence[str],
                   ready_line: str = "ready") -> TeamApp:
    """Start ``app_id``'s sidecar with ``components`` (copied from the stack's resources) on the
    stack's ports and Redis, wait until it is healthy, and start ``script`` beside it WITHOUT
    waiting: importing dapr-agents takes seconds, so it can overlap the first app's start.

    Under daprd the sidecar has its own placement and scheduler: the app's workflows run only in
    this app, so it shares nothing with the first app but the bus and the Redis server.
    """
    resources = stack.run_dir / app_id / "resources"
    resources.mkdir(parents=True, exist_ok=True)
    for name in components:
        shutil.copy(stack.resources / name, resources / name)
    sidecar = Sidecar(app_id, [resources], stack.ports, stack.run_dir / app_id, runtime=stack.sidecar.runtime_used)
    try:
        seconds = sidecar.start()
    except BaseException:
        sidecar.stop()
        raise
    print(f"{app_id} sidecar {seconds:.1f} s", flush=True)
    process = sidecar.app_process(app_id, [sys.executable, str(script)], env={"PYTHONPATH": str(ROOT), **env})
    log = process.log_path
    process.ready = lambda: log.exists() and log.read_text().count(ready_line) >= process.starts
    return TeamApp(sidecar, process.start())
