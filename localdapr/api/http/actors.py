"""HTTP actor routes (``/v1.0/actors/...``), as daprd 1.18.2's ``pkg/api/http/actors.go``.

Invocation answers with the app's status, headers and body; every failure is one of daprd's
``ERR_ACTOR_*`` errors. Reminder and timer bodies are read as daprd's ``CreateReminderRequest``
/ ``CreateTimerRequest`` (``data`` kept as its raw JSON text).
"""

from __future__ import annotations

import json
import logging
from typing import Any

from fastapi import APIRouter, Request, Response

from localdapr import gojson
from localdapr.actors import errors
from localdapr.actors.service import CALLER_HEADER, ActorService
from localdapr.api.http.routing import RawSegmentRoute
from localdapr.errors import DaprError, no_api_route
from localdapr.state.encoding import encode_json

router = APIRouter(route_class=RawSegmentRoute)
http_log = logging.getLogger("localdapr.runtime.http")

OPERATIONS = gojson.slice_of(gojson.struct("api.TransactionalOperation", ("operation", "Operation", gojson.STRING), ("request", "Request", gojson.ANY)))
_REMINDER = gojson.struct("api.CreateReminderRequest", ("dueTime", "DueTime", gojson.STRING), ("period", "Period", gojson.STRING),
                          ("ttl", "TTL", gojson.STRING), ("data", "Data", gojson.ANY), ("overwrite", "Overwrite", gojson.ANY))
_TIMER = gojson.struct("api.CreateTimerRequest", ("dueTime", "DueTime", gojson.STRING), ("period", "Period", gojson.STRING),
                       ("ttl", "TTL", gojson.STRING), ("callback", "Callback", gojson.STRING), ("data", "Data", gojson.ANY))


def _service(request: Request) -> ActorService:
    return request.app.state.runtime.services["actors"]  # type: ignore[no-any-return]


async def _decode(request: Request, target: gojson.GoType) -> Any:
    try:
        return gojson.decode_body(await request.body(), target)
    except gojson.GoJSONError as exc:
        raise errors.malformed(str(exc)) from exc


def _raw_data(body: bytes) -> str | None:
    """The body's ``data`` as the raw JSON text daprd keeps (json.RawMessage), None if absent/null."""
    try:
        doc = json.loads(body)
    except ValueError:
        return None
    if not isinstance(doc, dict):
        return None
    value = doc.get("data")
    for k, v in doc.items():  # Go matches field names case-insensitively; the last one wins
        if k.lower() == "data":
            value = v
    return None if value is None else json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _empty() -> Response:
    return Response(status_code=204)


@router.api_route("/v1.0/actors/{actor_type}/{actor_id}/method/{method:path}", methods=["GET", "POST", "PUT", "DELETE"])
async def invoke(actor_type: str, actor_id: str, method: str, request: Request) -> Response:
    service = _service(request)
    if not method:
        raise no_api_route()
    for name, value in (("actorType", actor_type), ("actorId", actor_id)):
        if not value:
            raise errors.bad_request(f"invalid {name}: name cannot be empty")
    body = await request.body()
    headers = [(k, v) for k, v in request.headers.items()]
    try:
        reply = await service.invoke(actor_type, actor_id, method, body, headers, request.url.query,
                                     caller=request.headers.get(CALLER_HEADER))
    except errors.LookupFailed as exc:
        err = errors.invoke_failed(exc.text)
        http_log.debug("api error: code = Internal desc = %s", err.message)
        raise err from None
    except DaprError as err:
        http_log.debug("api error: code = Internal desc = %s", err.message)  # daprd's debug line for a failed call
        raise
    response = Response(reply.body, status_code=reply.status)
    for k, v in reply.headers:
        response.headers.append(k, v)
    if reply.content_type:
        response.headers["content-type"] = reply.content_type
    return response


@router.get("/v1.0/actors/{actor_type}/{actor_id}/state/{key}")
async def get_state(actor_type: str, actor_id: str, key: str, request: Request) -> Response:
    data = await _service(request).get_state(actor_type, actor_id, key)
    if not data:
        return _empty()
    return Response(data, media_type="application/json")


def _field(doc: dict[str, Any], name: str) -> Any:
    """mapstructure's case-insensitive field match."""
    for k, v in doc.items():
        if k.lower() == name.lower():
            return v
    return None


@router.api_route("/v1.0/actors/{actor_type}/{actor_id}/state", methods=["POST", "PUT"])
async def transaction(actor_type: str, actor_id: str, request: Request) -> Response:
    service = _service(request)
    if actor_type.startswith("dapr.internal."):
        raise errors.type_reserved(actor_type)
    ops = await _decode(request, OPERATIONS)
    service.check_active(actor_type, actor_id)
    built = []
    for op in ops or []:
        req, kind = op["Request"], op["Operation"]
        if req is None:
            raise errors.transaction_failed("request data is empty")
        if kind == "":
            raise errors.transaction_failed("operation is empty")
        if kind not in ("upsert", "delete"):
            raise errors.transaction_failed(f"operation type {kind} not supported")
        if not isinstance(req, dict):
            raise errors.transaction_failed(f"'' expected a map, got '{type(req).__name__}'")
        key = _field(req, "key")
        key = key if isinstance(key, str) else ""
        etag = _field(req, "etag")
        if kind == "upsert":
            with gojson.deep_values():
                value = encode_json(_field(req, "value"))
            metadata = {str(k): str(v) for k, v in (_field(req, "metadata") or {}).items()}
            built.append(service.upsert(actor_type, actor_id, key, value, metadata, etag if isinstance(etag, str) else None))
        else:
            built.append(service.delete_op(actor_type, actor_id, key, etag if isinstance(etag, str) else None))
    await service.transaction(actor_type, actor_id, built)
    return _empty()


@router.api_route("/v1.0/actors/{actor_type}/{actor_id}/reminders/{name}", methods=["POST", "PUT"])
async def create_reminder(actor_type: str, actor_id: str, name: str, request: Request) -> Response:
    if actor_type.startswith("dapr.internal."):
        raise errors.type_reserved(actor_type)
    req = await _decode(request, _REMINDER)
    await _service(request).create_reminder(actor_type, actor_id, name, req["DueTime"], req["Period"], req["TTL"], _raw_data(await request.body()),
                                            overwrite=req["Overwrite"] if isinstance(req["Overwrite"], bool) else None)
    return _empty()


@router.api_route("/v1.0/actors/{actor_type}/{actor_id}/timers/{name}", methods=["POST", "PUT"])
async def create_timer(actor_type: str, actor_id: str, name: str, request: Request) -> Response:
    if actor_type.startswith("dapr.internal."):
        raise errors.type_reserved(actor_type)
    req = await _decode(request, _TIMER)
    await _service(request).create_timer(actor_type, actor_id, name, req["DueTime"], req["Period"], req["TTL"], req["Callback"],
                                         _raw_data(await request.body()))
    return _empty()


@router.delete("/v1.0/actors/{actor_type}/{actor_id}/reminders/{name}")
async def delete_reminder(actor_type: str, actor_id: str, name: str, request: Request) -> Response:
    await _service(request).delete_reminder(actor_type, actor_id, name)
    return _empty()


@router.delete("/v1.0/actors/{actor_type}/{actor_id}/timers/{name}")
async def delete_timer(actor_type: str, actor_id: str, name: str, request: Request) -> Response:
    await _service(request).delete_timer(actor_type, actor_id, name)
    return _empty()


@router.get("/v1.0/actors/{actor_type}/{actor_id}/reminders/{name}")
async def get_reminder(actor_type: str, actor_id: str, name: str, request: Request) -> Response:
    service = _service(request)
    view = service.reminder_view(await service.get_reminder(actor_type, actor_id, name))
    return Response(json.dumps(view, separators=(",", ":"), ensure_ascii=False) + "\n", media_type="application/json")


__all__ = ["router", "DaprError"]
