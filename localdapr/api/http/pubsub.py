"""HTTP ``POST /v1.0/publish/{pubsub}/{topic}`` (spec F1.1)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from localdapr.pubsub import service, tracecontext

router = APIRouter()


def _metadata(request: Request) -> dict[str, str]:
    """``?metadata.k=v``; a repeated key keeps its first value (Go's ``value[0]``)."""
    found: dict[str, str] = {}
    for key, value in request.query_params.multi_items():
        if key.startswith("metadata."):
            found.setdefault(key[len("metadata."):], value)
    return found


def _no_route() -> JSONResponse:
    """daprd's router has no publish route with an empty pubsub or topic segment: the request
    falls through to service invocation, which finds no app id."""
    return JSONResponse(status_code=404, content={"errorCode": "ERR_DIRECT_INVOKE",
                                                  "message": "failed getting app id either from the URL path or the header dapr-app-id"})


@router.api_route("/v1.0/publish//{topic:path}", methods=["POST", "PUT"])
async def publish_without_pubsub(topic: str) -> Response:
    return _no_route()


@router.api_route("/v1.0/publish/{pubsub}/{topic:path}", methods=["POST", "PUT"])
async def publish(pubsub: str, topic: str, request: Request) -> Response:
    if not topic:
        return _no_route()
    content_type = request.headers.get("content-type", "")
    await service.publish(request.app.state.runtime, pubsub, topic, await request.body(), content_type, _metadata(request),
                          transport="http", trace=tracecontext.from_http_headers(request.headers))
    return Response(status_code=204)
