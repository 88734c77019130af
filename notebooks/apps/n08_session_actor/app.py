"""The actor app notebook 08 starts, kills with SIGKILL and restarts: one actor per chat session.

``SessionMemoryActor`` (Dapr Python actor SDK, hosted by FastAPI + dapr-ext-fastapi) keeps a
session's messages in actor state, each message under its own key with a per-key TTL
(``ttlInSeconds``), and an ``idle-check`` reminder that writes a summary of what is still
alive. For the notebook's evidence it also counts, in Redis (``cookbook:*`` keys, not actor
state): activations, reminder fires, and the start/end of every ``Slow`` call, and ``Slow``
waits for ``cookbook:release`` so the notebook can kill the process mid-call.
"""

from __future__ import annotations

import asyncio
import datetime
import json
import os

import redis
import uvicorn
from dapr.actor import Actor, Remindable
from dapr.ext.fastapi import DaprActor
from fastapi import FastAPI

from n08_session_actor.interface import SessionMemory

r = redis.Redis.from_url(os.environ["AGENT_REDIS_URL"])


class SessionMemoryActor(Actor, SessionMemory, Remindable):
    """One actor id per conversation session; the sidecar runs one call at a time per id."""

    async def _on_activate(self) -> None:
        r.incr(f"cookbook:activations:{self.id.id}")
        print(f"activated {self.id.id}", flush=True)

    async def add_message(self, message: dict) -> int:
        _, seq = await self._state_manager.try_get_state("seq")
        seq = (seq or 0) + 1
        ttl = message.get("ttl")
        await self._state_manager.set_state("seq", seq)
        # one key per message: its own TTL (None: kept until deleted)
        await self._state_manager.set_state_ttl(f"msg-{seq:04d}", {"role": message["role"], "text": message["text"]}, ttl)
        await self._state_manager.save_state()
        return seq

    async def get_messages(self) -> list:
        await self._state_manager.clear_cache()  # read Redis, not this activation's cache: TTLs expire keys there
        _, seq = await self._state_manager.try_get_state("seq")
        out = []
        for n in range(1, (seq or 0) + 1):
            found, value = await self._state_manager.try_get_state(f"msg-{n:04d}")
            if found:
                out.append(value)
        return out

    async def watch_idle(self, every_seconds: int) -> None:
        period = datetime.timedelta(seconds=every_seconds)
        await self.register_reminder("idle-check", b"summarise", period, period)

    async def receive_reminder(self, name: str, state: bytes, due_time: datetime.timedelta, period: datetime.timedelta,
                               ttl: datetime.timedelta | None = None) -> None:
        alive = await self.get_messages()
        await self._state_manager.set_state("summary", {"alive_messages": len(alive), "last_check": datetime.datetime.now(datetime.timezone.utc).isoformat()})
        await self._state_manager.save_state()
        r.rpush(f"cookbook:reminders:{self.id.id}", json.dumps({"name": name, "alive": len(alive)}))

    async def slow(self, label: str) -> str:
        r.rpush("cookbook:turns", json.dumps({"id": self.id.id, "label": label, "at": "start"}))
        await asyncio.sleep(0.2)  # long enough that two calls running at once would interleave
        while not r.exists("cookbook:release"):
            await asyncio.sleep(0.02)
        r.rpush("cookbook:turns", json.dumps({"id": self.id.id, "label": label, "at": "end"}))
        return label


app = FastAPI(title="session-memory")
actor = DaprActor(app)


@app.on_event("startup")
async def startup() -> None:
    await actor.register_actor(SessionMemoryActor)
    print("actor app ready", flush=True)


@app.get("/healthz")
def healthz() -> dict[str, str]:
    return {"status": "ok"}


if __name__ == "__main__":
    uvicorn.run(app, host="127.0.0.1", port=int(os.environ["APP_PORT"]), log_level="warning")
