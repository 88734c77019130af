"""HTTP state routes (spec D.2)."""

from __future__ import annotations

import contextlib
import dataclasses
import json
from typing import Any, Iterator

import grpc
from fastapi import APIRouter, Request, Response

from localdapr import gojson
from localdapr.api.http.routing import RawSegmentRoute
from localdapr.errors import DaprError, no_api_route
from localdapr.pubsub import tracecontext
from localdapr.state import service
from localdapr.state.keys import ILLEGAL_KEY
from localdapr.state.base import DeleteRequest, SetRequest, TransactionOperation
from localdapr.state.encoding import encode_json

router = APIRouter(route_class=RawSegmentRoute)
MALFORMED_BODY = "failed deserializing HTTP body: "  # daprd's messages.ErrMalformedRequest


def query_metadata(request: Request) -> dict[str, str]:
    """``?metadata.k=v`` query parameters."""
    return {k[len("metadata."):]: v for k, v in request.query_params.items() if k.startswith("metadata.")}


def malformed(message: str) -> DaprError:
    return DaprError(grpc.StatusCode.INVALID_ARGUMENT, 400, "ERR_MALFORMED_REQUEST", message)


# The Go types daprd 1.18.2 decodes these bodies into (pkg/api/http/requests.go, http.go,
# components-contrib state/requests.go): field names, types and the names errors show.
_METADATA = gojson.map_of(gojson.STRING)
BULK_GET = gojson.struct(
    "http.BulkGetRequest", ("metadata", "Metadata", _METADATA), ("keys", "Keys", gojson.slice_of(gojson.STRING)),
    ("parallelism", "Parallelism", gojson.INT),
)
_SET_OPTIONS = gojson.struct("state.SetStateOption", ("Concurrency", "Concurrency", gojson.STRING), ("Consistency", "Consistency", gojson.STRING))
SET_REQUEST = gojson.struct(
    "state.SetRequest", ("key", "Key", gojson.STRING), ("value", "Value", gojson.ANY), ("etag", "ETag", gojson.ptr_to(gojson.STRING)),
    ("metadata", "Metadata", _METADATA), ("options", "Options", _SET_OPTIONS), ("contentType", "ContentType", gojson.ptr_to(gojson.STRING)),
)
_DELETE_OPTIONS = gojson.struct("state.DeleteStateOption", ("concurrency", "Concurrency", gojson.STRING), ("consistency", "Consistency", gojson.STRING))
DELETE_REQUEST = gojson.struct(
    "state.DeleteRequest", ("key", "Key", gojson.STRING), ("etag", "ETag", gojson.ptr_to(gojson.STRING)),
    ("metadata", "Metadata", _METADATA), ("options", "Options", _DELETE_OPTIONS),
)
TRANSACTION = gojson.struct(
    "http.stateTransactionRequestBody",
    ("operations", "Operations", gojson.slice_of(gojson.struct(
        "http.stateTransactionRequestBodyOperation", ("operation", "Operation", gojson.STRING), ("request", "Request", gojson.ANY)))),
    ("metadata", "Metadata", _METADATA),
)


async def _decode(request: Request, target: gojson.GoType, prefix: str = "") -> Any:
    """The body as daprd's ``json.NewDecoder(r.Body).Decode`` reads it into ``target``; a body
    it rejects is 400 ERR_MALFORMED_REQUEST with Go's text (after ``prefix``, which is
    ``messages.ErrMalformedRequest``'s "failed deserializing HTTP body: " on some routes)."""
    raw = await request.body()
    try:
        return gojson.decode_body(raw, target)
    except gojson.GoJSONError as exc:
        raise malformed(prefix + str(exc)) from exc


@contextlib.contextmanager
def http_key_errors(field: str | None = None) -> Iterator[None]:
    """A key with '||' as daprd's HTTP handlers answer it: they wrap the state loader's
    InvalidKeyName error in a second one, so its text gains "api error: code = InvalidArgument
    desc = "; ``field`` replaces the violation's field (a transaction names the already
    cleared key: "")."""
    try:
        yield
    except DaprError as err:
        if err.reason != ILLEGAL_KEY or err.bad_request is None:
            raise
        text = f"api error: code = InvalidArgument desc = {err.message}"
        raise dataclasses.replace(err, message=text, bad_request=(err.bad_request[0] if field is None else field, text)) from err


def _set_request(item: dict[str, Any], extra: dict[str, str]) -> SetRequest:
    """A decoded state.SetRequest (Go field names) as the store's SetRequest; ``extra`` (the
    ``metadata.*`` query parameters) wins over the item's metadata, as daprd's maps.Copy."""
    options = item["Options"]
    with gojson.deep_values():
        value = encode_json(item["Value"])
    return SetRequest(
        key=item["Key"],
        value=value,
        etag=item["ETag"] or None,
        metadata={**(item["Metadata"] or {}), **extra},
        concurrency=options["Concurrency"],
        consistency=options["Consistency"],
    )


def go_encoder_response(doc: Any) -> Response:
    """JSON as daprd's ``json.NewEncoder(w).Encode`` writes it: compact, ``<``, ``>``, ``&``,
    U+2028 and U+2029 escaped, and a trailing newline."""
    text = json.dumps(doc, ensure_ascii=False, separators=(",", ":"))
    for raw, escaped in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, escaped)
    return Response(content=(text + "\n").encode(), media_type="application/json")


@router.get("/v1.0/state/{store}/{key}")
async def get_state(store: str, key: str, request: Request) -> Response:
    with http_key_errors():
        resp = await service.get(request.app.state.runtime, store, key, query_metadata(request))
    if resp.data is None:
        return Response(status_code=204)
    headers = {"ETag": resp.etag} if resp.etag else {}
    return Response(content=resp.data, media_type="application/json", headers=headers)


@router.api_route("/v1.0/state/{store}/bulk", methods=["POST", "PUT"])
async def bulk_get(store: str, request: Request) -> Response:
    service.get_store(request.app.state.runtime, store)  # daprd looks the store up before reading the body
    body = await _decode(request, BULK_GET, MALFORMED_BODY)
    user_keys = list(body["Keys"] or [])
    with http_key_errors():
        items = await service.bulk_get(request.app.state.runtime, store, user_keys, {**(body["Metadata"] or {}), **query_metadata(request)})
    out = []
    for item in items:
        entry: dict[str, Any] = {"key": item.key}
        if item.data is not None:
            try:
                entry["data"] = json.loads(item.data)
            except ValueError:
                entry["data"] = item.data.decode(errors="replace")
            entry["etag"] = item.etag
        if item.error:
            entry["error"] = item.error
        out.append(entry)
    return go_encoder_response(out)


@router.api_route("/v1.0/state/{store}/transaction", methods=["POST", "PUT"])
async def transaction(store: str, request: Request) -> Response:
    service.get_store(request.app.state.runtime, store)
    body = await _decode(request, TRANSACTION, MALFORMED_BODY)
    if not body["Operations"]:
        return Response(status_code=204)
    ops: list[TransactionOperation] = []
    extra = query_metadata(request)
    runtime = request.app.state.runtime
    for op in body["Operations"]:
        kind = op["Operation"]
        if kind not in ("upsert", "delete"):
            raise DaprError(grpc.StatusCode.UNIMPLEMENTED, 400, "ERR_NOT_SUPPORTED_STATE_OPERATION", f"operation type {kind} not supported")
        try:
            req = gojson.mapstructure_decode(op["Request"], SET_REQUEST if kind == "upsert" else DELETE_REQUEST)
        except gojson.GoJSONError as exc:
            raise malformed(MALFORMED_BODY + str(exc)) from exc
        with http_key_errors(field=""):  # checked per operation, in order, as daprd does
            service.store_key(runtime, service.get_store(runtime, store), req["Key"])
        if kind == "upsert":
            ops.append(TransactionOperation("upsert", _set_request(req, extra)))
        else:
            opts = req["Options"]
            ops.append(TransactionOperation("delete", DeleteRequest(
                req["Key"], req["ETag"] or None, {**(req["Metadata"] or {}), **extra}, opts["Concurrency"], opts["Consistency"])))
    await service.transaction(request.app.state.runtime, store, ops, {**(body["Metadata"] or {}), **extra},
                              transport="http", trace=tracecontext.from_http_headers(request.headers))
    return Response(status_code=204)


@router.api_route("/v1.0/state/{store}", methods=["POST", "PUT"])
async def save_state(store: str, request: Request) -> Response:
    service.get_store(request.app.state.runtime, store)
    body = await _decode(request, gojson.slice_of(SET_REQUEST))
    if not body:
        return Response(status_code=204)
    extra = query_metadata(request)
    runtime = request.app.state.runtime
    for item in body:  # in order, as daprd: a missing key or a key with '||', whichever comes first
        if not item["Key"]:
            raise malformed('"key" is a required field')
        with http_key_errors():
            service.store_key(runtime, service.get_store(runtime, store), item["Key"])
    items = [_set_request(item, extra) for item in body]
    await service.save(request.app.state.runtime, store, items)
    return Response(status_code=204)


@router.delete("/v1.0/state/{store}/{key}")
async def delete_state(store: str, key: str, request: Request) -> Response:
    etag = request.headers.get("If-Match") or None
    req = DeleteRequest(key, etag, query_metadata(request), request.query_params.get("concurrency", ""), request.query_params.get("consistency", ""))
    with http_key_errors():
        await service.delete(request.app.state.runtime, store, key, req)
    return Response(status_code=204)


# Last, so every route above wins: any other method or path under /v1.0/state matches no daprd
# state route, and daprd's service-invocation fallback answers it.
@router.api_route("/v1.0/state", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
@router.api_route("/v1.0/state/{rest:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
async def no_state_route(request: Request) -> Response:
    raise no_api_route()
