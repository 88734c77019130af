"""HTTP ``GET /v1.0[-alpha1]/configuration/{store}``, ``.../subscribe``, ``.../{id}/unsubscribe``.

daprd 1.18.2's routes and answers (pkg/api/http/http.go, verified by running it): ``?key=a&key=b``
selects keys (none: all), ``?metadata.x=y`` is passed on; nothing found is 204; subscribing
needs the app channel (``--app-port``) because changes are POSTed to the app at
``/configuration/<store>/<key>`` with the update event as JSON.
"""

from __future__ import annotations

import logging

import httpx
from fastapi import APIRouter, Request, Response

from localdapr.configuration import service
from localdapr.configuration.redis_store import Item
from localdapr.pubsub.gocompat import _string, dumps
from localdapr.runtime import Runtime

router = APIRouter()
log = logging.getLogger("localdapr.runtime.http")
_VERSIONS = ("v1.0", "v1.0-alpha1")


def _item_json(item: Item) -> str:
    """Go's encoding of contrib's ``configuration.Item`` (struct order, ``omitempty``)."""
    fields = []
    if item.value:
        fields.append('"value":' + _string(item.value))
    if item.version:
        fields.append('"version":' + _string(item.version))
    if item.metadata:
        fields.append('"metadata":' + dumps(item.metadata))
    return "{" + ",".join(fields) + "}"


def _items_json(items: dict[str, Item]) -> str:
    return "{" + ",".join(_string(k) + ":" + _item_json(items[k]) for k in sorted(items)) + "}"


def _json(body: str, status: int = 200) -> Response:
    return Response(body + "\n", status_code=status, media_type="application/json")  # json.Encoder adds the newline


def _keys(request: Request) -> list[str]:
    return request.query_params.getlist("key")


async def get_configuration(store: str, request: Request) -> Response:
    items = await service.get(request.app.state.runtime, store, _keys(request))
    if not items:
        return Response(status_code=204)
    return _json(_items_json(items))


async def subscribe(store: str, request: Request) -> Response:
    runtime: Runtime = request.app.state.runtime
    config_store = service.get_store(runtime, store)
    if runtime.options.app_port is None:
        body = dumps({"errorCode": "ERR_APP_CHANNEL_NIL", "message": "app channel is not initialized. cannot subscribe to configuration updates"})
        return _json(body, 500)
    opts = runtime.options
    app = f"http://{opts.app_channel_address}:{opts.app_port}"

    async def deliver(sub_id: str, items: dict[str, Item]) -> None:
        """daprd's configurationEventHandler: one POST per key of the event, the whole event as body."""
        body = '{"id":' + _string(sub_id) + ',"items":' + _items_json(items) + "}\n"
        async with httpx.AsyncClient(timeout=60) as client:
            for key in items:
                try:
                    resp = await client.post(f"{app}/configuration/{store}/{key}", content=body, headers={"Content-Type": "application/json"})
                    if resp.status_code != 200:
                        raise RuntimeError(f"error sending configuration item to application, status {resp.status_code}")
                except (httpx.HTTPError, RuntimeError) as exc:
                    log.error("error sending configuration item to the app: %s", exc)

    sub_id = await config_store.subscribe(_keys(request), deliver)
    return _json('{"id":' + _string(sub_id) + "}")


async def unsubscribe(store: str, sub_id: str, request: Request) -> Response:
    config_store = service.get_store(request.app.state.runtime, store)
    try:
        await config_store.unsubscribe(sub_id)
    except KeyError as exc:
        message = service.unsubscribe_message(sub_id, exc.args[0])
        return _json('{"message":' + _string(message) + "}", 500)  # daprd's body: no errorCode, ok omitted
    return _json('{"ok":true}')


for _version in _VERSIONS:
    router.add_api_route(f"/{_version}/configuration/{{store}}", get_configuration, methods=["GET"])
    router.add_api_route(f"/{_version}/configuration/{{store}}/subscribe", subscribe, methods=["GET"])
    router.add_api_route(f"/{_version}/configuration/{{store}}/{{sub_id}}/unsubscribe", unsubscribe, methods=["GET"])
