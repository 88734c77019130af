"""gRPC ``Dapr`` RPCs of the secrets building block (placeholder: filled by its issue)."""

from __future__ import annotations

from localdapr.api.grpc.base import ServicerBase


class SecretsApi(ServicerBase):
    """Implemented secrets RPCs; anything not defined here falls through to UNIMPLEMENTED."""
