"""``/v1.0/healthz`` and ``/v1.0/healthz/outbound`` (spec E1, E2)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

router = APIRouter()


@router.get("/v1.0/healthz/outbound")
async def healthz_outbound(request: Request) -> Response:
    runtime = request.app.state.runtime
    if runtime.outbound_ready:
        return Response(status_code=204)
    return JSONResponse(
        status_code=500,
        content={"errorCode": "ERR_OUTBOUND_HEALTH_NOT_READY", "message": "dapr outbound is not ready"},
    )


@router.get("/v1.0/healthz")
async def healthz(request: Request, appid: str | None = None) -> Response:
    runtime = request.app.state.runtime
    if appid is not None and appid != runtime.app_id:
        return JSONResponse(
            status_code=500,
            content={"errorCode": "ERR_HEALTH_APPID_NOT_MATCH", "message": "dapr app-id does not match"},
        )
    if runtime.outbound_ready and runtime.app_ready:
        return Response(status_code=204)
    waiting = [t for t, ok in (("outbound", runtime.outbound_ready), ("app", runtime.app_ready)) if not ok]
    return JSONResponse(
        status_code=500,
        content={"errorCode": "ERR_HEALTH_NOT_READY", "message": f"dapr is not ready: {waiting}"},
    )
