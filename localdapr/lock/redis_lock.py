"""``lock.redis``: components-contrib v1.18.3 ``lock/redis`` (standalone) on redis-py.

Same Redis rows as daprd: the lock is a string ``<lock key>`` = owner with the expiry as TTL
(``SET key owner EX n NX``, go-redis's SetNX), released by contrib's Lua script only when the
owner matches. The lock key's prefix (``lock||<app id>||<resource>`` by default) is daprd's,
applied in :mod:`localdapr.lock.service`.
"""

from __future__ import annotations

import enum

import redis.asyncio as aioredis
from redis import exceptions as rexc

from localdapr.components.model import ComponentSpec
from localdapr.errors import ComponentError
from localdapr.redisconn import connect, go_redis_text, timeout_detail, timeout_hint

# contrib's unlockScript, byte for byte: Redis names the script by its SHA1 in errors (f_<sha1>).
UNLOCK_SCRIPT = 'local v = redis.call("get",KEYS[1]); if v==false then return -1 end; if v~=ARGV[1] then return -2 else return redis.call("del",KEYS[1]) end'


SEPARATOR = "||"
DEFAULT_STRATEGY = "appid"


class UnlockStatus(enum.IntEnum):
    """contrib's lock.Status = the API's UnlockResponse.Status."""

    SUCCESS = 0
    LOCK_DOES_NOT_EXIST = 1
    LOCK_BELONGS_TO_OTHERS = 2
    INTERNAL_ERROR = 3


class LockError(Exception):
    """A Redis failure during TryLock/Unlock, worded as go-redis words it."""


class RedisLockStore:
    """One ``lock.redis`` component."""

    timeout_detail = staticmethod(timeout_detail)
    timeout_hint = staticmethod(timeout_hint)

    def __init__(self, spec: ComponentSpec, client: aioredis.Redis, key_prefix: str) -> None:
        self.spec = spec
        self.name = spec.name
        self.client = client
        self.key_prefix = key_prefix

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: object) -> "RedisLockStore":
        """contrib's InitLockStore checks, in its order, with its messages."""
        if not spec.meta("redisHost"):
            raise ComponentError("metadata property redisHost is empty")
        if spec.meta("redisType").lower() == "cluster":
            raise ComponentError("this component does not support connecting to Redis Cluster")
        client = await connect(spec)
        try:
            info = await client.info("replication")
        except (rexc.RedisError, OSError):
            info = {}  # contrib: an error here is not a failure
        if int(info.get("connected_slaves", 0) or 0) > 0:  # failover (Sentinel) is refused by redisconn already
            await client.aclose()
            raise ComponentError("replication is not supported")
        # daprd then saves the key prefix strategy (pkg/components/lock SaveLockConfiguration)
        strategy = spec.meta_ci("keyPrefix", DEFAULT_STRATEGY).lower()
        if SEPARATOR in strategy:
            await client.aclose()
            raise ComponentError(f"failed to save lock keyprefix: input key/keyPrefix '{strategy}' can't contain '{SEPARATOR}'")
        return cls(spec, client, strategy)

    def lock_key(self, resource_id: str, app_id: str) -> str:
        """daprd's GetModifiedLockKey: ``lock||<app id>||<resource>`` by default; ``keyPrefix``
        ``none`` -> ``lock||<resource>``, ``name`` -> ``lock||<store>||<resource>``, any other
        value (lower-cased) -> ``lock||<value>||<resource>``. A resource with ``||`` is refused."""
        if SEPARATOR in resource_id:
            raise ValueError(f"input key/keyPrefix '{resource_id}' can't contain '{SEPARATOR}'")
        prefix = {"none": "", "name": self.name, "appid": app_id}.get(self.key_prefix, self.key_prefix)
        return SEPARATOR.join(["lock", prefix, resource_id] if prefix else ["lock", resource_id])

    async def try_lock(self, key: str, owner: str, expiry_seconds: int) -> bool:
        try:
            return bool(await self.client.set(key, owner, ex=expiry_seconds, nx=True))
        except (rexc.RedisError, OSError) as exc:
            raise LockError(go_redis_text(exc)) from exc

    async def unlock(self, key: str, owner: str) -> UnlockStatus:
        try:
            result = int(await self.client.eval(UNLOCK_SCRIPT, 1, key, owner))
        except (rexc.RedisError, OSError) as exc:
            raise LockError(go_redis_text(exc)) from exc
        if result >= 0:
            return UnlockStatus.SUCCESS
        return {-1: UnlockStatus.LOCK_DOES_NOT_EXIST, -2: UnlockStatus.LOCK_BELONGS_TO_OTHERS}.get(result, UnlockStatus.INTERNAL_ERROR)

    async def close(self) -> None:
        await self.client.aclose()
