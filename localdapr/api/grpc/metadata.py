"""gRPC ``Dapr`` RPCs of the metadata building block (placeholder: filled by its issue)."""

from __future__ import annotations

from localdapr.api.grpc.base import ServicerBase


class MetadataApi(ServicerBase):
    """Implemented metadata RPCs; anything not defined here falls through to UNIMPLEMENTED."""
