"""Store-level error kinds (components-contrib's state errors); the API layer maps them to codes."""

from redis.exceptions import RedisError


class StoreError(Exception):
    """Any other store failure (HTTP 500 / gRPC Internal)."""


class ETagMismatch(StoreError):
    """HTTP 409 / gRPC Aborted."""


class ETagInvalid(StoreError):
    """HTTP 400 / gRPC InvalidArgument."""


# What the workflow engine can raise when its actor state store fails: the store's own errors,
# and redis-py's from the pipelines and reminder writes it sends to the store's client directly.
STORE_FAILURES: tuple[type[Exception], ...] = (StoreError, RedisError)
