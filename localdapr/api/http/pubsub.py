"""HTTP ``POST /v1.0/publish/{pubsub}/{topic}`` (spec F1.1)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from localdapr.api.http.state import query_metadata
from localdapr.pubsub import service

router = APIRouter()


@router.api_route("/v1.0/publish/{pubsub}/{topic:path}", methods=["POST", "PUT"])
async def publish(pubsub: str, topic: str, request: Request) -> Response:
    content_type = request.headers.get("content-type", "text/plain")
    await service.publish(request.app.state.runtime, pubsub, topic, await request.body(), content_type, query_metadata(request))
    return Response(status_code=204)
