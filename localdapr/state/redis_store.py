"""``state.redis``: components-contrib's Redis state store, hash layout (spec C).

Each key is a hash ``data`` / ``version`` (/ ``first-write``); the ETag is ``version``. Every
write is one EVAL of a Lua script, so a kill -9 at any moment leaves either the old or the new
value, never half of one. TTL is a separate EXPIRE/PERSIST after the script, as in daprd.
Transactions queue the same scripts in one MULTI/EXEC: Redis has no rollback, so operations
that pass are applied even when another fails (spec C5.3) — reproduced on purpose.
"""

from __future__ import annotations

import contextlib
import json
import logging
from typing import Any, Iterator

import redis.asyncio as aioredis
from redis import exceptions as rexc

from localdapr.components.model import ComponentSpec
from localdapr.errors import ComponentError
from localdapr.redisconn import connect, go_redis_text, is_truthy, timeout_detail, timeout_hint
from localdapr.state import keys
from localdapr.state.base import DeleteRequest, GetResponse, SetRequest, TransactionOperation
from localdapr.state.errors import ETagInvalid, ETagMismatch, StoreError
from localdapr.state.gostrconv import go_parse_int

log = logging.getLogger("localdapr.state")

# components-contrib's own scripts (state/redis/redis.go setDefaultQuery / delDefaultQuery), byte
# for byte: Redis names a failing script by its SHA and line ("Error running script (call to
# f_d908b955...): @user_script:14: ..."), and daprd passes that text on in its 409s and 500s.
# Set (spec C2.2): allowed iff no version yet, empty version, version == ARGV[1], or (never
# written with first-write and no etag expected: ARGV[1] "0"); ARGV[3] "0" marks a first-write
# (Multi passes no ARGV[3]); a non-hash value is replaced.
SET_SCRIPT = '\n\tlocal etag = redis.pcall("HGET", KEYS[1], "version");\n\tif type(etag) == "table" then\n\t  redis.call("DEL", KEYS[1]);\n\tend;\n\tlocal fwr = redis.pcall("HGET", KEYS[1], "first-write");\n\tif not etag or type(etag)=="table" or etag == "" or etag == ARGV[1] or (not fwr and ARGV[1] == "0") then\n\t  redis.call("HSET", KEYS[1], "data", ARGV[2]);\n\t  if ARGV[3] == "0" then\n\t    redis.call("HSET", KEYS[1], "first-write", 0);\n\t  end;\n\t  return redis.call("HINCRBY", KEYS[1], "version", 1)\n\telse\n\t  return error("failed to set key " .. KEYS[1])\n\tend'

# Delete (spec C4.1): when no version, empty, equal, or no etag given ("0").
DELETE_SCRIPT = '\n\tlocal etag = redis.pcall("HGET", KEYS[1], "version");\n\tif not etag or type(etag)=="table" or etag == ARGV[1] or etag == "" or ARGV[1] == "0" then\n\t  return redis.call("DEL", KEYS[1])\n\telse\n\t  return error("failed to delete " .. KEYS[1])\n\tend'


# contrib's RedisJSON scripts. Its Multi picks them for every operation whose own metadata says
# ``contentType: application/json`` without asking whether the server has RedisJSON (Set asks):
# on a plain Redis the transaction then fails with "Unknown Redis command called from Lua
# script", and so it does here, the same script (SHA) failing the same way.
SET_JSON_SCRIPT = '\n\tlocal etag = redis.pcall("JSON.GET", KEYS[1], ".version");\n\tif type(etag) == "table" then\n\t  redis.call("JSON.DEL", KEYS[1]);\n\tend;\n\tif not etag or type(etag)=="table" or etag == "" then\n\t  etag = ARGV[1];\n\tend;\n\tlocal fwr = redis.pcall("JSON.GET", KEYS[1], ".first-write");\n\tif etag == ARGV[1] or ((not fwr or type(fwr) == "table") and ARGV[1] == "0") then\n\t  redis.call("JSON.SET", KEYS[1], "$", ARGV[2]);\n\t  if ARGV[3] == "0" then\n\t    redis.call("JSON.SET", KEYS[1], ".first-write", 0);\n\t  end;\n\t  return redis.call("JSON.SET", KEYS[1], ".version", (etag+1))\n\telse\n\t  return error("failed to set key " .. KEYS[1])\n\tend'
DELETE_JSON_SCRIPT = '\n\tlocal etag = redis.pcall("JSON.GET", KEYS[1], ".version");\n\tif not etag or type(etag)=="table" or etag == ARGV[1] or etag == "" or ARGV[1] == "0" then\n\t  return redis.call("JSON.DEL", KEYS[1])\n\telse\n\t  return error("failed to delete " .. KEYS[1])\n\tend'
JSON_CONTENT_TYPE = "application/json"


def _json_entry(value: bytes) -> bytes:
    """contrib's ``jsonEntry{Data: value}`` document: the value's JSON, or (not JSON) a string."""
    try:
        json.loads(value)
        return b'{"data":' + value + b"}"
    except ValueError:
        return json.dumps({"data": value.decode(errors="replace")}).encode()


def _script_error(exc: rexc.ResponseError) -> str:
    """The script error as go-redis prints it: redis-py drops the reply's "ERR " code."""
    text = str(exc)
    return text if text.startswith("ERR ") else "ERR " + text


def _reply_text(exc: rexc.ResponseError) -> str:
    """A Redis error reply as go-redis prints it. redis-py keeps replies with their own code
    ("WRONGTYPE ...") whole but drops the generic "ERR " code, which go-redis keeps."""
    text = str(exc)
    code = text.split(" ", 1)[0]
    return text if len(code) > 1 and code.isupper() and code.isalpha() else "ERR " + text


CAPABILITIES = ["ETAG", "TRANSACTIONAL", "TTL", "KEYS_LIKE"]


def _parse_ttl(metadata: dict[str, str], default: int | None, func: str = "ParseInt") -> int | None:
    """A request's ``ttlInSeconds`` as contrib's parseTTL reads it (strconv.ParseInt)."""
    raw = metadata.get("ttlInSeconds")
    if raw is None or raw == "":
        return default
    try:
        return go_parse_int(raw, func)
    except ValueError as exc:
        raise StoreError(f"failed to parse ttl from metadata: {exc}") from None


def _expected(etag: str | None, concurrency: str) -> str:
    """The version the script compares with; '0' means "no etag" (spec C2). contrib's parseETag
    reads the ETag with strconv.Atoi and the script gets the int back as text, so "+7" and "007"
    compare as "7", while " 7" or a 23-digit number are invalid ETags (HTTP 400)."""
    if not etag or concurrency == "last-write":
        return "0"
    try:
        return str(go_parse_int(etag))
    except ValueError as exc:
        raise ETagInvalid(f"invalid etag value: {exc}") from None


def validate_options(concurrency: str, consistency: str) -> None:
    if concurrency not in ("", "first-write", "last-write"):
        raise StoreError(f"unrecognized concurrency model '{concurrency}'")
    if consistency not in ("", "strong", "eventual"):
        raise StoreError(f"unrecognized consistency model '{consistency}'")


def _unavailable(exc: rexc.RedisError) -> StoreError:
    """Redis unreachable, timing out or refusing: a StoreError, which the API layer turns into
    daprd's ERR_STATE_* code naming the store, instead of an unexpected exception. A refused
    connection reads as go-redis's dial error (what daprd shows); other texts stay redis-py's."""
    text = go_redis_text(exc)
    return StoreError(text if text.startswith(("dial tcp ", "redis: ")) else f"{type(exc).__name__}: {exc}")


@contextlib.contextmanager
def _store_errors() -> Iterator[None]:
    try:
        yield
    except rexc.RedisError as exc:
        raise _unavailable(exc) from exc


class RedisStateStore:
    """One ``state.redis`` component."""
    # what an initTimeout during the connect means (runtime._init_timeout)
    timeout_detail = staticmethod(timeout_detail)
    timeout_hint = staticmethod(timeout_hint)


    def __init__(self, spec: ComponentSpec, client: aioredis.Redis, *, is_actor_store: bool) -> None:
        self.spec = spec
        self.name = spec.name
        self.client = client
        self.is_actor_store = is_actor_store
        self.key_prefix_strategy = keys.validate_prefix_strategy(spec.meta_ci("keyPrefix", "appid"))
        self.default_ttl = _parse_ttl({"ttlInSeconds": spec.meta("ttlInSeconds")}, None, "Atoi") if spec.meta("ttlInSeconds") else None
        self._set = client.register_script(SET_SCRIPT)
        self._delete = client.register_script(DELETE_SCRIPT)

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: Any) -> "RedisStateStore":
        try:
            keys.validate_prefix_strategy(spec.meta_ci("keyPrefix", "appid"))
        except ValueError as exc:
            raise ComponentError(str(exc)) from exc
        actor_flag = is_truthy(spec.meta_ci("actorStateStore", "false")) and runtime.options.actors_enabled
        if actor_flag:
            for other in runtime.components.values():
                if getattr(other.instance, "is_actor_store", False):
                    # daprd's state processor returns this one unwrapped (no [INIT_COMPONENT_FAILURE]).
                    raise ComponentError(f"detected duplicate actor state store: {other.spec.name} and {spec.name}", kind=None)
        client = await connect(spec)
        store = cls(spec, client, is_actor_store=actor_flag)
        if actor_flag:
            log.warning("Redis does not support transaction rollbacks and should not be used in production as an actor state store.")
        return store

    def capabilities(self) -> list[str]:
        # daprd appends ACTOR for stores with ETAG + TRANSACTIONAL (spec C6.5).
        return [*CAPABILITIES, "ACTOR"]

    # ---- reads --------------------------------------------------------------------------
    async def get(self, key: str, metadata: dict[str, str] | None = None) -> GetResponse:
        try:
            fields = await self.client.hgetall(key)
        except rexc.ResponseError:
            # Not a hash (e.g. a plain string from an old writer): value without ETag (spec C1.2).
            try:
                value = await self.client.get(key)
            except rexc.ResponseError as exc:
                # Neither a hash nor a string (a list, a set...): daprd passes Redis's reply on as
                # it is, "WRONGTYPE Operation against a key holding the wrong kind of value".
                raise StoreError(_reply_text(exc)) from exc
            except rexc.RedisError as exc:
                raise _unavailable(exc) from exc
            return GetResponse(data=value, etag=None)
        except rexc.RedisError as exc:
            raise _unavailable(exc) from exc
        if not fields:
            return GetResponse(data=None)
        if b"data" not in fields or b"version" not in fields:
            raise StoreError("required hash field 'data' or 'version' was not found")
        return GetResponse(data=fields[b"data"], etag=fields[b"version"].decode())

    # ---- writes -------------------------------------------------------------------------
    async def set(self, request: SetRequest) -> str:
        validate_options(request.concurrency, request.consistency)
        expected = _expected(request.etag, request.concurrency)
        ttl = _parse_ttl(request.metadata, self.default_ttl)
        first_write = "0" if request.concurrency == "first-write" else "1"  # contrib's firstWrite
        try:
            version = await self._set(keys=[request.key], args=[expected, request.value, first_write])
        except rexc.ResponseError as exc:
            if request.etag:
                raise ETagMismatch(f"possible etag mismatch. error from state store: {_script_error(exc)}") from exc
            raise StoreError(f"failed to set key {request.key}: {_script_error(exc)}") from exc
        except rexc.RedisError as exc:
            raise StoreError(f"failed to set key {request.key}: {_unavailable(exc)}") from exc  # contrib's wording
        with _store_errors():
            await self._apply_ttl(self.client, request.key, ttl)
        return str(version)

    @staticmethod
    async def _apply_ttl(target: Any, key: str, ttl: int | None) -> None:
        if ttl is None:
            return
        if ttl > 0:
            await target.expire(key, ttl)
        else:
            await target.persist(key)

    async def delete(self, request: DeleteRequest) -> None:
        validate_options(request.concurrency, request.consistency)
        expected = request.etag or "0"
        try:
            await self._delete(keys=[request.key], args=[expected])
        except rexc.ResponseError as exc:
            raise ETagMismatch(f"possible etag mismatch. error from state store: {_script_error(exc)}") from exc
        except rexc.RedisError as exc:
            raise _unavailable(exc) from exc

    async def multi(self, operations: list[TransactionOperation], metadata: dict[str, str] | None = None) -> None:
        """All operations in one MULTI/EXEC; no rollback; the first error is reported (spec C5.3)."""
        pipe = self.client.pipeline(transaction=True)
        for op in operations:
            req = op.request
            if op.operation == "upsert":
                assert isinstance(req, SetRequest)
                # contrib's Multi neither checks the options (CheckRequestOptions) nor does first-write.
                ttl = _parse_ttl(req.metadata, self.default_ttl)
                expected = _expected(req.etag, req.concurrency)
                if req.metadata.get("contentType") == JSON_CONTENT_TYPE:
                    pipe.eval(SET_JSON_SCRIPT, 1, req.key, expected, _json_entry(req.value))
                else:
                    pipe.eval(SET_SCRIPT, 1, req.key, expected, req.value)
                if ttl is not None:
                    if ttl > 0:
                        pipe.expire(req.key, ttl)
                    else:
                        pipe.persist(req.key)
            elif op.operation == "delete":
                script = DELETE_JSON_SCRIPT if req.metadata.get("contentType") == JSON_CONTENT_TYPE else DELETE_SCRIPT
                pipe.eval(script, 1, req.key, req.etag or "0")
            else:
                raise StoreError(f"operation type {op.operation} not supported")
        with _store_errors():
            results = await pipe.execute(raise_on_error=False)
        for result in results:
            if isinstance(result, rexc.ResponseError):
                raise StoreError(_script_error(result))
            if isinstance(result, Exception):
                raise StoreError(str(result))

    async def keys_like(self, pattern: str) -> list[str]:
        """SQL LIKE -> glob, full SCAN (spec C6.4); used to list workflow instances."""
        glob = pattern.replace("%", "*").replace("_", "?")
        with _store_errors():
            found = [k.decode() async for k in self.client.scan_iter(match=glob, count=1000)]
        return sorted(found)

    async def close(self) -> None:
        await self.client.aclose()
