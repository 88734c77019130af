"""HTTP state routes (spec D.2)."""

from __future__ import annotations

import json
from typing import Any

import grpc
from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from localdapr.errors import DaprError
from localdapr.pubsub import tracecontext
from localdapr.state import service
from localdapr.state.base import DeleteRequest, SetRequest, TransactionOperation
from localdapr.state.encoding import encode_json

router = APIRouter()


def query_metadata(request: Request) -> dict[str, str]:
    """``?metadata.k=v`` query parameters."""
    return {k[len("metadata."):]: v for k, v in request.query_params.items() if k.startswith("metadata.")}


def malformed(message: str) -> DaprError:
    return DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_MALFORMED_REQUEST", message)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw) if raw else None
    except ValueError as exc:
        raise malformed(str(exc)) from exc


def _set_request(item: dict[str, Any], extra: dict[str, str]) -> SetRequest:
    if not isinstance(item, dict):
        raise malformed("each state item must be a JSON object")
    options = item.get("options") or {}
    metadata = {**{str(k): str(v) for k, v in (item.get("metadata") or {}).items()}, **extra}
    etag = item.get("etag")
    return SetRequest(
        key=str(item.get("key") or ""),
        value=encode_json(item.get("value")),
        etag=str(etag) if etag not in (None, "") else None,
        metadata=metadata,
        concurrency=options.get("concurrency", "") or "",
        consistency=options.get("consistency", "") or "",
    )


@router.get("/v1.0/state/{store}/{key:path}")
async def get_state(store: str, key: str, request: Request) -> Response:
    resp = await service.get(request.app.state.runtime, store, key, query_metadata(request))
    if resp.data is None:
        return Response(status_code=204)
    headers = {"ETag": resp.etag} if resp.etag else {}
    return Response(content=resp.data, media_type="application/json", headers=headers)


@router.api_route("/v1.0/state/{store}/bulk", methods=["POST", "PUT"])
async def bulk_get(store: str, request: Request) -> Response:
    body = await _json_body(request) or {}
    user_keys = [str(k) for k in body.get("keys") or []]
    items = await service.bulk_get(request.app.state.runtime, store, user_keys, {**(body.get("metadata") or {}), **query_metadata(request)})
    out = []
    for item in items:
        entry: dict[str, Any] = {"key": item.key}
        if item.data is not None:
            try:
                entry["data"] = json.loads(item.data)
            except ValueError:
                entry["data"] = item.data.decode(errors="replace")
            entry["etag"] = item.etag
        if item.error:
            entry["error"] = item.error
        out.append(entry)
    return JSONResponse(out)


@router.api_route("/v1.0/state/{store}/transaction", methods=["POST", "PUT"])
async def transaction(store: str, request: Request) -> Response:
    body = await _json_body(request) or {}
    ops: list[TransactionOperation] = []
    for op in body.get("operations") or []:
        req = op.get("request") or {}
        kind = op.get("operation")
        if kind == "upsert":
            # daprd copies the query-string metadata into every operation (onPostStateTransaction)
            ops.append(TransactionOperation("upsert", _set_request(req, query_metadata(request))))
        elif kind == "delete":
            opts = req.get("options") or {}
            ops.append(TransactionOperation("delete", DeleteRequest(str(req.get("key") or ""), req.get("etag") or None,
                                                                    dict(req.get("metadata") or {}), opts.get("concurrency", ""), opts.get("consistency", ""))))
        else:
            raise DaprError(grpc.StatusCode.UNIMPLEMENTED, 400, "ERR_NOT_SUPPORTED_STATE_OPERATION", f"operation type {kind} not supported")
    await service.transaction(request.app.state.runtime, store, ops, {**(body.get("metadata") or {}), **query_metadata(request)},
                              transport="http", trace=tracecontext.from_http_headers(request.headers))
    return Response(status_code=204)


@router.api_route("/v1.0/state/{store}", methods=["POST", "PUT"])
async def save_state(store: str, request: Request) -> Response:
    body = await _json_body(request)
    if not isinstance(body, list):
        raise malformed("json: cannot unmarshal into Go value of type []state.SetRequest")
    extra = query_metadata(request)
    items = [_set_request(item, extra) for item in body]
    for item in items:
        if not item.key:
            raise malformed('"key" is a required field')
    await service.save(request.app.state.runtime, store, items)
    return Response(status_code=204)


@router.delete("/v1.0/state/{store}/{key:path}")
async def delete_state(store: str, key: str, request: Request) -> Response:
    etag = request.headers.get("If-Match") or None
    req = DeleteRequest(key, etag, query_metadata(request), request.query_params.get("concurrency", ""), request.query_params.get("consistency", ""))
    await service.delete(request.app.state.runtime, store, key, req)
    return Response(status_code=204)
