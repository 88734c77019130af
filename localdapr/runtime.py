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

from localdapr.api.access import AccessPolicy
from localdapr.appchannel import ConcurrencyLimit
from localdapr.components import loader, registry
from localdapr.components.model import ComponentSpec, MetadataItem
from localdapr.config.loader import Configuration
from localdapr.errors import CREATE_FAILURE, INIT_FAILURE, ComponentError, DaprError, init_error
from localdapr.options import SidecarOptions

log = logging.getLogger("localdapr.runtime")
proc_log = logging.getLogger("localdapr.runtime.processor")

# The categories daprd's processor has a manager for (pkg/runtime/processor/processor.go); any other
# prefix, nameresolution/workflow/workflowbackend included, is an "incorrect type" (case-sensitive).
CATEGORIES = frozenset("bindings configuration crypto lock pubsub secretstores state middleware conversation".split())


@dataclass
class LoadedComponent:
    spec: ComponentSpec
    instance: Any

    def capabilities(self) -> list[str]:
        caps = getattr(self.instance, "capabilities", None)
        return list(caps()) if callable(caps) else []

    @property
    def implemented(self) -> bool:
        """False for a type daprd has and the local sidecar only lists (components/unimplemented.py)."""
        return getattr(self.instance, "implemented", True)


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
    # The --config Configuration, who may call which API, and whether API calls are logged
    # (set by server.serve before the APIs listen).
    config: Configuration = field(default_factory=Configuration)
    access: AccessPolicy = field(default_factory=AccessPolicy)
    api_logging: bool = False
    # --app-max-concurrency: every call to the app takes a slot.
    app_concurrency: ConcurrencyLimit = field(default_factory=lambda: ConcurrencyLimit(0))

    @property
    def app_id(self) -> str:
        return self.options.app_id

    @property
    def namespace_or_default(self) -> str:
        """Namespace used in internal actor type names: ``NAMESPACE`` or ``default`` (spec H1.3)."""
        return self.namespace or "default"

    def by_category(self, category: str) -> dict[str, Any]:
        """The category's implemented components; see :meth:`not_implemented` for the others."""
        return {n: c.instance for n, c in self.components.items() if c.spec.category == category and c.implemented}

    def not_implemented(self, name: str, category: str | None = None) -> DaprError | None:
        """The error for an API call naming a loaded component the local sidecar does not
        implement (UNIMPLEMENTED / 501 naming it), None for any other name. With ``category``,
        only a component of that building block counts (a state store's name given to the
        configuration API is that API's "not found", as on daprd)."""
        comp = self.components.get(name)
        if comp is None or comp.implemented or (category is not None and comp.spec.category != category):
            return None
        return comp.instance.error()  # type: ignore[no-any-return]

    def check_implemented(self, name: str, category: str) -> None:
        """Raise :meth:`not_implemented`'s error, if any: the first line of every store lookup."""
        error = self.not_implemented(name, category)
        if error is not None:
            raise error

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

        A failure raises ComponentError with daprd's fatal text (after ``Fatal error from
        runtime: ``); the per-component lines daprd logs before it are logged here.
        """
        try:
            loaded = loader.load_components(self.options.resources_paths, self.app_id)
        except loader.WatcherError:
            raise
        except ComponentError as exc:
            raise ComponentError(f"failed to load components: {exc.message}", exc.hint, kind=None) from exc
        ordered = [c for c in loaded if c[0].category == "secretstores"] + [c for c in loaded if c[0].category != "secretstores"]
        for spec, items in ordered:
            await self._process_component(spec, items)
        from localdapr import resiliency  # noqa: PLC0415 - it imports the component loader

        self.services["resiliency"] = resiliency.load(list(self.options.resources_paths), self.app_id)

    async def _get_secret(self, store_name: str, secret_name: str) -> dict[str, str] | None:
        store = self.secret_stores.get(store_name)
        if store is None:
            return None
        try:
            return await store.get(secret_name)
        except KeyError as exc:
            loader.secret_log.error("Error getting secret: %s", exc.args[0] if exc.args else exc)  # daprd's scope: processor.secret
            return {}

    async def _process_component(self, spec: ComponentSpec, items: list[MetadataItem]) -> None:
        """daprd's ``processComponentAndDependents``: its log lines and its error wrapping.

        daprd wraps a failure twice (``process component x error: [INIT_COMPONENT_FAILURE]: ...
        for x (t/v): <the building block's error>``); ``ignoreErrors`` turns it into a log line.
        The local sidecar adds the file (and any hint) after daprd's text.
        """
        try:
            values = await loader.resolve_references(spec, items, self._get_secret)
        except loader.PendingSecretStore:
            return  # daprd keeps it pending for a secret store that never loads, and runs on
        if spec.category not in CATEGORIES or not spec.type.startswith(spec.category + "."):
            failure = ComponentError(f"process component {spec.name} error: incorrect type {spec.type}", spec.file_hint(), kind=None)
        else:
            try:
                await self._init_component(spec, values)
                return
            except Exception as exc:  # noqa: BLE001 - any failure (a bug too) names the component, without a traceback
                error = exc if isinstance(exc, ComponentError) else ComponentError(f"{type(exc).__name__}: {exc}")
                detail = init_error(error.kind, spec.log_name(), error.message) if error.kind else error.message
                hint = "; ".join(h for h in (error.hint, spec.file_hint()) if h)
                proc_log.error("Failed to init component %s: %s", spec.log_name(), ComponentError(detail, hint))
                failure = ComponentError(f"process component {spec.name} error: {init_error(INIT_FAILURE, spec.log_name(), detail)}", hint, kind=None)
        if spec.ignore_errors:
            proc_log.error("Ignoring error processing component: %s", failure)
            return
        proc_log.warning("Error processing component, daprd will exit gracefully: %s", failure)
        raise failure

    async def _init_component(self, spec: ComponentSpec, values: dict[str, str]) -> None:
        """Create (unknown type: CREATE failure) then init (INIT failure), as daprd's processors."""
        cls = registry.resolve(spec.type, spec.version)
        if cls is None:
            raise _unknown_type(spec)
        spec.metadata = loader.template_metadata(spec, values, self.app_id)
        try:
            instance = await asyncio.wait_for(cls.create(spec, self), timeout=spec.init_timeout_seconds)
        except ComponentError:
            raise
        except asyncio.TimeoutError:
            raise _init_timeout(cls, spec) from None
        except Exception as exc:  # noqa: BLE001 - every init failure must name the component
            raise ComponentError(str(exc) or repr(exc)) from exc
        self.components[spec.name] = LoadedComponent(spec, instance)
        if getattr(instance, "implemented", True):  # the stand-in logged its own line
            log.info("Component loaded: %s", spec.log_name())

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


def _unknown_type(spec: ComponentSpec) -> ComponentError:
    """daprd's failure for a type (or version) its registry lacks, as each processor words it."""
    hint = registry.unknown_hint(spec.type)
    if spec.category == "bindings":  # processor/binding: neither an input nor an output binding
        return ComponentError(f"couldn't find binding {spec.log_name()}", hint, kind=None)
    if spec.category == "middleware":  # processor/middleware wraps the registry's error
        return ComponentError(f"process component {spec.name} error: HTTP middleware {spec.type}/{spec.version} has not been registered", hint, CREATE_FAILURE)
    return ComponentError(registry.unknown_type_message(spec.type, spec.version), hint, CREATE_FAILURE)


def _init_timeout(cls: Any, spec: ComponentSpec) -> ComponentError:
    """``initTimeout`` passed: daprd's text (the component's own ``... context deadline exceeded``
    joined with ``init timeout for component x``), and what to check. A component class may say
    what it was doing (``timeout_detail``) and the likely cause (``timeout_hint``)."""
    detail_fn = getattr(cls, "timeout_detail", None)
    detail = detail_fn(spec) if detail_fn is not None else "context deadline exceeded"
    hint_fn = getattr(cls, "timeout_hint", None)
    cause = hint_fn(spec) if hint_fn is not None else ""
    hint = f"initTimeout {spec.init_timeout_seconds:g}s elapsed" + (f": {cause}" if cause else "")
    return ComponentError(f"{detail}\ninit timeout for component {spec.log_name()}", hint)
