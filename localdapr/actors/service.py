"""Virtual actors, hosted by this sidecar for its app, as daprd 1.18's actor runtime does it.

* Hosted types come from the app's ``GET /dapr/config`` (``appconfig.py``), fetched once the
  app channel is up; daprd registers them with placement, this sidecar writes them into the
  app directory in the actor store's Redis (``localdapr||actorhosts||<ns>||<type>``, refreshed
  every second, expiring 5 s after a kill -9), so another local sidecar on the same Redis finds
  the app that hosts a type, as placement tells daprd.
* A call activates the actor (an entry in the in-memory table), takes the actor's turn lock (one
  call at a time per actor id; a call carrying the current ``Dapr-Reentrancy-Id`` of a
  reentrant type goes through), and is ``PUT /actors/<type>/<id>/method/<m>`` on the app.
  An actor idle longer than its type's ``actorIdleTimeout`` is deactivated at the next scan
  (``DELETE /actors/<type>/<id>``).
* State is ``<app>||<type>||<id>||<key>`` in the actor state store; a transaction is allowed only
  for an active actor (daprd's ``ERR_ACTOR_INSTANCE_MISSING``); ``ttlInSeconds`` needs the
  ``ActorStateTTL`` feature in the Configuration, as daprd.
* Reminders are durable: the workflow engine's Redis reminder store (``workflow/reminders.py``)
  under this app's actor-reminder keys, so a restarted sidecar fires them. Timers live in this
  process only and die with it, as daprd's.
"""

from __future__ import annotations

import asyncio
import base64
import json
import logging
import os
import time
import uuid
from dataclasses import dataclass, field
from typing import Any

import httpx

from localdapr.actors import errors
from localdapr.actors.appconfig import AppActorConfig, TypeConfig, parse
from localdapr.actors.durations import DurationError, Period, go_duration_string, parse_period, parse_time
from localdapr.appchannel import app_headers
from localdapr.errors import DaprError
from localdapr.runtime import Runtime
from localdapr.state.base import DeleteRequest, SetRequest, TransactionOperation
from localdapr.state.errors import STORE_FAILURES
from localdapr.workflow.reminders import Reminder, Reminders

log = logging.getLogger("localdapr.runtime.actor")
app_log = logging.getLogger("localdapr.runtime.actors.targets.app")

HOST_TTL_MS = 5000
HEARTBEAT_SECONDS = 1.0
LOOKUP_SECONDS = 5.0  # daprd's DaprBuiltInActorNotFoundRetries: 5 retries, 1 s apart
REENTRANCY_HEADER = "Dapr-Reentrancy-Id"
CANCEL_HEADER = "x-daprremindercancel"
CALLER_HEADER = "x-localdapr-caller-app-id"  # set by a local sidecar forwarding a call it does not host
# Request headers never forwarded to the app (hop-by-hop, the caller's own API token).
_DROP = {"host", "content-length", "connection", "transfer-encoding", "dapr-api-token", "keep-alive", "upgrade", CALLER_HEADER}
_DROP_RESPONSE = {"content-length", "connection", "transfer-encoding", "date", "keep-alive"}
FEATURE_TTL = "ActorStateTTL"
CONFIG_TIMEOUT_SECONDS = 5.0


def host_key(namespace: str, actor_type: str) -> str:
    return f"localdapr||actorhosts||{namespace}||{actor_type}"


def reminder_keys(app_id: str, namespace: str = "default") -> tuple[str, str, str]:
    """This app's actor reminders (keys daprd never uses; the workflow engine's are apart), per
    namespace like the workflow engine's (two tenants may run the same app id on one Redis)."""
    base = f"localdapr||{app_id}" if namespace in ("", "default") else f"localdapr||{namespace}||{app_id}"
    base += "||actorreminders"
    return base, base + "||data", base + "||wake"


def reminder_id(actor_type: str, actor_id: str, name: str) -> str:
    return f"{actor_type}||{actor_id}||{name}"


def is_reserved(actor_type: str) -> bool:
    return actor_type.startswith("dapr.internal.")


@dataclass
class Reply:
    """An actor call's answer from the app (or from the sidecar hosting the type)."""

    status: int
    body: bytes
    headers: list[tuple[str, str]] = field(default_factory=list)
    content_type: str = ""


@dataclass
class ActiveActor:
    actor_type: str
    actor_id: str
    idle_at: float
    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    reentrancy_id: str | None = None
    busy: int = 0

    @property
    def key(self) -> str:
        return f"{self.actor_type}||{self.actor_id}"


class ActorService:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.config = AppActorConfig()
        self.config_loaded = asyncio.Event()
        self.table: dict[tuple[str, str], ActiveActor] = {}
        self.timers: dict[tuple[str, str, str], asyncio.Task[None]] = {}
        self.reminders: Reminders | None = None
        self.store: Any = None
        self._tasks: list[asyncio.Task[None]] = []
        self._client: httpx.AsyncClient | None = None
        self._peers: httpx.AsyncClient | None = None

    # ---- lifecycle (runtime.services hooks) --------------------------------------------------
    @property
    def enabled(self) -> bool:
        """Actors run with ``--placement-host-address`` (daprd: with placement), state store or not."""
        return self.runtime.options.actors_enabled

    async def start(self) -> None:
        opts = self.runtime.options
        if not self.enabled:
            self.config_loaded.set()
            return
        # daprd hosts and calls actors without an actor state store too; only state (and, here,
        # reminders and the app directory, which live in that store's Redis) need it.
        self.store = self.runtime.actor_state_store
        log.info("Actor runtime started")
        self._client = httpx.AsyncClient(base_url=f"http://{opts.app_channel_address}:{opts.app_port}", timeout=None) if opts.app_port else None
        self._peers = httpx.AsyncClient(timeout=None)
        self._tasks = [asyncio.create_task(self._idle_scan(), name="actor-idle")]
        if self.store is not None:
            self.reminders = Reminders(self.store.client, self.runtime.app_id, self.runtime.namespace_or_default,
                                       keys=reminder_keys(self.runtime.app_id, self.runtime.namespace_or_default))
            self.reminders.handler = self._fire_reminder
            self.reminders.start()
            self._tasks.append(asyncio.create_task(self._heartbeat(), name="actor-hosts"))
        if opts.app_port is None:
            self.config_loaded.set()

    async def on_app_ready(self) -> None:
        if not self.enabled or self._client is None or self.config_loaded.is_set():
            return
        try:
            # bounded: the other services' app-ready hooks run after this one
            resp = await self._client.get("/dapr/config", headers={"Content-Type": "application/json", "Dapr-App-Id": self.runtime.app_id, **app_headers()},
                                          timeout=CONFIG_TIMEOUT_SECONDS)
            doc = resp.json() if resp.status_code == 200 else {}
        except (httpx.HTTPError, ValueError) as exc:
            log.debug("no actor configuration from the app: %s", exc)
            doc = {}
        self.config = parse(doc)
        if self.config.types:
            log.info("Registering hosted actors: [%s]", " ".join(self.config.types))
            await self._beat_once()
        self.config_loaded.set()
        if self.reminders is not None:
            await self.reminders.retry_now()

    async def close(self) -> None:
        for task in [*self._tasks, *self.timers.values()]:
            task.cancel()
        # daprd deactivates every active actor when it shuts down gracefully (DELETE to the app)
        if self.table:
            try:
                await asyncio.wait_for(asyncio.gather(*(self.deactivate(a) for a in list(self.table.values())), return_exceptions=True), timeout=2.0)
            except asyncio.TimeoutError:
                pass
        if self.reminders is not None:
            await self.reminders.close()
        if self.store is not None and self.config.types:
            try:
                await self.store.client.delete(*(host_key(self.runtime.namespace_or_default, t) for t in self.config.types))
            except Exception:  # noqa: BLE001 - Redis away: the entries expire
                pass
        for client in (self._client, self._peers):
            if client is not None:
                await client.aclose()

    def metadata_section(self) -> dict[str, Any]:
        """daprd's ``actors`` (hosted types with their active count) for /v1.0/metadata."""
        if not self.config.types:
            return {}
        return {"actors": [{"type": t, "count": self.active_count(t)} for t in self.config.types]}

    def active_count(self, actor_type: str) -> int:
        return sum(1 for (t, _) in self.table if t == actor_type)

    # ---- directory (placement's role) ----------------------------------------------------------
    async def _heartbeat(self) -> None:
        while True:
            await asyncio.sleep(HEARTBEAT_SECONDS)
            await self._beat_once()

    async def _beat_once(self) -> None:
        if not self.config.types or self.store is None:
            return
        opts = self.runtime.options
        entry = json.dumps({"appID": self.runtime.app_id, "httpPort": opts.dapr_http_port, "grpcPort": opts.dapr_grpc_port,
                            "address": opts.listen_address, "pid": os.getpid()})
        try:
            pipe = self.store.client.pipeline(transaction=False)
            for actor_type in self.config.types:
                pipe.set(host_key(self.runtime.namespace_or_default, actor_type), entry, px=HOST_TTL_MS)
            await pipe.execute()
        except asyncio.CancelledError:
            raise
        except Exception as exc:  # noqa: BLE001 - retried on the next beat
            log.debug("actor host heartbeat failed: %s", exc)

    async def _lookup(self, actor_type: str) -> dict[str, Any] | None:
        if self.store is None:
            return None  # no shared Redis: only this app's own types are found
        try:
            raw = await self.store.client.get(host_key(self.runtime.namespace_or_default, actor_type))
        except Exception:  # noqa: BLE001
            return None
        return json.loads(raw) if raw else None

    def hosts(self, actor_type: str) -> bool:
        return actor_type in self.config.types

    # ---- checks ---------------------------------------------------------------------------
    def require_actors(self) -> None:
        if not self.enabled:
            raise errors.no_placement()

    def require_store(self) -> None:
        self.require_actors()
        if self.store is None:
            raise errors.runtime_not_found()

    async def _wait_config(self) -> None:
        if not self.config_loaded.is_set():
            try:
                await asyncio.wait_for(self.config_loaded.wait(), timeout=LOOKUP_SECONDS)
            except asyncio.TimeoutError:
                pass

    # ---- invocation -----------------------------------------------------------------------------
    async def invoke(self, actor_type: str, actor_id: str, method: str, body: bytes, headers: list[tuple[str, str]],
                     query: str = "", caller: str | None = None) -> Reply:
        """Call an actor method, here or on the sidecar hosting the type. Raises DaprError
        (``errors.invoke_failed``) or LookupFailed."""
        self.require_actors()
        deadline = time.monotonic() + LOOKUP_SECONDS
        warned = False
        while True:
            if self.hosts(actor_type):
                # daprd names the hosting app as the caller, even for a call another sidecar forwarded
                return await self._invoke_local(actor_type, actor_id, method, body, headers, query, self.runtime.app_id)
            entry = await self._lookup(actor_type) if actor_type and actor_id else None
            if entry is not None and entry.get("appID") != self.runtime.app_id:
                return await self._invoke_remote(entry, actor_type, actor_id, method, body, headers, query)
            if time.monotonic() >= deadline:
                raise errors.LookupFailed(actor_type, actor_id if actor_type else "")
            if not warned:
                warned = True
                log.warning("Error processing operation DaprBuiltInActorNotFoundRetries. Retrying in 1s…")
            await asyncio.sleep(1.0)

    async def _invoke_remote(self, entry: dict[str, Any], actor_type: str, actor_id: str, method: str, body: bytes,
                             headers: list[tuple[str, str]], query: str) -> Reply:
        assert self._peers is not None
        url = f"http://{entry.get('address') or '127.0.0.1'}:{entry['httpPort']}/v1.0/actors/{actor_type}/{actor_id}/method/{method}"
        send = [(k, v) for k, v in headers if k.lower() not in _DROP]
        send.append((CALLER_HEADER, self.runtime.app_id))
        token = os.environ.get("DAPR_API_TOKEN", "")
        if token:
            send.append(("dapr-api-token", token))
        try:
            resp = await self._peers.put(url + (f"?{query}" if query else ""), content=body, headers=send)
        except httpx.HTTPError as exc:
            raise errors.invoke_failed(f"failed to invoke actor on app {entry.get('appID')}: {exc}") from exc
        if resp.status_code >= 400 and resp.headers.get("content-type", "").startswith("application/json"):
            try:
                err = resp.json()
            except ValueError:
                err = None
            if isinstance(err, dict) and "errorCode" in err:
                # daprd: the host's gRPC status, wrapped once more by the calling sidecar
                raise errors.invoke_failed(f"rpc error: code = Internal desc = {err.get('message', '')}")
        return Reply(resp.status_code, resp.content, [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in _DROP_RESPONSE and k.lower() != "content-type"],
                     resp.headers.get("content-type", ""))

    def _activate(self, actor_type: str, actor_id: str) -> ActiveActor:
        actor = self.table.get((actor_type, actor_id))
        if actor is None:
            actor = self.table[(actor_type, actor_id)] = ActiveActor(actor_type, actor_id, time.monotonic() + self._type(actor_type).idle_seconds)
        return actor

    def _type(self, actor_type: str) -> TypeConfig:
        return self.config.types.get(actor_type) or TypeConfig()

    async def _invoke_local(self, actor_type: str, actor_id: str, method: str, body: bytes, headers: list[tuple[str, str]],
                            query: str, caller: str) -> Reply:
        actor = self._activate(actor_type, actor_id)
        reentrant = self._type(actor_type).reentrant
        incoming = next((v for k, v in headers if k.lower() == REENTRANCY_HEADER.lower()), None) if reentrant else None
        send = [(k, v) for k, v in headers if k.lower() not in _DROP and k.lower() != REENTRANCY_HEADER.lower()]
        send += [("Dapr-Api-Call", "true"), ("Dapr-Caller-App-Id", caller), ("Dapr-Caller-Namespace", self.runtime.namespace_or_default)]
        if incoming is not None and incoming == actor.reentrancy_id:
            send.append((REENTRANCY_HEADER, incoming))
            return await self._call_app(actor, f"method/{method}", body, send, query)
        actor.busy += 1
        try:
            async with actor.lock:
                if reentrant:
                    actor.reentrancy_id = incoming or str(uuid.uuid4())
                    send.append((REENTRANCY_HEADER, actor.reentrancy_id))
                try:
                    return await self._call_app(actor, f"method/{method}", body, send, query)
                finally:
                    actor.reentrancy_id = None
        finally:
            actor.busy -= 1

    async def _call_app(self, actor: ActiveActor, path: str, body: bytes, headers: list[tuple[str, str]], query: str = "") -> Reply:
        """One PUT to the app; a non-200 answer or a failed connection is daprd's error."""
        if self._client is None:
            raise errors.invoke_failed(f"app channel for actor type {actor.actor_type} is nil")
        actor.idle_at = time.monotonic() + self._type(actor.actor_type).idle_seconds
        url = f"/actors/{actor.actor_type}/{actor.actor_id}/{path}" + (f"?{query}" if query else "")
        full = f"http://{self.runtime.options.app_channel_address}:{self.runtime.options.app_port}{url}"
        try:
            async with self.runtime.app_concurrency.slot():
                resp = await self._client.put(url, content=body, headers=[*headers, *app_headers().items()])
        except httpx.ConnectError as exc:
            raise errors.invoke_failed(f'Put "{full}": dial tcp {self.runtime.options.app_channel_address}:{self.runtime.options.app_port}: connect: connection refused') from exc
        except httpx.HTTPError as exc:
            raise errors.invoke_failed(f'Put "{full}": EOF') from exc
        if resp.status_code == 404:
            raise errors.invoke_failed(f"actor method not found: actors/{actor.actor_type}/{actor.actor_id}/{path}")
        if resp.status_code != 200:
            raise errors.invoke_failed(f"error from actor service: ({resp.status_code}) {resp.text}")
        return Reply(200, resp.content, [(k, v) for k, v in resp.headers.multi_items() if k.lower() not in _DROP_RESPONSE and k.lower() != "content-type"],
                     resp.headers.get("content-type", ""))

    async def _callback(self, actor_type: str, actor_id: str, path: str, payload: dict[str, Any]) -> Reply:
        """A reminder or timer delivery: activates the actor and takes its turn."""
        actor = self._activate(actor_type, actor_id)
        actor.busy += 1
        try:
            async with actor.lock:
                return await self._call_app(actor, path, json.dumps(payload, separators=(",", ":")).encode(),
                                            [("Content-Type", "application/json")])
        finally:
            actor.busy -= 1

    # ---- idle deactivation ----------------------------------------------------------------------
    async def _idle_scan(self) -> None:
        last = time.monotonic()
        while True:
            # the interval is re-read: the app's configuration arrives after the loop started
            await asyncio.sleep(min(0.25, max(0.01, self.config.scan_seconds)))
            if time.monotonic() - last < self.config.scan_seconds:
                continue
            now = last = time.monotonic()
            for actor in [a for a in self.table.values() if a.idle_at <= now and a.busy == 0 and not a.lock.locked()]:
                app_log.debug("Actor %s is idle, deactivating", actor.key)
                await self.deactivate(actor)

    async def deactivate(self, actor: ActiveActor) -> None:
        if self.table.get((actor.actor_type, actor.actor_id)) is not actor:
            return
        del self.table[(actor.actor_type, actor.actor_id)]
        if self._client is None:
            return
        try:
            resp = await self._client.delete(f"/actors/{actor.actor_type}/{actor.actor_id}", headers={"Content-Type": "application/x-protobuf", **app_headers()})
            if resp.status_code != 200:
                app_log.error("error from actor service: (%s) %s", resp.status_code, resp.text)
                return
        except httpx.HTTPError as exc:
            app_log.error("Failed to deactivate actor %s: %s", actor.key, exc)
            return
        app_log.debug("Deactivated actor '%s'", actor.key)

    # ---- state ----------------------------------------------------------------------------------
    def state_key(self, actor_type: str, actor_id: str, key: str) -> str:
        return f"{self.runtime.app_id}||{actor_type}||{actor_id}||{key}"

    async def get_state(self, actor_type: str, actor_id: str, key: str) -> bytes | None:
        if is_reserved(actor_type):
            raise errors.type_reserved(actor_type)
        self.require_store()
        try:
            got = await self.store.get(self.state_key(actor_type, actor_id, key))
        except STORE_FAILURES as exc:
            raise errors.state_get_failed(str(exc)) from exc
        return got.data or None

    def check_active(self, actor_type: str, actor_id: str) -> None:
        if is_reserved(actor_type):
            raise errors.type_reserved(actor_type)
        self.require_store()
        if (actor_type, actor_id) not in self.table:
            raise errors.instance_missing()

    def ttl_enabled(self) -> bool:
        return FEATURE_TTL in self.runtime.config.features

    async def transaction(self, actor_type: str, actor_id: str, operations: list[TransactionOperation]) -> None:
        """Operations already built with ``state_key``; one MULTI in the actor store."""
        try:
            await self.store.multi(operations)
        except STORE_FAILURES as exc:
            raise errors.transaction_failed(str(exc)) from exc

    def upsert(self, actor_type: str, actor_id: str, key: str, value: bytes, metadata: dict[str, str], etag: str | None = None) -> TransactionOperation:
        if not key:
            raise errors.transaction_failed("missing key")
        if "ttlInSeconds" in metadata and not self.ttl_enabled():
            raise errors.transaction_failed(f'ttlInSeconds is not supported without the "{FEATURE_TTL}" feature enabled')
        return TransactionOperation("upsert", SetRequest(self.state_key(actor_type, actor_id, key), value, etag, dict(metadata)))

    def delete_op(self, actor_type: str, actor_id: str, key: str, etag: str | None = None) -> TransactionOperation:
        if not key:
            raise errors.transaction_failed("missing key")
        return TransactionOperation("delete", DeleteRequest(self.state_key(actor_type, actor_id, key), etag))

    # ---- reminders ------------------------------------------------------------------------------
    async def _check_reminder_type(self, actor_type: str) -> Reminders:
        if is_reserved(actor_type):
            raise errors.type_reserved(actor_type)
        self.require_store()
        await self._wait_config()
        if not self.hosts(actor_type):
            raise errors.reminder_not_hosted()
        assert self.reminders is not None
        return self.reminders

    async def create_reminder(self, actor_type: str, actor_id: str, name: str, due_time: str, period: str, ttl: str,
                              data_json: str | None, overwrite: bool | None = None) -> None:
        """``data_json``: the reminder's data as the JSON text daprd keeps (HTTP: the body's
        ``data`` as sent; gRPC: the bytes as a base64 JSON string)."""
        reminders = await self._check_reminder_type(actor_type)
        if overwrite is False and await reminders.client.hexists(reminders.hkey, reminder_id(actor_type, actor_id, name)):
            raise errors.reminder_exists(name)
        now = time.time()
        try:
            parsed = parse_period(period)
        except DurationError:
            raise errors.reminder_create_failed(f"unsupported period format: {period}") from None
        if not due_time and not parsed.recurring:
            raise errors.reminder_create_failed("rpc error: code = Unknown desc = job failed validation: job must have either a due time or a schedule")
        try:
            due = parse_time(due_time, now) if due_time else now
        except DurationError:
            raise errors.reminder_create_failed("rpc error: code = Unknown desc = job failed validation: due time format not recognized") from None
        expires = None
        if ttl:
            if not parsed.recurring:
                raise errors.reminder_create_failed("rpc error: code = Unknown desc = job failed validation: job must have a schedule to have a ttl")
            try:
                expires = parse_time(ttl, due)
            except DurationError:
                raise errors.reminder_create_failed("rpc error: code = Unknown desc = job failed validation: ttl format not recognized") from None
        payload = {"actorType": actor_type, "actorID": actor_id, "name": name, "data": data_json, "dueTime": due_time,
                   "period": period, "periodSeconds": parsed.seconds, "repeats": parsed.repeats,
                   "expires": expires, "registered": now}
        await reminders.add(Reminder(reminder_id(actor_type, actor_id, name), int(due * 1000), payload))

    async def get_reminder(self, actor_type: str, actor_id: str, name: str) -> dict[str, Any]:
        reminders = await self._check_reminder_type(actor_type)
        raw = await reminders.client.hget(reminders.hkey, reminder_id(actor_type, actor_id, name))
        if raw is None:
            raise errors.reminder_not_found(name)
        return json.loads(raw)

    async def list_reminders(self, actor_type: str, actor_id: str | None = None) -> list[dict[str, Any]]:
        reminders = await self._check_reminder_type(actor_type)
        out = []
        for rid, raw in (await reminders.client.hgetall(reminders.hkey)).items():
            p = json.loads(raw)
            if p["actorType"] == actor_type and (actor_id is None or p["actorID"] == actor_id):
                out.append(p)
        return sorted(out, key=lambda p: (p["actorID"], p["name"]))

    async def delete_reminder(self, actor_type: str, actor_id: str, name: str) -> None:
        reminders = await self._check_reminder_type(actor_type)
        await reminders.remove(reminder_id(actor_type, actor_id, name))

    async def delete_reminders_by_type(self, actor_type: str) -> None:
        for p in await self.list_reminders(actor_type):
            await self.delete_reminder(actor_type, p["actorID"], p["name"])

    @staticmethod
    def reminder_view(p: dict[str, Any]) -> dict[str, Any]:
        """daprd's GET reminder answer (data as its JSON, period as the Scheduler shows it)."""
        view: dict[str, Any] = {"actorID": p["actorID"], "actorType": p["actorType"]}
        if p.get("data") is not None:
            view["data"] = json.loads(p["data"])
        if p.get("dueTime"):
            view["dueTime"] = p["dueTime"]
        if p.get("periodSeconds"):
            view["period"] = "@every " + go_duration_string(p["periodSeconds"])
        return view

    async def _fire_reminder(self, rid: str, p: dict[str, Any]) -> bool:
        assert self.reminders is not None
        await self._wait_config()
        if not self.hosts(p["actorType"]):
            return False  # the app does not (yet) host the type: retried, the reminder is kept
        now = time.time()
        if p.get("expires") is not None and now > p["expires"]:
            await self.reminders.remove(rid)
            return True
        body: dict[str, Any] = {}
        if p.get("data") is not None:
            body["data"] = json.loads(p["data"])
        body.update({"dueTime": "", "period": ""})
        app_log.debug("Executing reminder for actor %s", rid)
        try:
            reply = await self._callback(p["actorType"], p["actorID"], f"method/remind/{p['name']}", body)
        except DaprError as exc:
            app_log.error("Error executing reminder for actor %s: %s", rid, exc.message.removeprefix("error invoke actor method: "))
            return False
        # daprd 1.18.2 keeps firing a reminder whose callback answers X-DaprReminderCancel (seen
        # with the Scheduler), so the header is not acted on here either.
        del reply
        current = await self.reminders.client.hget(self.reminders.hkey, rid)
        if current is None or json.loads(current).get("registered") != p.get("registered"):
            return True  # unregistered or registered anew during the call: leave the new one alone
        repeats = int(p.get("repeats", -1))
        if not p.get("periodSeconds") or repeats == 1:
            await self._remove_if_unchanged(rid, current)
            return True
        p["repeats"] = repeats - 1 if repeats > 0 else -1
        nxt = max(now, time.time()) + float(p["periodSeconds"])
        if p.get("expires") is not None and nxt > p["expires"]:
            await self._remove_if_unchanged(rid, current)
            return True
        # Atomically, and only if nobody unregistered or replaced it meanwhile.
        await self.reminders.client.eval(
            "if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then "
            "redis.call('ZADD', KEYS[1], 'XX', ARGV[3], ARGV[1]); redis.call('HSET', KEYS[2], ARGV[1], ARGV[4]) end return 0",
            2, self.reminders.zkey, self.reminders.hkey, rid, current, int(nxt * 1000), json.dumps(p))
        return True

    async def _remove_if_unchanged(self, rid: str, current: bytes) -> None:
        assert self.reminders is not None
        await self.reminders.client.eval(
            "if redis.call('HGET', KEYS[2], ARGV[1]) == ARGV[2] then "
            "redis.call('ZREM', KEYS[1], ARGV[1]); redis.call('HDEL', KEYS[2], ARGV[1]) end return 0",
            2, self.reminders.zkey, self.reminders.hkey, rid, current)

    # ---- timers ---------------------------------------------------------------------------------
    async def create_timer(self, actor_type: str, actor_id: str, name: str, due_time: str, period: str, ttl: str,
                           callback: str, data_json: str | None) -> None:
        if is_reserved(actor_type):
            raise errors.type_reserved(actor_type)
        self.require_actors()
        now = time.time()
        try:
            due = parse_time(due_time, now) if due_time else now
        except DurationError as exc:
            raise errors.timer_create_failed(f"error parsing timer due time: {exc}") from None
        try:
            parsed = parse_period(period)
        except DurationError as exc:
            raise errors.timer_create_failed(f"invalid timer period: parse error: {exc}") from None
        expires = None
        if ttl:
            try:
                expires = parse_time(ttl, due)
            except DurationError as exc:
                raise errors.timer_create_failed(f"error parsing timer TTL: {exc}") from None
            if now > expires or due > expires:
                raise errors.timer_create_failed(f"timer {actor_type}||{actor_id}||{name} has already expired: dueTime: {due_time} TTL: {ttl}")
        key = (actor_type, actor_id, name)
        old = self.timers.pop(key, None)
        if old is not None:
            old.cancel()
        body: dict[str, Any] = {}
        if data_json is not None:
            body["data"] = json.loads(data_json)
        body.update({"callback": callback, "dueTime": due_time, "period": period})
        self.timers[key] = asyncio.create_task(self._run_timer(key, due, parsed, expires, body))

    async def delete_timer(self, actor_type: str, actor_id: str, name: str) -> None:
        if is_reserved(actor_type):
            raise errors.type_reserved(actor_type)
        self.require_actors()
        task = self.timers.pop((actor_type, actor_id, name), None)
        if task is not None and task is not asyncio.current_task():
            task.cancel()

    async def _run_timer(self, key: tuple[str, str, str], due: float, period: Period, expires: float | None, body: dict[str, Any]) -> None:
        actor_type, actor_id, name = key
        repeats = period.repeats
        me = asyncio.current_task()
        try:
            while True:
                await asyncio.sleep(max(0.0, due - time.time()))
                if expires is not None and time.time() > expires:
                    return
                app_log.debug("Executing timer for actor %s||%s||%s", actor_type, actor_id, name)
                try:
                    reply = await asyncio.shield(self._callback(actor_type, actor_id, f"method/timer/{name}", body))
                    if any(k.lower() == CANCEL_HEADER and v.lower() in ("true", "1") for k, v in reply.headers):
                        return
                except DaprError as exc:
                    app_log.error("Error executing timer for actor %s||%s||%s: %s", actor_type, actor_id, name,
                                  exc.message.removeprefix("error invoke actor method: "))
                if not period.recurring or repeats == 1:
                    return
                repeats = repeats - 1 if repeats > 0 else -1
                due = max(due + period.seconds, time.time())
        finally:
            if self.timers.get(key) is me:
                del self.timers[key]


def grpc_reminder_data(data: bytes) -> str | None:
    """gRPC reminder/timer data as daprd keeps it: the bytes as a JSON (base64) string."""
    return json.dumps(base64.b64encode(data).decode()) if data else None
