"""The gRPC API's guard, in daprd's interceptor order: API allow/deny lists, API token, then
API logging around the call; plus ``--max-body-size`` on every received message.

daprd's answers (measured on daprd 1.18, ``pkg/api/grpc/auth.go`` and ``endpoints.go``) are
``invokev1.ErrorFromHTTPResponseCode``: the HTTP status text as message and a
``google.rpc.ErrorInfo`` (reason = that text, domain ``dapr.io``, metadata ``http.code`` and
``http.error_message``):

* a method left out by the lists: UNIMPLEMENTED ``Not Implemented``
  (``requested endpoint is not available``);
* no or a wrong ``dapr-api-token``: UNAUTHENTICATED ``Unauthorized``
  (``missing api token in request metadata`` / ``authentication error: api token mismatch``);
* a message over the limit: RESOURCE_EXHAUSTED ``grpc: received message larger than max
  (N vs. M)`` (grpc-go's text; the size check is done here on the decoded message, so the
  Python gRPC core's own limit is set higher, see ``server.py``).
"""

from __future__ import annotations

import logging
import time
from typing import Any, AsyncIterator, Awaitable, Callable

import grpc
from google.protobuf import any_pb2
from google.rpc import code_pb2, error_details_pb2, status_pb2
from grpc_status import rpc_status

from localdapr.api.access import TOKEN_HEADER

info_log = logging.getLogger("localdapr.runtime.grpc.api-info")


def http_code_status(code: int, reason: str, detail: str, grpc_code: int) -> grpc.Status:
    """``invokev1.ErrorFromHTTPResponseCode(code, detail)``."""
    status = status_pb2.Status(code=grpc_code, message=reason)
    info = any_pb2.Any()
    info.Pack(error_details_pb2.ErrorInfo(reason=reason, domain="dapr.io",
                                          metadata={"http.code": str(code), "http.error_message": detail[:63]}))
    status.details.append(info)
    return rpc_status.to_status(status)


NOT_AVAILABLE = http_code_status(501, "Not Implemented", "requested endpoint is not available", code_pb2.UNIMPLEMENTED)


def too_large(size: int, limit: int) -> grpc.Status:
    return rpc_status.to_status(status_pb2.Status(
        code=code_pb2.RESOURCE_EXHAUSTED, message=f"grpc: received message larger than max ({size} vs. {limit})"))


def _rejecting(handler: grpc.RpcMethodHandler, status: grpc.Status) -> grpc.RpcMethodHandler:
    """A handler of the same shape that fails every call with ``status``."""

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await context.abort_with_status(status)

    async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
        await context.abort_with_status(status)
        yield  # pragma: no cover - makes this an async generator

    return handler._replace(
        unary_unary=unary if handler.unary_unary else None, stream_unary=unary if handler.stream_unary else None,
        unary_stream=streaming if handler.unary_stream else None, stream_stream=streaming if handler.stream_stream else None,
    )


class ApiGuard(grpc.aio.ServerInterceptor):
    def __init__(self, runtime: Any) -> None:
        self.runtime = runtime

    async def intercept_service(
        self, continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]], details: grpc.HandlerCallDetails
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(details)
        if handler is None:
            return handler
        method = details.method
        policy = self.runtime.access
        # Rejected calls are not API-logged (daprd's logging interceptor comes after these two),
        # but an oversized message is refused first (grpc-go checks it before any interceptor).
        if not policy.grpc_method_allowed(method):
            return self._limited(_rejecting(handler, NOT_AVAILABLE))
        metadata = details.invocation_metadata or ()
        problem = policy.grpc_token_problem([str(v) for k, v in metadata if k == TOKEN_HEADER])
        if problem is not None:
            return self._limited(_rejecting(handler, http_code_status(401, "Unauthorized", problem, code_pb2.UNAUTHENTICATED)))
        return self._logged(self._limited(handler), details)

    # ---- message size ------------------------------------------------------------------------
    def _limited(self, handler: grpc.RpcMethodHandler) -> grpc.RpcMethodHandler:
        limit = self.runtime.options.max_body_size
        if limit <= 0:
            return handler

        async def check(request: Any, context: grpc.aio.ServicerContext) -> None:
            size = request.ByteSize() if hasattr(request, "ByteSize") else 0
            if size > limit:
                await context.abort_with_status(too_large(size, limit))

        async def checked_iter(requests: AsyncIterator[Any], context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            async for request in requests:
                await check(request, context)
                yield request

        replace: dict[str, Any] = {}
        if handler.unary_unary:
            inner_uu = handler.unary_unary

            async def uu(request: Any, context: grpc.aio.ServicerContext) -> Any:
                await check(request, context)
                return await inner_uu(request, context)

            replace["unary_unary"] = uu
        if handler.unary_stream:
            inner_us = handler.unary_stream

            async def us(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                await check(request, context)
                async for item in _aiter(inner_us(request, context)):
                    yield item

            replace["unary_stream"] = us
        if handler.stream_unary:
            inner_su = handler.stream_unary

            async def su(requests: Any, context: grpc.aio.ServicerContext) -> Any:
                return await inner_su(checked_iter(requests, context), context)

            replace["stream_unary"] = su
        if handler.stream_stream:
            inner_ss = handler.stream_stream

            async def ss(requests: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
                async for item in _aiter(inner_ss(checked_iter(requests, context), context)):
                    yield item

            replace["stream_stream"] = ss
        return handler._replace(**replace)

    # ---- API logging -------------------------------------------------------------------------
    def _logged(self, handler: grpc.RpcMethodHandler, details: grpc.HandlerCallDetails) -> grpc.RpcMethodHandler:
        if not self.runtime.api_logging:
            return handler
        agent = next((str(v) for k, v in details.invocation_metadata or () if k == "user-agent"), "")

        def emit(start: float, context: grpc.aio.ServicerContext, error: BaseException | None) -> None:
            code = context.code() if hasattr(context, "code") else None
            value = code.value[0] if isinstance(code, grpc.StatusCode) else (code or 0)
            if error is not None and not value:
                value = grpc.StatusCode.UNKNOWN.value[0]
            fields: dict[str, Any] = {"method": details.method, "duration": int((time.monotonic() - start) * 1000), "code": value}
            if agent:
                fields["useragent"] = agent
            info_log.info("gRPC API Called", extra={"fields": fields})

        replace: dict[str, Any] = {}
        for kind in ("unary_unary", "stream_unary"):
            inner = getattr(handler, kind)
            if inner:
                async def unary(request: Any, context: grpc.aio.ServicerContext, inner: Any = inner) -> Any:
                    start, error = time.monotonic(), None
                    try:
                        return await inner(request, context)
                    except BaseException as exc:
                        error = exc
                        raise
                    finally:
                        emit(start, context, error)

                replace[kind] = unary
        for kind in ("unary_stream", "stream_stream"):
            inner = getattr(handler, kind)
            if inner:
                async def streaming(request: Any, context: grpc.aio.ServicerContext, inner: Any = inner) -> AsyncIterator[Any]:
                    start, error = time.monotonic(), None
                    try:
                        async for item in _aiter(inner(request, context)):
                            yield item
                    except BaseException as exc:
                        error = exc
                        raise
                    finally:
                        emit(start, context, error)

                replace[kind] = streaming
        return handler._replace(**replace)


async def _aiter(result: Any) -> AsyncIterator[Any]:
    """A streaming behaviour is an async generator, or a coroutine that writes with
    ``context.write`` and returns None."""
    if hasattr(result, "__aiter__"):
        async for item in result:
            yield item
    else:
        await result
