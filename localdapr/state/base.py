"""The state-store contract between the API layers / workflow engine and a store.

Keys here are *store keys*: already prefixed by the daprd layer (``state/keys.py``) or built as
actor keys ``<app>||<type>||<id>||<key>`` (spec B6). A store never prefixes on its own.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal, Protocol

Concurrency = Literal["", "first-write", "last-write"]
Consistency = Literal["", "strong", "eventual"]


@dataclass
class GetResponse:
    data: bytes | None  # None => not found
    etag: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass
class SetRequest:
    key: str
    value: bytes  # already encoded as it must land in Redis ``data`` (spec C1.3)
    etag: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    concurrency: str = ""
    consistency: str = ""


@dataclass
class DeleteRequest:
    key: str
    etag: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    concurrency: str = ""
    consistency: str = ""


@dataclass
class TransactionOperation:
    operation: Literal["upsert", "delete"]
    request: SetRequest | DeleteRequest


class StateStore(Protocol):
    """What every state store offers (the Redis one is ``redis_store.RedisStateStore``)."""

    name: str
    is_actor_store: bool
    key_prefix_strategy: str

    async def get(self, key: str, metadata: dict[str, str] | None = None) -> GetResponse: ...

    async def set(self, request: SetRequest) -> str:
        """Write one item atomically; returns the new ETag. Raises DaprError-compatible StateError."""
        ...

    async def delete(self, request: DeleteRequest) -> None: ...

    async def multi(self, operations: list[TransactionOperation], metadata: dict[str, str] | None = None) -> None:
        """daprd's Redis Multi: one MULTI/EXEC, no rollback (spec C5.3)."""
        ...

    def capabilities(self) -> list[str]: ...

    async def close(self) -> None: ...
