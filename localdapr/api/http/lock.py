"""HTTP ``POST /v1.0-alpha1/lock/{store}`` and ``/v1.0-alpha1/unlock/{store}`` (alpha routes only,
as daprd 1.18.2: ``/v1.0/lock`` is not a route).

The body is the gRPC request in protojson, as daprd's UniversalHTTPHandler reads it: JSON or
proto field names, numbers as strings, unknown fields ignored, an empty body as ``{}``; the
store name comes from the URL. Answers: ``{"success": bool}`` and ``{"status": <number>}``.
"""

from __future__ import annotations

import json
from typing import TypeVar

import grpc
from dapr.proto.runtime.v1 import lock_pb2
from fastapi import APIRouter, Request, Response
from google.protobuf import json_format
from google.protobuf.message import Message

from localdapr.errors import DaprError
from localdapr.lock import service

router = APIRouter()
M = TypeVar("M", bound=Message)


async def _parse(request: Request, message: M) -> M:
    body = await request.body()
    if body:
        try:
            json_format.Parse(body, message, ignore_unknown_fields=True)
        except json_format.ParseError as exc:
            raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_MALFORMED_REQUEST", f"failed deserializing HTTP body: {exc}") from exc
    return message


def _json(value: dict[str, object]) -> Response:
    return Response(json.dumps(value, separators=(",", ":")), media_type="application/json")


@router.post("/v1.0-alpha1/lock/{store}")
async def try_lock(store: str, request: Request) -> Response:
    req = await _parse(request, lock_pb2.TryLockRequest())
    success = await service.try_lock(request.app.state.runtime, store, req.resource_id, req.lock_owner, req.expiry_in_seconds)
    return _json({"success": success})


@router.post("/v1.0-alpha1/unlock/{store}")
async def unlock(store: str, request: Request) -> Response:
    req = await _parse(request, lock_pb2.UnlockRequest())
    status = await service.unlock(request.app.state.runtime, store, req.resource_id, req.lock_owner)
    return _json({"status": int(status)})
