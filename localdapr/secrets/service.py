"""Secret API behaviour shared by gRPC and HTTP (store lookup and daprd's error codes)."""

from __future__ import annotations

import json
from typing import Any

import grpc

from localdapr.errors import DaprError
from localdapr.runtime import Runtime


def get_store(runtime: Runtime, name: str) -> Any:
    runtime.check_implemented(name, "secretstores")  # a store daprd has and the local sidecar only lists
    stores = runtime.secret_stores
    if not stores:
        raise DaprError(grpc.StatusCode.FAILED_PRECONDITION, 500, "ERR_SECRET_STORES_NOT_CONFIGURED", "secret store is not configured")
    store = stores.get(name)
    if store is None:
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 401, "ERR_SECRET_STORE_NOT_FOUND", f"failed finding secret store with key {name}")
    return store


def permission_denied(store_name: str, key: str) -> DaprError:
    """``messages.ErrSecretPermissionDenied`` (Go ``%q`` quoting)."""
    return DaprError(grpc.StatusCode.PERMISSION_DENIED, 403, "ERR_PERMISSION_DENIED",
                     f"access denied by policy to get {_go_quote(key)} from {_go_quote(store_name)}")


def _go_quote(text: str) -> str:
    return json.dumps(text, ensure_ascii=False)


async def get(runtime: Runtime, store_name: str, key: str) -> dict[str, str]:
    """GetSecret as daprd's ``Universal.GetSecret``: store checks, then the Configuration's
    secret scope for the store (``spec.secrets.scopes``), then the store."""
    store = get_store(runtime, store_name)
    if not runtime.config.secret_allowed(store_name, key):
        raise permission_denied(store_name, key)
    try:
        return await store.get(key)
    except KeyError as exc:
        raise DaprError(
            grpc.StatusCode.INTERNAL, 500, "ERR_SECRET_GET",
            f"failed getting secret with key {key} from secret store {store_name}: {exc.args[0] if exc.args else exc}",
        ) from exc


async def bulk(runtime: Runtime, store_name: str) -> dict[str, dict[str, str]]:
    """GetBulkSecret: the secrets the store's scope does not allow are left out (no error)."""
    data = await get_store(runtime, store_name).bulk()
    return {k: v for k, v in data.items() if runtime.config.secret_allowed(store_name, k)}
