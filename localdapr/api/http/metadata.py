"""``/v1.0/metadata`` and ``/v1.0/shutdown`` (spec E3, E4)."""

from __future__ import annotations

import asyncio

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from localdapr import metadata

router = APIRouter()


@router.get("/v1.0/metadata")
async def get_metadata(request: Request) -> JSONResponse:
    return JSONResponse(metadata.build(request.app.state.runtime))


@router.put("/v1.0/metadata/{key}")
async def set_metadata(key: str, request: Request) -> Response:
    request.app.state.runtime.extended_metadata[key] = (await request.body()).decode()
    return Response(status_code=204)


@router.post("/v1.0/shutdown")
async def shutdown(request: Request) -> Response:
    asyncio.get_running_loop().call_later(0.05, request.app.state.runtime.shutdown_requested.set)
    return Response(status_code=204)
