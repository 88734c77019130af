"""gRPC ``Dapr`` RPCs of the state building block (placeholder: filled by its issue)."""

from __future__ import annotations

from localdapr.api.grpc.base import ServicerBase


class StateApi(ServicerBase):
    """Implemented state RPCs; anything not defined here falls through to UNIMPLEMENTED."""
