"""The HTTP API's guard, in daprd's order: API token, API allow/deny lists, ``--max-body-size``,
then API logging around the handler. A plain ASGI middleware, so it sees every request before
FastAPI routes it (daprd applies these to its whole router).

* Token (``DAPR_API_TOKEN``): a request without the right ``dapr-api-token`` header gets
  daprd's ``http.Error(w, "invalid api token", 401)``: a ``text/plain`` body
  ``invalid api token\\n``, not JSON. The header is removed before the handler sees it.
* A path the allow/deny lists leave out answers what daprd's fallback (service invocation)
  answers for an unregistered route: 404 ``ERR_DIRECT_INVOKE``.
* A body over ``--max-body-size``: daprd reads bodies through a limited reader, so the error
  is whatever the handler makes of ``stream too large`` (measured on daprd 1.18, see
  :func:`_too_large`); handlers that do not read the body never notice.
* ``--enable-api-logging`` (or ``spec.logging.apiLogging.enabled``): one ``HTTP API Called``
  line per request on scope ``dapr.runtime.http-info`` with daprd's fields.
"""

from __future__ import annotations

import json
import logging
import re
import time
from typing import Any, Awaitable, Callable

from localdapr.api.access import AccessPolicy

log = logging.getLogger("localdapr.runtime.http")
info_log = logging.getLogger("localdapr.runtime.http-info")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

_DIRECT_INVOKE = {"errorCode": "ERR_DIRECT_INVOKE", "message": "failed getting app id either from the URL path or the header dapr-app-id"}
_STATE_SAVE = re.compile(r"^/v1\.0/state/([^/]+)/?$")
_STATE_BODY = re.compile(r"^/v1\.0/state/([^/]+)/(bulk|transaction)/?$")
_PUBLISH = re.compile(r"^/v1\.0/publish/([^/]+)/(.+)$")


async def _respond(send: Send, status: int, body: bytes, content_type: str, extra: list[tuple[bytes, bytes]] = ()) -> None:  # type: ignore[assignment]
    headers = [(b"content-type", content_type.encode()), (b"content-length", str(len(body)).encode()), *extra]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _json(send: Send, status: int, doc: dict[str, Any]) -> None:
    await _respond(send, status, json.dumps(doc, separators=(",", ":")).encode(), "application/json")


def _too_large(method: str, path: str, runtime: Any) -> tuple[int, dict[str, Any]] | None:
    """daprd's answer to a body over the limit on ``path``, or None to let the handler run
    without the body (it does not read it, or it fails on something it checks first)."""
    if method in ("GET", "DELETE") and path.startswith("/v1.0/state/") or path.startswith("/v1.0/healthz") or path.startswith("/v1.0/shutdown"):
        return None
    if (m := _STATE_SAVE.match(path)) and method in ("POST", "PUT"):
        if m.group(1) not in runtime.state_stores:
            return None
        return 400, {"errorCode": "ERR_MALFORMED_REQUEST", "message": "stream too large"}
    if (m := _STATE_BODY.match(path)) and method in ("POST", "PUT"):
        if m.group(1) not in runtime.state_stores:
            return None
        return 400, {"errorCode": "ERR_MALFORMED_REQUEST", "message": "failed deserializing HTTP body: stream too large"}
    if (m := _PUBLISH.match(path)) and method in ("POST", "PUT") and not path.startswith("/v1.0/publish/bulk/"):
        if m.group(1) not in runtime.pubsubs:
            return None
        from localdapr.pubsub import errors as pubsub_errors

        err = pubsub_errors.publish_failed(m.group(1), m.group(2), "stream too large")
        return err.http_status, err.http_body()
    return 400, {"errorCode": "ERR_BODY_READ", "message": "failed to read request body: stream too large"}


class ApiGuard:
    """ASGI middleware around the FastAPI app (see module docstring)."""

    def __init__(self, app: Callable[..., Awaitable[None]], runtime: Any) -> None:
        self.app = app
        self.runtime = runtime

    @property
    def policy(self) -> AccessPolicy:
        return self.runtime.access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method, path = scope["method"], scope["path"]
        headers = [(k, v) for k, v in scope.get("headers", []) if k != b"dapr-api-token"]
        given = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"dapr-api-token"), None)
        if not self.policy.http_token_ok(method, path, given):
            await _respond(send, 401, b"invalid api token\n", "text/plain; charset=utf-8", [(b"x-content-type-options", b"nosniff")])
            return
        scope = {**scope, "headers": headers}
        start = time.monotonic()
        status = {"code": 0, "size": 0}

        async def counting_send(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            elif message["type"] == "http.response.body":
                status["size"] += len(message.get("body", b""))
            await send(message)

        try:
            await self._dispatch(scope, receive, counting_send, method, path)
        finally:
            self._api_log(scope, method, path, start, status)

    async def _dispatch(self, scope: Scope, receive: Receive, send: Send, method: str, path: str) -> None:
        if not self.policy.http_path_allowed(path):
            await _json(send, 404, _DIRECT_INVOKE)
            return
        limit = self.runtime.options.max_body_size
        if limit <= 0:
            await self.app(scope, receive, send)
            return
        body, more, oversize = bytearray(), True, False
        while more:
            message = await receive()
            if message["type"] != "http.request":
                break
            body += message.get("body", b"")
            more = message.get("more_body", False)
            if len(body) > limit:
                oversize = True
                break
        if oversize:
            answer = _too_large(method, path, self.runtime)
            if answer is not None:
                await _json(send, *answer)
                return
            body = bytearray()
        replayed = False

        async def replay() -> dict[str, Any]:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        await self.app(scope, replay, send)

    def _api_log(self, scope: Scope, method: str, path: str, start: float, status: dict[str, int]) -> None:
        if not self.runtime.api_logging:
            return
        if path.strip("/") in ("v1.0/healthz", "v1.0/healthz/outbound") and self.runtime.config.omit_health_checks:
            return
        fields: dict[str, Any] = {"duration": int((time.monotonic() - start) * 1000), "method": f"{method} {path}",
                                  "code": status["code"], "size": status["size"]}
        agent = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"user-agent"), "")
        if agent:
            fields["useragent"] = agent
        info_log.info("HTTP API Called", extra={"fields": fields})
