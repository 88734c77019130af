"""daprd's state key prefixing (spec B): ``app||key`` and friends, applied before the store."""

from __future__ import annotations

import os

import grpc

from localdapr.errors import DaprError

SEPARATOR = "||"
STRATEGIES = ("appid", "name", "namespace", "none")
ILLEGAL_KEY = "DAPR_STATE_ILLEGAL_KEY"


def validate_prefix_strategy(value: str) -> str:
    """Lower-cased strategy; a custom prefix containing '||' is invalid (fails component init).

    The caller passes "appid" when the component has no keyPrefix. A keyPrefix that is present
    but empty is an empty custom prefix (keys ``||key``), as daprd's SaveStateConfiguration.
    """
    strategy = value.lower()
    if SEPARATOR in strategy:
        raise ValueError(f"keyPrefix '{value}' can't contain '{SEPARATOR}'")
    return strategy


def illegal_key_error(key: str, store: str) -> DaprError:
    message = f"input key/keyPrefix '{key}' can't contain '{SEPARATOR}'"
    return DaprError(
        grpc.StatusCode.INVALID_ARGUMENT,
        400,
        "ERR_MALFORMED_REQUEST",
        message,
        reason=ILLEGAL_KEY,
        resource=("state", store),
        bad_request=(key, message),
    )


def store_key(key: str, *, strategy: str, app_id: str, store_name: str) -> str:
    """The key as written to Redis for user key ``key`` (spec B3). Raises on '||' (B4)."""
    if SEPARATOR in key:
        raise illegal_key_error(key, store_name)
    if strategy == "appid":
        prefix = app_id
    elif strategy == "name":
        prefix = store_name
    elif strategy == "namespace":
        namespace = os.environ.get("NAMESPACE", "")
        prefix = f"{namespace}.{app_id}" if namespace else app_id
    elif strategy == "none":
        return key
    else:
        prefix = strategy
    return f"{prefix}{SEPARATOR}{key}"


def original_key(stored: str) -> str:
    """Strip the prefix: second part of a split on '||' (max 3 parts), else as is (spec B5)."""
    parts = stored.split(SEPARATOR, 2)
    return parts[1] if len(parts) > 1 else stored


def actor_key(app_id: str, actor_type: str, actor_id: str, key: str) -> str:
    """Actor (and workflow) state ignores keyPrefix (spec B6)."""
    return SEPARATOR.join((app_id, actor_type, actor_id, key))
