"""DaprError -> daprd's JSON error body and status."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse

from localdapr.errors import DaprError


def error_response(err: DaprError) -> JSONResponse:
    return JSONResponse(status_code=err.http_status, content=err.http_body())


async def dapr_error_handler(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, DaprError)
    return error_response(exc)
