"""HTTP ``/v1.0/secrets/{store}/{key}`` and ``/v1.0/secrets/{store}/bulk``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from localdapr.secrets import service

router = APIRouter()


@router.get("/v1.0/secrets/{store}/bulk")
async def bulk(store: str, request: Request) -> JSONResponse:
    return JSONResponse(await service.bulk(request.app.state.runtime, store))


@router.get("/v1.0/secrets/{store}/{key:path}")
async def get_secret(store: str, key: str, request: Request) -> JSONResponse:
    return JSONResponse(await service.get(request.app.state.runtime, store, key))
