"""Routes matched on the request's raw path segments, as daprd's chi router matches them.

Why: chi routes on the escaped path, so ``/v1.0/workflows/dapr/a%2Fb/purge`` is instance
``a/b`` and ``/v1.0/state/statestore/a/b`` (two segments) is no state route at all, while
Starlette decodes ``%2F`` before routing. Here each raw segment is decoded on its own and only
``%`` and ``/`` are escaped again for matching; the parameters come out fully decoded.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import unquote

from fastapi.routing import APIRoute
from starlette.routing import Match
from starlette.types import Scope


def _routing_path(raw_path: bytes) -> str:
    segments = raw_path.decode("latin-1").split("/")
    return "/".join(unquote(s).replace("%", "%25").replace("/", "%2F") for s in segments)


class RawSegmentRoute(APIRoute):
    """An APIRoute whose path parameters are single raw segments (``%2F`` stays inside one)."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        raw = scope.get("raw_path")
        if scope.get("type") != "http" or not raw:
            return super().matches(scope)
        match, child = super().matches({**scope, "path": _routing_path(raw)})
        if match != Match.NONE:
            params: dict[str, Any] = child.get("path_params", {})
            child["path_params"] = {k: unquote(v) if isinstance(v, str) else v for k, v in params.items()}
        return match, child
