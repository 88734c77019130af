"""The FastAPI application: one router per building block, plus the "not supported" fallback."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

from localdapr.api.http import actors, configuration, conversation, health, lock, metadata, pubsub, secrets, state, workflow
from localdapr.api.http.errors import dapr_error_handler, error_response
from localdapr.errors import DaprError, no_api_route, not_supported
from localdapr.runtime import Runtime


# daprd API routes whose next path segment is a component name, and that component's building block.
_COMPONENT_APIS = {"bindings": "bindings", "crypto": "crypto", "subtlecrypto": "crypto", "state": "state", "secrets": "secretstores",
                   "publish": "pubsub", "configuration": "configuration", "lock": "lock", "unlock": "lock", "conversation": "conversation"}


def build_app(runtime: Runtime) -> FastAPI:
    app = FastAPI(openapi_url=None, docs_url=None, redoc_url=None)
    app.state.runtime = runtime
    app.add_exception_handler(DaprError, dapr_error_handler)
    for module in (health, actors, state, secrets, metadata, pubsub, conversation, workflow, configuration, lock):
        app.include_router(module.router)

    @app.api_route("/{path:path}", methods=["GET", "POST", "PUT", "DELETE", "PATCH"], include_in_schema=False)
    async def unsupported(path: str, request: Request) -> JSONResponse:
        # daprd routes this sidecar does not serve (actors, invoke, bindings, ...) fail loudly,
        # naming the component when the route names one the local sidecar only lists.
        parts = path.split("/")
        if len(parts) >= 2 and parts[0] == "v1.0" and parts[1] == "actors":
            return error_response(no_api_route())  # daprd: its service-invocation fallback (an empty name)
        if len(parts) >= 3 and parts[0].startswith("v1.0") and parts[1] in _COMPONENT_APIS:
            missing = runtime.not_implemented(parts[2], _COMPONENT_APIS[parts[1]])
            if missing is not None:
                return error_response(missing)
        return error_response(not_supported(f"HTTP {request.method} /{path}"))

    return app
