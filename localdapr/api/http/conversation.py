"""HTTP conversation routes: protojson in and out, as daprd (spec I3, I4)."""

from __future__ import annotations

import json

import grpc
from dapr.proto.runtime.v1 import ai_pb2
from fastapi import APIRouter, Request, Response
from google.protobuf import json_format

from localdapr.conversation import service
from localdapr.errors import DaprError

router = APIRouter()


async def _parse(request: Request, message: object, name: str) -> object:
    try:
        json_format.Parse((await request.body()) or b"{}", message)
    except json_format.ParseError as exc:
        raise DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_MALFORMED_REQUEST", str(exc)) from exc
    message.name = name  # type: ignore[attr-defined]
    return message


def _json(message: object) -> Response:
    return Response(content=json.dumps(json_format.MessageToDict(message)), media_type="application/json")  # type: ignore[arg-type]


@router.post("/v1.0-alpha1/conversation/{name}/converse")
async def converse_alpha1(name: str, request: Request) -> Response:
    req = await _parse(request, ai_pb2.ConversationRequest(), name)
    return _json(service.converse_alpha1(request.app.state.runtime, req))  # type: ignore[arg-type]


@router.post("/v1.0-alpha2/conversation/{name}/converse")
async def converse_alpha2(name: str, request: Request) -> Response:
    req = await _parse(request, ai_pb2.ConversationRequestAlpha2(), name)
    return _json(service.converse_alpha2(request.app.state.runtime, req))  # type: ignore[arg-type]
