"""Secret API behaviour shared by gRPC and HTTP (store lookup and daprd's error codes)."""

from __future__ import annotations

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


async def get(runtime: Runtime, store_name: str, key: str) -> dict[str, str]:
    store = get_store(runtime, store_name)
    try:
        return await store.get(key)
    except KeyError as exc:
        raise DaprError(
            grpc.StatusCode.INTERNAL, 500, "ERR_SECRET_GET",
            f"failed getting secret with key {key} from secret store {store_name}: {exc.args[0] if exc.args else exc}",
        ) from exc


async def bulk(runtime: Runtime, store_name: str) -> dict[str, dict[str, str]]:
    return await get_store(runtime, store_name).bulk()
