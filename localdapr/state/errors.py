"""Store-level error kinds (components-contrib's state errors); the API layer maps them to codes."""


class StoreError(Exception):
    """Any other store failure (HTTP 500 / gRPC Internal)."""


class ETagMismatch(StoreError):
    """HTTP 409 / gRPC Aborted."""


class ETagInvalid(StoreError):
    """HTTP 400 / gRPC InvalidArgument."""
