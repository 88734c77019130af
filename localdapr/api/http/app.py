"""The FastAPI application: one router per building block, plus the "not supported" fallback."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from localdapr.api.http import conversation, health, metadata, pubsub, secrets, state, workflow
from localdapr.api.http.errors import dapr_error_handler, error_response
from localdapr.errors import DaprError, not_supported
from localdapr.runtime import Runtime


def build_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.add_exception_handler(DaprError, dapr_error_handler)
    for module in (health, state, secrets, metadata, pubsub, conversation, workflow):
        app.include_router(module.router)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def unsupported(path: str, request: Request) -> JSONResponse:
        # daprd routes this sidecar does not serve (actors, invoke, bindings, ...) fail loudly.
        return error_response(not_supported(f"HTTP {request.method} /{path}"))

    return app
