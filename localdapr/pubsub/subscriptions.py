"""Subscriptions: streaming (gRPC), programmatic (``/dapr/subscribe``) and declarative (YAML).

Programmatic and declarative subscriptions deliver over HTTP to the app on ``--app-port``
(spec F3.2, F3.3); the manager starts them once the app is reachable and lists every
subscription in the metadata (spec E3).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from typing import Any, Callable

import httpx

from localdapr.components.loader import load_documents
from localdapr.pubsub import service
from localdapr.pubsub.redis_streams import Cancelled, StreamMessage
from localdapr.runtime import Runtime

log = logging.getLogger("localdapr.pubsub")


@dataclass
class Subscription:
    pubsubname: str
    topic: str
    kind: str  # DECLARATIVE | PROGRAMMATIC | STREAMING
    route: str = ""
    dead_letter_topic: str = ""
    metadata: dict[str, str] = field(default_factory=dict)
    stop: Callable[[], None] | None = None

    def describe(self) -> dict[str, Any]:
        doc: dict[str, Any] = {"pubsubname": self.pubsubname, "topic": self.topic, "deadLetterTopic": self.dead_letter_topic, "type": self.kind}
        if self.metadata:
            doc["metadata"] = self.metadata
        if self.route:
            doc["rules"] = [{"path": self.route}]
        return doc


def _route(entry: dict[str, Any], where: str) -> str:
    if entry.get("route"):
        return str(entry["route"])
    routes = entry.get("routes") or {}
    for rule in routes.get("rules") or []:
        if rule.get("match"):
            log.error("%s: route rule with match %r is not supported by the local sidecar (CEL); it is ignored", where, rule["match"])
    return str(routes.get("default") or "")


class SubscriptionManager:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.active: list[Subscription] = []
        self._http: httpx.AsyncClient | None = None

    def metadata_section(self) -> dict[str, Any]:
        return {"subscriptions": [s.describe() for s in self.active]} if self.active else {}

    def add(self, sub: Subscription) -> None:
        self.active.append(sub)

    def remove(self, sub: Subscription) -> None:
        if sub in self.active:
            self.active.remove(sub)
        if sub.stop:
            sub.stop()

    # ---- delivery to the app over HTTP ------------------------------------------------------------
    def _declarative(self) -> list[Subscription]:
        subs = []
        for file, doc in load_documents(self.runtime.options.resources_paths):
            if doc.get("kind") != "Subscription" or doc.get("apiVersion") not in ("dapr.io/v1alpha1", "dapr.io/v2alpha1"):
                continue
            scopes = doc.get("scopes") or []
            if scopes and self.runtime.app_id not in scopes:
                continue
            spec = doc.get("spec") or {}
            route = _route(spec, f"file {file}")
            subs.append(Subscription(str(spec.get("pubsubname", "")), str(spec.get("topic", "")), "DECLARATIVE", route,
                                     str(spec.get("deadLetterTopic") or ""), {k: str(v) for k, v in (spec.get("metadata") or {}).items()}))
        return subs

    async def on_app_ready(self) -> None:
        opts = self.runtime.options
        if opts.app_port is None or not self.runtime.pubsubs:
            return
        self._http = httpx.AsyncClient(base_url=f"http://{opts.app_channel_address}:{opts.app_port}", timeout=60)
        subs = self._declarative()
        try:
            resp = await self._http.get("/dapr/subscribe")
            if resp.status_code == 200:
                for entry in resp.json() or []:
                    route = _route(entry, "app /dapr/subscribe")
                    if route:
                        subs.append(Subscription(entry.get("pubsubname", ""), entry.get("topic", ""), "PROGRAMMATIC", route,
                                                 entry.get("deadLetterTopic") or "", entry.get("metadata") or {}))
        except httpx.HTTPError as exc:
            log.warning("could not read the app's /dapr/subscribe: %s", exc)
        for sub in subs:
            if not sub.route or sub.pubsubname not in self.runtime.pubsubs:
                log.error("subscription to %s/%s has no route or an unknown pubsub; not started", sub.pubsubname, sub.topic)
                continue
            pubsub = self.runtime.pubsubs[sub.pubsubname]
            sub.stop = pubsub.subscribe(sub.topic, self._http_handler(sub))
            self.add(sub)
            log.info("subscribed %s/%s -> %s (%s)", sub.pubsubname, sub.topic, sub.route, sub.kind)

    def _http_handler(self, sub: Subscription):  # type: ignore[no-untyped-def]
        async def handle(msg: StreamMessage) -> None:
            assert self._http is not None
            try:
                resp = await self._http.post(sub.route, content=msg.data, headers={"Content-Type": "application/cloudevents+json", "pubsubname": sub.pubsubname})
            except httpx.HTTPError as exc:
                raise Cancelled(f"app unreachable: {exc}") from exc
            outcome = "retry"
            if resp.status_code == 404:
                outcome = "drop"
            elif 200 <= resp.status_code < 300:
                try:
                    status = (resp.json() or {}).get("status", "SUCCESS") if resp.content else "SUCCESS"
                except ValueError:
                    status = "SUCCESS"
                outcome = {"SUCCESS": "success", "": "success", "DROP": "drop"}.get(str(status).upper(), "retry")
            await service.settle(self.runtime, sub.pubsubname, msg, outcome, sub.dead_letter_topic)

        return handle

    async def close(self) -> None:
        for sub in list(self.active):
            self.remove(sub)
        if self._http is not None:
            await self._http.aclose()
