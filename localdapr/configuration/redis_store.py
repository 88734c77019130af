"""``configuration.redis``: components-contrib v1.18.3 ``configuration/redis`` on redis-py.

What it keeps of contrib, because apps and other tools read and write the same Redis:

* one Redis string per configuration key, ``<value>||<version>`` (``||<version>`` optional; a
  third ``||`` part is ignored); an empty value, a missing key and a key of another type
  (WRONGTYPE: a state hash, a stream) are left out of the answer, with contrib's warning;
* no keys asked: every key (``KEYS *``) of the component's database;
* subscriptions on Redis keyspace notifications: ``CONFIG SET notify-keyspace-events Kg$xe``
  (contrib sets it on every subscribe and ignores a refusal), then ``SUBSCRIBE
  __keyspace@<db>__:<key>`` per key or ``PSUBSCRIBE __keyspace@<db>__:*`` for all keys; on each
  event the key is read again and the handler gets its item, or an empty item once it is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from dataclasses import dataclass, field
from typing import Awaitable, Callable

import redis.asyncio as aioredis
from redis import exceptions as rexc

from localdapr.components.model import ComponentSpec
from localdapr.redisconn import connect, go_redis_text, timeout_detail, timeout_hint

log = logging.getLogger("localdapr.contrib")

SEPARATOR = "||"
KEYSPACE_PREFIX = "__keyspace@"
NOTIFY_EVENTS = "Kg$xe"  # contrib's value: keyspace events, generic and string commands, expired, evicted


@dataclass
class Item:
    """contrib's ``configuration.Item``; its JSON drops empty fields (``omitempty``)."""

    value: str = ""
    version: str = ""
    metadata: dict[str, str] = field(default_factory=dict)


Handler = Callable[[str, dict[str, Item]], Awaitable[None]]  # (subscription id, items)


def split_value(raw: str) -> tuple[str, str]:
    """contrib's GetRedisValueAndVersion: ``strings.Split(v, "||")``, first two parts."""
    parts = raw.split(SEPARATOR)
    return parts[0], parts[1] if len(parts) > 1 else ""


class ConfigurationGetError(Exception):
    """A Redis failure other than "missing" or "wrong type", worded as contrib words it."""


class RedisConfigurationStore:
    """One ``configuration.redis`` component."""

    timeout_detail = staticmethod(timeout_detail)
    timeout_hint = staticmethod(timeout_hint)

    def __init__(self, spec: ComponentSpec, client: aioredis.Redis) -> None:
        self.spec = spec
        self.name = spec.name
        self.client = client
        self.db = int(spec.meta("redisDB", "0") or 0)
        self._subscriptions: dict[str, asyncio.Task[None]] = {}

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: object) -> "RedisConfigurationStore":
        return cls(spec, await connect(spec))

    # ---- Get --------------------------------------------------------------------------------
    async def get(self, keys: list[str]) -> dict[str, Item]:
        if not keys:
            try:
                keys = [k.decode(errors="replace") for k in await self.client.keys("*")]
            except (rexc.RedisError, OSError) as exc:
                log.error("failed to all keys, error is %s", go_redis_text(exc))
                raise ConfigurationGetError(go_redis_text(exc)) from exc
        items: dict[str, Item] = {}
        for key in keys:
            try:
                raw = await self.client.get(key)
            except rexc.ResponseError as exc:
                if "WRONGTYPE" in go_redis_text(exc):
                    log.warning("redis key %s 's type is not supported, ignore it\n", key)
                    continue
                raise ConfigurationGetError(f"fail to get configuration for redis key={key}, error is {go_redis_text(exc)}") from exc
            except (rexc.RedisError, OSError) as exc:
                raise ConfigurationGetError(f"fail to get configuration for redis key={key}, error is {go_redis_text(exc)}") from exc
            if raw is None:
                log.warning("redis key %s does not exist, ignore it\n", key)
                continue
            value, version = split_value(raw.decode(errors="replace"))
            if value:
                items[key] = Item(value, version)
        return items

    # ---- Subscribe ----------------------------------------------------------------------------
    def channel(self, key: str) -> str:
        return f"{KEYSPACE_PREFIX}{self.db}__:{key}"

    async def subscribe(self, keys: list[str], handler: Handler) -> str:
        """Start listening and return the subscription id (contrib: a UUID); events go to
        ``handler`` until :meth:`unsubscribe`. Like contrib, a failure to listen is only logged."""
        sub_id = str(uuid.uuid4())
        with contextlib.suppress(rexc.RedisError, OSError):  # contrib ignores the CONFIG SET answer (managed Redis refuses it)
            await self.client.config_set("notify-keyspace-events", NOTIFY_EVENTS)
        pubsub = self.client.pubsub()
        try:
            if keys:
                await pubsub.subscribe(*[self.channel(k) for k in keys])
            else:
                await pubsub.psubscribe(self.channel("*"))
        except (rexc.RedisError, OSError) as exc:
            await pubsub.aclose()
            log.error("configuration store %s: cannot subscribe to keyspace notifications: %s", self.name, go_redis_text(exc))
            return sub_id
        task = asyncio.create_task(self._listen(sub_id, pubsub, handler), name=f"configuration-{self.name}-{sub_id}")
        self._subscriptions[sub_id] = task
        task.add_done_callback(lambda _t: self._subscriptions.pop(sub_id, None))
        return sub_id

    async def _listen(self, sub_id: str, pubsub: aioredis.client.PubSub, handler: Handler) -> None:
        try:
            async for message in pubsub.listen():
                if message.get("type") not in ("message", "pmessage"):
                    continue
                channel = message["channel"].decode(errors="replace")
                key = channel[len(self.channel("")):] if channel.startswith(self.channel("")) else ""
                if not key:
                    log.error("parse redis key failed: wrong format of event channel, it should start with '%s': eventChannel=%s", self.channel(""), channel)
                    continue
                try:
                    items = await self.get([key])
                except ConfigurationGetError as exc:
                    log.error("get response from redis failed: %s", exc)
                    continue
                try:
                    await handler(sub_id, items or {key: Item()})
                except Exception as exc:  # noqa: BLE001 - a failing receiver must not end the subscription
                    log.error("fail to call handler to notify event for configuration update subscribe: %s", exc)
        except (rexc.RedisError, OSError) as exc:
            log.error("configuration store %s: subscription %s ended: %s", self.name, sub_id, go_redis_text(exc))
        finally:
            with contextlib.suppress(rexc.RedisError, OSError):
                await pubsub.aclose()

    async def unsubscribe(self, sub_id: str) -> None:
        task = self._subscriptions.pop(sub_id, None)
        if task is None:
            raise KeyError(f"subscription with id {sub_id} does not exist")
        task.cancel()

    async def close(self) -> None:
        for task in list(self._subscriptions.values()):
            task.cancel()
        await asyncio.gather(*self._subscriptions.values(), return_exceptions=True)
        await self.client.aclose()
