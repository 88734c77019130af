"""The sidecar's runtime: options, loaded components and readiness, shared by both API layers.

The API layers (``api/grpc``, ``api/http``) only translate requests; building blocks hang off
this object by category so each one is reachable from both layers without a global.
"""

from __future__ import annotations

import asyncio
import logging
import os
from dataclasses import dataclass, field
from typing import Any

from localdapr.components import loader, registry
from localdapr.components.model import ComponentSpec
from localdapr.errors import ComponentError
from localdapr.options import SidecarOptions

log = logging.getLogger("localdapr.runtime")


@dataclass
class LoadedComponent:
    spec: ComponentSpec
    instance: Any

    def capabilities(self) -> list[str]:
        caps = getattr(self.instance, "capabilities", None)
        return list(caps()) if callable(caps) else []


@dataclass
class Runtime:
    options: SidecarOptions
    namespace: str = field(default_factory=lambda: os.environ.get("NAMESPACE", ""))
    components: dict[str, LoadedComponent] = field(default_factory=dict)
    # Values set with PUT /v1.0/metadata/{key} or gRPC SetMetadata (spec E3).
    extended_metadata: dict[str, str] = field(default_factory=dict)
    outbound_ready: bool = False
    app_ready: bool = False
    # Set by the API layers to ask the server loop to stop (shutdown API, SIGTERM).
    shutdown_requested: asyncio.Event = field(default_factory=asyncio.Event)
    # Building blocks that are not components (workflow engine, subscriptions manager) register
    # themselves here under a short name so the other layer can reach them.
    services: dict[str, Any] = field(default_factory=dict)

    @property
    def app_id(self) -> str:
        return self.options.app_id

    @property
    def namespace_or_default(self) -> str:
        """Namespace used in internal actor type names: ``NAMESPACE`` or ``default`` (spec H1.3)."""
        return self.namespace or "default"

    def by_category(self, category: str) -> dict[str, Any]:
        return {n: c.instance for n, c in self.components.items() if c.spec.category == category}

    @property
    def state_stores(self) -> dict[str, Any]:
        return self.by_category("state")

    @property
    def secret_stores(self) -> dict[str, Any]:
        return self.by_category("secretstores")

    @property
    def pubsubs(self) -> dict[str, Any]:
        return self.by_category("pubsub")

    @property
    def conversations(self) -> dict[str, Any]:
        return self.by_category("conversation")

    @property
    def actor_state_store(self) -> Any | None:
        """The one state store with ``actorStateStore: true``, when actors are enabled (spec A4)."""
        if not self.options.actors_enabled:
            return None
        for comp in self.components.values():
            if getattr(comp.instance, "is_actor_store", False):
                return comp.instance
        return None

    async def load_components(self) -> None:
        """Secret stores first, then the rest with secrets resolved (spec A2.7).

        A failure raises ComponentError naming file and component (daprd exits non-zero).
        """
        loaded = loader.load_components(self.options.resources_paths, self.app_id)
        ordered = [c for c in loaded if c[0].category == "secretstores"] + [c for c in loaded if c[0].category != "secretstores"]
        for spec, items in ordered:
            spec.metadata = await loader.resolve_metadata(spec, items, self.app_id, self._get_secret)
            await self._init_component(spec)

    async def _get_secret(self, store_name: str, secret_name: str) -> dict[str, str] | None:
        store = self.secret_stores.get(store_name)
        if store is None:
            return None
        try:
            return await store.get(secret_name)
        except KeyError as exc:
            log.warning("secret %s not found in %s: %s", secret_name, store_name, exc)
            return {}

    async def _init_component(self, spec: ComponentSpec) -> None:
        cls = registry.resolve(spec.type, spec.version)
        if cls is None:
            message = f"{spec.where()}: {registry.unknown_type_message(spec.type, spec.version)}"
            if spec.ignore_errors:
                log.warning("ignoring error (ignoreErrors: true): %s", message)
                return
            raise ComponentError(message)
        try:
            instance = await asyncio.wait_for(cls.create(spec, self), timeout=spec.init_timeout_seconds)
        except ComponentError:
            if spec.ignore_errors:
                log.warning("ignoring error in %s (ignoreErrors: true)", spec.where(), exc_info=True)
                return
            raise
        except Exception as exc:  # noqa: BLE001 - every init failure must name the component
            if spec.ignore_errors:
                log.warning("ignoring error in %s (ignoreErrors: true): %s", spec.where(), exc)
                return
            raise ComponentError(f"{spec.where()}: init failed: {exc}") from exc
        self.components[spec.name] = LoadedComponent(spec, instance)
        log.info("component loaded: %s", spec.where())

    async def close(self) -> None:
        for name, comp in list(self.components.items()):
            close = getattr(comp.instance, "close", None)
            if close is not None:
                try:
                    await close()
                except Exception:  # noqa: BLE001 - closing is best effort on the way out
                    log.debug("error closing %s", name, exc_info=True)
        for service in list(self.services.values()):
            close = getattr(service, "close", None)
            if close is not None:
                try:
                    await close()
                except Exception:  # noqa: BLE001
                    log.debug("error closing service", exc_info=True)
