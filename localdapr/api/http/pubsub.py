"""HTTP ``POST /v1.0/publish/{pubsub}/{topic}`` (spec F1.1) and bulk publish (``/publish/bulk/...``)."""

from __future__ import annotations

import json

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse

from localdapr.pubsub import bulk, errors, service, tracecontext

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


@router.api_route("/v1.0-alpha1/publish/bulk/{pubsub}/{topic:path}", methods=["POST", "PUT"])
@router.api_route("/v1.0/publish/bulk/{pubsub}/{topic:path}", methods=["POST", "PUT"])
async def bulk_publish(pubsub: str, topic: str, request: Request) -> Response:
    """daprd's ``onBulkPublish``: 204 when every entry was written; on a broker failure 500 with
    ``failedEntries`` and ``errorCode`` as the body."""
    if not topic:
        # daprd's router: no bulk route without a topic, so ``publish/{pubsubname}/*`` takes it
        # with the pubsub "bulk" (an empty pubsub segment lands there too, by itself).
        return await publish("bulk", f"{pubsub}/", request)
    runtime = request.app.state.runtime
    metadata = _metadata(request)
    service.validate(runtime, pubsub, topic, metadata)
    raw = await request.body()
    try:
        if not raw.strip():
            raise ValueError("EOF")
        items = bulk.http_entries(json.loads(raw))
    except ValueError as exc:
        raise errors.unmarshal_events(pubsub, topic, runtime.app_id, _json_problem(exc)) from exc
    entries: list[bulk.Entry] = []
    seen: set[str] = set()
    for item in items:
        content_type = str(item.get("contentType") or "")
        try:
            data = bulk.event_bytes(item.get("event"), content_type)
        except ValueError as exc:
            raise errors.marshal_envelope(pubsub, topic, runtime.app_id, str(exc)) from exc
        md = item.get("metadata")
        entry_id = str(item.get("entryId") or "")
        if not entry_id or entry_id in seen:  # checked here, after the entry's event (daprd's order)
            raise errors.marshal_events(pubsub, topic, runtime.app_id, bulk.DUPLICATE_ID)
        seen.add(entry_id)
        entries.append(bulk.Entry(entry_id, data, content_type, bulk.entry_metadata(metadata, md)))  # type: ignore[arg-type]
    try:
        await bulk.publish(runtime, pubsub, topic, entries, metadata, trace=tracecontext.from_http_headers(request.headers))
    except bulk.BulkPublishFailed as failed:
        body = {"failedEntries": [{"entryId": f.entry_id, "error": f.error} for f in failed.failed],
                "errorCode": "ERR_PUBSUB_PUBLISH_MESSAGE"}
        return JSONResponse(status_code=500, content=body)
    return Response(status_code=204)


def _json_problem(exc: ValueError) -> str:
    """Go's decoder text for a body that is not JSON (the type errors already are Go's)."""
    if isinstance(exc, json.JSONDecodeError):
        return "unexpected EOF" if exc.pos >= len(exc.doc) else f"invalid character {exc.doc[exc.pos]!r} looking for beginning of value"
    return str(exc)


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
