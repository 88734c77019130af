"""The state API's behaviour, shared by gRPC and HTTP: store lookup, key prefixing, errors.

Both API layers call these functions with user keys and raw value bytes; the daprd error
codes and messages (spec D) are produced here once, as DaprError carrying both the HTTP and the
gRPC form.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import grpc

from localdapr.errors import DaprError
from localdapr.runtime import Runtime
from localdapr.state import keys
from localdapr.state.base import DeleteRequest, GetResponse, SetRequest, TransactionOperation
from localdapr.state.errors import ETagInvalid, ETagMismatch, StoreError
from localdapr.state.redis_store import RedisStateStore


def get_store(runtime: Runtime, name: str) -> RedisStateStore:
    """Not configured (no stores at all) before not found (unknown / out of scope), spec D.1."""
    runtime.check_implemented(name, "state")  # a store daprd has and the local sidecar only lists
    stores = runtime.state_stores
    app = {"appID": runtime.app_id}
    if not stores:
        raise DaprError(
            grpc.StatusCode.FAILED_PRECONDITION, 500, "ERR_STATE_STORE_NOT_CONFIGURED",
            f"state store {name} is not configured", reason="DAPR_STATE_NOT_CONFIGURED", http_metadata=app,
        )
    store = stores.get(name)
    if store is None:
        raise DaprError(
            grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_STATE_STORE_NOT_FOUND",
            f"state store {name} is not found", reason="DAPR_STATE_NOT_FOUND", http_metadata=app,
        )
    return store


def store_key(runtime: Runtime, store: RedisStateStore, key: str) -> str:
    return keys.store_key(key, strategy=store.key_prefix_strategy, app_id=runtime.app_id, store_name=store.name)


def _basic(code: grpc.StatusCode, status: int, tag: str, message: str, store: str) -> DaprError:
    """daprd's gRPC apierrors.Basic (one ErrorInfo whose reason is the error code); its HTTP
    handlers send the same code and text without details (messages.NewAPIErrorHTTP)."""
    return DaprError(code, status, tag, message, reason=tag, http_plain=True)


def empty_key_error(store_name: str) -> DaprError:
    return _basic(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_STATE_SAVE", "state key cannot be empty", store_name)


@dataclass
class BulkItem:
    key: str
    data: bytes | None
    etag: str | None
    error: str = ""


async def get(runtime: Runtime, store_name: str, key: str, metadata: dict[str, str]) -> GetResponse:
    store = get_store(runtime, store_name)
    skey = store_key(runtime, store, key)
    try:
        return await store.get(skey, metadata)
    except StoreError as exc:
        raise _basic(grpc.StatusCode.INTERNAL, 500, "ERR_STATE_GET", f"fail to get {key} from state store {store_name}: {exc}", store_name) from exc


async def bulk_get(runtime: Runtime, store_name: str, user_keys: list[str], metadata: dict[str, str]) -> list[BulkItem]:
    store = get_store(runtime, store_name)
    skeys = [store_key(runtime, store, k) for k in user_keys]

    async def one(user_key: str, skey: str) -> BulkItem:
        try:
            resp = await store.get(skey, metadata)
            return BulkItem(user_key, resp.data, resp.etag)
        except StoreError as exc:  # per-key failure goes in the item (spec C5.1)
            return BulkItem(user_key, None, None, str(exc))

    return list(await asyncio.gather(*(one(k, s) for k, s in zip(user_keys, skeys))))


def _save_error(store_name: str, exc: StoreError) -> DaprError:
    msg = f"failed saving state in state store {store_name}: {exc}"
    if isinstance(exc, ETagMismatch):
        return _basic(grpc.StatusCode.ABORTED, 409, "ERR_STATE_SAVE", msg, store_name)
    if isinstance(exc, ETagInvalid):
        return _basic(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_STATE_SAVE", msg, store_name)
    return _basic(grpc.StatusCode.INTERNAL, 500, "ERR_STATE_SAVE", msg, store_name)


async def save(runtime: Runtime, store_name: str, items: list[SetRequest]) -> None:
    """Single item: the single-item path; several: independent parallel sets (spec C5.2)."""
    store = get_store(runtime, store_name)
    for item in items:
        if not item.key:
            raise empty_key_error(store_name)
        item.key = store_key(runtime, store, item.key)
    if not items:
        return
    results = await asyncio.gather(*(store.set(i) for i in items), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if not errors:
        return
    for err in errors:
        if not isinstance(err, StoreError):
            raise err
    if len(items) == 1:
        raise _save_error(store_name, errors[0])  # type: ignore[arg-type]
    raise _bulk_save_error(store_name, errors)  # type: ignore[arg-type]


def _bulk_save_error(store_name: str, errors: list[StoreError]) -> DaprError:
    """Several items, some failed: daprd's PerformBulkStoreOperation joins their errors
    (errors.Join, one per line; daprd in completion order, here in request order). All ETag
    errors: the whole is one ETag error again (ETagInvalid if any is; its prefix twice). Some:
    the joined error is kept, and daprd's ``errors.As`` finds the first ETag error inside it: gRPC
    takes that one's code with the joined text, HTTP that one's status and text alone."""
    joined = "\n".join(str(e) for e in errors)
    etags = [e for e in errors if isinstance(e, (ETagMismatch, ETagInvalid))]
    if len(etags) == len(errors):
        if any(isinstance(e, ETagInvalid) for e in errors):
            return _save_error(store_name, ETagInvalid("invalid etag value: " + joined))
        return _save_error(store_name, ETagMismatch("possible etag mismatch. error from state store: " + joined))
    if not etags:
        return _save_error(store_name, StoreError(joined))
    first = _save_error(store_name, etags[0])
    err = _save_error(store_name, type(etags[0])(joined))
    err.http_message = first.message
    return err


async def delete(runtime: Runtime, store_name: str, key: str, request: DeleteRequest) -> None:
    store = get_store(runtime, store_name)
    request.key = store_key(runtime, store, key)
    try:
        await store.delete(request)
    except ETagMismatch as exc:
        raise _basic(grpc.StatusCode.ABORTED, 409, "ERR_STATE_DELETE", f"failed deleting state with key {key}: {exc}", store_name) from exc
    except StoreError as exc:
        raise _basic(grpc.StatusCode.INTERNAL, 500, "ERR_STATE_DELETE", f"failed deleting state with key {key}: {exc}", store_name) from exc


async def bulk_delete(runtime: Runtime, store_name: str, requests: list[DeleteRequest]) -> None:
    store = get_store(runtime, store_name)
    for req in requests:
        req.key = store_key(runtime, store, req.key)
    results = await asyncio.gather(*(store.delete(r) for r in requests), return_exceptions=True)
    errors = [r for r in results if isinstance(r, BaseException)]
    if errors:
        # As save: one request alone keeps its error; several are joined, an all-ETag failure
        # being one ETag mismatch again (pkg/components/state/bulk.go).
        # The code is the first ETag error's that errors.As finds, if any (getStateErrorCode).
        text = str(errors[0]) if len(requests) == 1 else "\n".join(str(e) for e in errors)
        if len(requests) > 1 and all(isinstance(e, ETagMismatch) for e in errors):
            text = "possible etag mismatch. error from state store: " + text
        mismatch = any(isinstance(e, ETagMismatch) for e in errors)
        code, status = (grpc.StatusCode.ABORTED, 409) if mismatch else (grpc.StatusCode.INTERNAL, 500)
        raise _basic(code, status, "ERR_STATE_BULK_DELETE", f"failed deleting state in state store {store_name}: {text}", store_name)


async def transaction(runtime: Runtime, store_name: str, operations: list[TransactionOperation], metadata: dict[str, str],
                      *, transport: str = "grpc", trace: tuple[str, str] = ("", "")) -> None:
    """``transport``/``trace`` only matter to a store with an outbox (localdapr/pubsub/outbox.py):
    how values are formatted in its events, and their ``traceid``/``tracestate``."""
    store = get_store(runtime, store_name)
    for op in operations:
        # daprd's gRPC order: the key first, then the operation type (HTTP checks both itself).
        # It hands ``metadata`` to the store's Multi only: an operation keeps its own (plus, over
        # HTTP, the query's metadata.*, merged by the HTTP layer).
        op.request.key = store_key(runtime, store, op.request.key)
        if op.operation not in ("upsert", "delete"):
            raise _basic(grpc.StatusCode.UNIMPLEMENTED, 400, "ERR_NOT_SUPPORTED_STATE_OPERATION",
                         f"operation type {op.operation} not supported", store_name)
    outbox = runtime.services.get("outbox")
    if operations and outbox is not None and outbox.config(store_name) is not None:
        # The events carry each operation's own metadata, as daprd's.
        operations, outbox_rows = await outbox.publish_internal(store_name, operations, transport=transport, trace=trace)
        operations = operations + outbox_rows
    if not operations:
        return
    try:
        await store.multi(operations, metadata)
    except StoreError as exc:
        raise _basic(
            grpc.StatusCode.INTERNAL, 500, "ERR_STATE_TRANSACTION", f"error while executing state transaction: {exc}", store_name
        ) from exc
