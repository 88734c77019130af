"""The session actor's contract, shared by the actor (``app.py``) and its callers (the notebook)."""

from __future__ import annotations

from dapr.actor import ActorInterface, actormethod


class SessionMemory(ActorInterface):
    @actormethod(name="AddMessage")
    async def add_message(self, message: dict) -> int: ...

    @actormethod(name="GetMessages")
    async def get_messages(self) -> list: ...

    @actormethod(name="WatchIdle")
    async def watch_idle(self, every_seconds: int) -> None: ...

    @actormethod(name="Slow")
    async def slow(self, label: str) -> str: ...
