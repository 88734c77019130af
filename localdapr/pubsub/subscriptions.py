"""Subscriptions: streaming (gRPC), programmatic (``/dapr/subscribe``) and declarative (YAML).

Programmatic and declarative subscriptions deliver to the app on ``--app-port`` over HTTP
(spec F3.2, F3.3) or, with ``--app-protocol grpc``, over gRPC (:mod:`localdapr.pubsub.grpc_app`);
the manager starts them once the app is reachable and lists every subscription in the
metadata (spec E3).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import grpc
import httpx

from localdapr.appchannel import app_headers
from localdapr.components.loader import load_documents
from localdapr.pubsub import gocompat, service
from localdapr.pubsub.bulk_subscribe import Batcher, GrpcBulkDelivery, HttpBulkDelivery
from localdapr.pubsub.grpc_app import GrpcAppChannel, wants_bulk
from localdapr.pubsub.redis_streams import StreamMessage
from localdapr.runtime import Runtime

log = logging.getLogger("localdapr.pubsub")

# daprd gives a streaming subscription the default route "/" (it shows in the metadata rules).
STREAMING_ROUTE = "/"


@dataclass
class Subscription:
    pubsubname: str
    topic: str
    kind: str  # DECLARATIVE | PROGRAMMATIC | STREAMING
    route: str = ""
    dead_letter_topic: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    stop: Callable[[], None] | None = None
    default_rule: bool = False  # gRPC app: a subscription without a route still has one rule (path "")
    bulk: tuple[int, int] | None = None  # bulkSubscribe enabled: (maxMessagesCount, maxAwaitDurationMs)

    def describe(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"pubsubname": self.pubsubname, "topic": self.topic, "deadLetterTopic": self.dead_letter_topic, "type": self.kind}
        if self.metadata:
            doc["metadata"] = self.metadata
        if self.route:
            doc["rules"] = [{"path": self.route}]
        elif self.default_rule:
            doc["rules"] = [{}]  # daprd's gRPC default rule: path "", omitted from the JSON
        return doc


def _route(entry: dict[str, Any], where: str) -> str:
    if entry.get("route"):
        return str(entry["route"])
    routes = entry.get("routes") or {}
    for rule in routes.get("rules") or []:
        if rule.get("match"):
            log.error("%s: route rule with match %r is not supported by the local sidecar (CEL); it is ignored", where, rule["match"])
    return str(routes.get("default") or "")


def _bulk_config(doc: dict[str, Any]) -> tuple[int, int] | None:
    """``bulkSubscribe`` of a declarative spec or a ``/dapr/subscribe`` entry (0 = default)."""
    bulk = doc.get("bulkSubscribe") or {}
    if not bulk.get("enabled"):
        return None
    return int(bulk.get("maxMessagesCount") or 0), int(bulk.get("maxAwaitDurationMs") or 0)


class SubscriptionManager:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.active: list[Subscription] = []
        self._http: httpx.AsyncClient | None = None
        self._grpc: GrpcAppChannel | None = None

    def metadata_section(self) -> dict[str, Any]:
        return {"subscriptions": [s.describe() for s in self.active]} if self.active else {}

    def add(self, sub: Subscription) -> None:
        self.active.append(sub)

    def remove(self, sub: Subscription) -> None:
        if sub in self.active:
            self.active.remove(sub)
        if sub.stop:
            sub.stop()

    # ---- subscriptions delivered to the app (HTTP or gRPC) -----------------------------------------
    def _declarative(self) -> list[Subscription]:
        subs = []
        for file, doc in load_documents(self.runtime.options.resources_paths, "Subscription"):
            if doc.get("kind") != "Subscription" or doc.get("apiVersion") not in ("dapr.io/v1alpha1", "dapr.io/v2alpha1"):
                continue
            scopes = doc.get("scopes") or []
            if scopes and self.runtime.app_id not in scopes:
                continue
            spec = doc.get("spec") or {}
            route = _route(spec, f"file {file}")
            subs.append(Subscription(str(spec.get("pubsubname", "")), str(spec.get("topic", "")), "DECLARATIVE", route,
                                     str(spec.get("deadLetterTopic") or ""), {k: str(v) for k, v in (spec.get("metadata") or {}).items()},
                                     bulk=_bulk_config(spec)))
        return subs

    async def on_app_ready(self) -> None:
        opts = self.runtime.options
        if opts.app_port is None or not self.runtime.pubsubs:
            return
        subs = self._declarative()
        if opts.app_protocol == "grpc":
            self._grpc = GrpcAppChannel(f"{opts.app_channel_address}:{opts.app_port}")
            subs += await self._programmatic_grpc()
            make_handler = self._grpc_handler
        elif opts.app_protocol in ("http", "h2c"):
            # app-channel calls carry APP_API_TOKEN as dapr-api-token
            self._http = httpx.AsyncClient(base_url=f"http://{opts.app_channel_address}:{opts.app_port}", timeout=60,
                                           headers=app_headers())
            subs += await self._programmatic_http()
            make_handler = self._http_handler
        else:
            log.error("--app-protocol %s is not supported by the local sidecar's app channel (http, h2c and grpc are); "
                      "no subscription is delivered to the app", opts.app_protocol)
            return
        for sub in subs:
            sub.default_rule = self._grpc is not None
            missing = self.runtime.not_implemented(sub.pubsubname, "pubsub")
            if missing is not None:  # e.g. pubsub.in-memory: listed, never delivered, said once
                log.error("subscription to %s/%s not started: %s", sub.pubsubname, sub.topic, missing.message)
                continue
            if sub.pubsubname not in self.runtime.pubsubs or (not sub.route and self._grpc is None):
                log.error("subscription to %s/%s has no route or an unknown pubsub; not started", sub.pubsubname, sub.topic)
                continue
            pubsub = self.runtime.pubsubs[sub.pubsubname]
            sub.stop = pubsub.subscribe(sub.topic, make_handler(sub))
            self.add(sub)
            log.info("subscribed %s/%s -> %s (%s)", sub.pubsubname, sub.topic, sub.route, sub.kind)

    async def _programmatic_http(self) -> list[Subscription]:
        assert self._http is not None
        subs: list[Subscription] = []
        try:
            resp = await self._http.get("/dapr/subscribe")
            if resp.status_code == 200:
                for entry in resp.json() or []:
                    route = _route(entry, "app /dapr/subscribe")
                    if route:
                        subs.append(Subscription(entry.get("pubsubname", ""), entry.get("topic", ""), "PROGRAMMATIC", route,
                                                 entry.get("deadLetterTopic") or "", entry.get("metadata") or {}, bulk=_bulk_config(entry)))
        except httpx.HTTPError as exc:
            log.warning("could not read the app's /dapr/subscribe: %s", exc)
        return subs

    async def _programmatic_grpc(self) -> list[Subscription]:
        """``ListTopicSubscriptions``; the route is the default path ("" when none, as daprd)."""
        assert self._grpc is not None
        try:
            entries = await self._grpc.list_subscriptions()
        except grpc.aio.AioRpcError as exc:
            log.error("error getting topics from app: %s", exc.details())
            return []
        subs: list[Subscription] = []
        for entry in entries:
            for rule in entry.routes.rules:
                if rule.match:
                    log.error("app ListTopicSubscriptions: route rule with match %r is not supported by the local sidecar (CEL); "
                              "it is ignored", rule.match)
            bulk = (entry.bulk_subscribe.max_messages_count, entry.bulk_subscribe.max_await_duration_ms) if wants_bulk(entry) else None
            subs.append(Subscription(entry.pubsub_name, entry.topic, "PROGRAMMATIC", entry.routes.default,
                                     entry.dead_letter_topic, dict(entry.metadata), bulk=bulk))
        return subs

    def _grpc_handler(self, sub: Subscription):  # type: ignore[no-untyped-def]
        if sub.bulk is not None:
            assert self._grpc is not None
            delivery = GrpcBulkDelivery(self.runtime, self._grpc.channel, sub.pubsubname, sub.route, sub.dead_letter_topic, sub.metadata,
                                        self._timeout(sub))
            return Batcher(sub.bulk[0], sub.bulk[1], delivery.flush).submit

        async def handle(msg: StreamMessage) -> None:
            assert self._grpc is not None
            channel = self._grpc
            await service.handle(self.runtime, sub.pubsubname, msg, sub.metadata, sub.dead_letter_topic,
                                 lambda event: channel.deliver(event, msg.topic, sub.pubsubname, sub.route, msg.metadata,
                                                               self._timeout(sub)))

        return handle

    def _http_handler(self, sub: Subscription):  # type: ignore[no-untyped-def]
        if sub.bulk is not None:
            assert self._http is not None
            bulk_delivery = HttpBulkDelivery(self.runtime, self._http, sub.pubsubname, sub.route, sub.dead_letter_topic, sub.metadata,
                                             self._timeout(sub))
            return Batcher(sub.bulk[0], sub.bulk[1], bulk_delivery.flush).submit

        async def deliver(msg: StreamMessage, event: dict[str, Any]) -> str:
            """daprd's HTTP postman: the entry's bytes (the CloudEvent built for a rawPayload
            subscription) POSTed as application/cloudevents+json with the entry's metadata as
            headers. 2xx: ``status`` SUCCESS (or none, or an unreadable body) / RETRY / DROP,
            case-sensitive, anything else retries; 404 drops; other codes and an unreachable app
            are failures (with no resiliency policy: dead letter or dropped)."""
            assert self._http is not None
            raw = bool(sub.metadata.get("rawPayload")) and gocompat.parse_bool(sub.metadata["rawPayload"])
            body = gocompat.dumps_bytes(event) if raw else msg.data
            headers = {k: v for k, v in {**msg.metadata, service.METADATA_KEY_PUBSUB: sub.pubsubname}.items() if k.lower() != "content-length"}
            headers["Content-Type"] = "application/cloudevents+json"
            try:
                async with self.runtime.app_concurrency.slot():  # --app-max-concurrency
                    resp = await self._http.post(sub.route, content=body, headers=headers, timeout=self._timeout(sub))
            except httpx.TimeoutException as exc:
                raise service.DeliveryTimeout(f"app did not answer within processingTimeout: {exc}") from exc
            except httpx.HTTPError as exc:
                log.warning("error returned from app channel while sending pub/sub event to app: %s", exc)
                return "retry"
            if resp.status_code == 404:
                return "drop"
            if not 200 <= resp.status_code <= 299:
                return "retry"
            try:
                answer = json.loads(resp.content) if resp.content.strip() else None
            except ValueError:
                return "success"
            status = answer.get("status", "") if isinstance(answer, dict) else ""
            if not isinstance(status, str):
                return "success"  # Go: decoding the body fails, the status check is skipped
            return {"": "success", "SUCCESS": "success", "RETRY": "retry", "DROP": "drop"}.get(status, "retry")

        async def handle(msg: StreamMessage) -> None:
            await service.handle(self.runtime, sub.pubsubname, msg, sub.metadata, sub.dead_letter_topic,
                                 lambda event: deliver(msg, event))

        return handle

    async def on_app_unhealthy(self) -> None:
        """daprd ``StopAppSubscriptions``: app health checks failed, stop delivering to the app
        (streaming subscriptions are the client's and keep running); on_app_ready restarts them."""
        for sub in [s for s in self.active if s.kind != "STREAMING"]:
            self.remove(sub)
            log.info("stopped subscription %s/%s: the app is unhealthy", sub.pubsubname, sub.topic)

    def _timeout(self, sub: Subscription) -> float | None:
        return self.runtime.pubsubs[sub.pubsubname].handler_timeout

    async def close(self) -> None:
        for sub in list(self.active):
            self.remove(sub)
        if self._http is not None:
            await self._http.aclose()
        if self._grpc is not None:
            await self._grpc.close()
