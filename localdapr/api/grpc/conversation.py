"""gRPC ``Dapr`` RPCs of the conversation building block (placeholder: filled by its issue)."""

from __future__ import annotations

from localdapr.api.grpc.base import ServicerBase


class ConversationApi(ServicerBase):
    """Implemented conversation RPCs; anything not defined here falls through to UNIMPLEMENTED."""
