"""HTTP ``/v1.0/secrets/{store}/{key}`` and ``/v1.0/secrets/{store}/bulk``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from localdapr.pubsub import gocompat
from localdapr.secrets import service

router = APIRouter()


@router.get("/v1.0/secrets/{store}/bulk")
async def bulk(store: str, request: Request) -> Response:
    return _go_json(await service.bulk(request.app.state.runtime, store))


@router.get("/v1.0/secrets/{store}/{key:path}")
async def get_secret(store: str, key: str, request: Request) -> Response:
    return _go_json(await service.get(request.app.state.runtime, store, key))


def _go_json(doc: dict) -> Response:
    """As daprd's ``json.NewEncoder(w).Encode`` of a Go map: keys sorted at every level (a bulk
    answer lists ``billing-api-key`` before ``redis-password`` whatever the file's order),
    ``<`` ``>`` ``&`` escaped, and a trailing newline."""
    return Response(content=(gocompat.dumps(doc) + "\n").encode(), media_type="application/json")
