"""TryLockAlpha1 / UnlockAlpha1 behaviour shared by gRPC and HTTP (daprd's pkg/api/universal/lock.go).

Checks run in daprd's order, each with its ``messages.APIError`` (gRPC status without details,
HTTP ``{"errorCode", "message"}``): a non-positive expiry first (even before the store is looked
up), then "not configured", empty resource id, empty owner, unknown store, then the key rules.
"""

from __future__ import annotations

import grpc

from localdapr.errors import DaprError
from localdapr.lock.redis_lock import LockError, RedisLockStore, UnlockStatus
from localdapr.runtime import Runtime


def _api_error(code: grpc.StatusCode, http_status: int, tag: str, message: str) -> DaprError:
    return DaprError(code, http_status, tag, message)


def _malformed(message: str) -> DaprError:
    return _api_error(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_MALFORMED_REQUEST", message)


def _try_failed(problem: str) -> DaprError:
    return _api_error(grpc.StatusCode.INTERNAL, 500, "ERR_TRY_LOCK", f"failed to try acquiring lock: {problem}")


def _unlock_failed(problem: str) -> DaprError:
    return _api_error(grpc.StatusCode.INTERNAL, 500, "ERR_UNLOCK", f"failed to release lock: {problem}")


def _validate(runtime: Runtime, store_name: str, resource_id: str, owner: str) -> RedisLockStore:
    runtime.check_implemented(store_name, "lock")
    stores = runtime.by_category("lock")
    if not any(c.spec.category == "lock" for c in runtime.components.values()):
        raise _api_error(grpc.StatusCode.FAILED_PRECONDITION, 500, "ERR_LOCK_STORE_NOT_CONFIGURED", "lock store is not configured")
    if not resource_id:
        raise _malformed(f"ResourceId is empty in lock store {store_name}")
    if not owner:
        raise _malformed(f"LockOwner is empty in lock store {store_name}")
    store = stores.get(store_name)
    if store is None:
        raise _api_error(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_LOCK_STORE_NOT_FOUND", f"lock store {store_name} not found")
    return store  # type: ignore[no-any-return]


async def try_lock(runtime: Runtime, store_name: str, resource_id: str, owner: str, expiry_seconds: int) -> bool:
    if expiry_seconds <= 0:
        raise _malformed(f"ExpiryInSeconds is not positive in lock store {store_name}")
    store = _validate(runtime, store_name, resource_id, owner)
    try:
        key = store.lock_key(resource_id, runtime.app_id)
    except ValueError as exc:
        raise _try_failed(str(exc)) from exc
    try:
        return await store.try_lock(key, owner, expiry_seconds)
    except LockError as exc:
        raise _try_failed(str(exc)) from exc


async def unlock(runtime: Runtime, store_name: str, resource_id: str, owner: str) -> UnlockStatus:
    store = _validate(runtime, store_name, resource_id, owner)
    try:
        key = store.lock_key(resource_id, runtime.app_id)
    except ValueError as exc:
        raise _unlock_failed(str(exc)) from exc
    try:
        return await store.unlock(key, owner)
    except LockError as exc:
        raise _unlock_failed(str(exc)) from exc
