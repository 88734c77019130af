"""Configuration API behaviour shared by gRPC and HTTP: store lookup, daprd's errors, and the
sidecar-level subscription registry (daprd's ``CompStore`` configuration subscriptions).

daprd 1.18.2's answers (pkg/api/grpc/grpc.go, pkg/api/http/http.go; verified by running it):
gRPC errors carry an ``ErrorInfo`` whose reason is the error code (``apierrors.Basic``); HTTP
errors are the plain ``{"errorCode", "message"}`` body. A store of another building block
(a state store's name) is "not found", as daprd keeps configuration stores apart.
"""

from __future__ import annotations

import asyncio
from typing import Any

import grpc

from localdapr.configuration.redis_store import ConfigurationGetError, RedisConfigurationStore
from localdapr.errors import DaprError
from localdapr.runtime import Runtime


class ConfigurationError(DaprError):
    """A rich gRPC error (ErrorInfo reason = the code) whose HTTP body has no details, as daprd's
    ``apierrors.Basic`` / ``messages.NewAPIErrorHTTP`` pair answers."""

    def http_body(self) -> dict[str, Any]:
        return {"errorCode": self.error_code, "message": self.message}


def _error(code: grpc.StatusCode, http_status: int, tag: str, message: str) -> ConfigurationError:
    return ConfigurationError(code, http_status, tag, message, reason=tag)


def go_list(keys: list[str]) -> str:
    """Go's ``%v`` of a ``[]string``: ``[a b]``."""
    return "[" + " ".join(keys) + "]"


def get_store(runtime: Runtime, name: str) -> RedisConfigurationStore:
    runtime.check_implemented(name, "configuration")  # e.g. configuration.postgres: daprd has it, the local sidecar only lists it
    stores = runtime.by_category("configuration")
    if not stores and not any(c.spec.category == "configuration" for c in runtime.components.values()):
        raise _error(grpc.StatusCode.FAILED_PRECONDITION, 500, "ERR_CONFIGURATION_STORE_NOT_CONFIGURED", "configuration stores not configured")
    store = stores.get(name)
    if store is None:
        # gRPC answers InvalidArgument with HTTP status 500 in its error; the HTTP route says 400.
        raise _error(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_CONFIGURATION_STORE_NOT_FOUND", f"configuration store {name} not found")
    return store  # type: ignore[no-any-return]


async def get(runtime: Runtime, store_name: str, keys: list[str]) -> dict[str, Any]:
    store = get_store(runtime, store_name)
    try:
        return await store.get(list(keys))
    except ConfigurationGetError as exc:
        raise _error(grpc.StatusCode.INTERNAL, 500, "ERR_CONFIGURATION_GET",
                     f"failed to get {go_list(list(keys))} from Configuration store {store_name}: {exc}") from exc


class Subscriptions:
    """The sidecar's open gRPC configuration streams by subscription id: what the deprecated
    UnsubscribeConfiguration RPC stops (any store's, whatever store name it is given)."""

    def __init__(self) -> None:
        self._stops: dict[str, asyncio.Event] = {}

    def add(self, sub_id: str) -> asyncio.Event:
        stop = self._stops[sub_id] = asyncio.Event()
        return stop

    def discard(self, sub_id: str) -> None:
        self._stops.pop(sub_id, None)

    def stop(self, sub_id: str) -> bool:
        stop = self._stops.pop(sub_id, None)
        if stop is None:
            return False
        stop.set()
        return True

    async def close(self) -> None:
        for sub_id in list(self._stops):
            self.stop(sub_id)


def subscriptions(runtime: Runtime) -> Subscriptions:
    """The runtime's registry, created on first use (no start-up cost for folders without one)."""
    registry = runtime.services.get("configuration-subscriptions")
    if registry is None:
        registry = runtime.services["configuration-subscriptions"] = Subscriptions()
    return registry  # type: ignore[no-any-return]


def unsubscribe_message(sub_id: str, problem: str) -> str:
    return f"failed to unsubscribe to configuration request {sub_id}: {problem}"
