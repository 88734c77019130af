"""gRPC ``Dapr`` RPCs of the pubsub building block (placeholder: filled by its issue)."""

from __future__ import annotations

from localdapr.api.grpc.base import ServicerBase


class PubSubApi(ServicerBase):
    """Implemented pubsub RPCs; anything not defined here falls through to UNIMPLEMENTED."""
