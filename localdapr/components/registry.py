"""Which Python class implements which component type.

Kept as import strings so the sidecar imports only the building blocks a resources folder
actually uses (start-up time matters: the launcher waits on it in every notebook).
An unknown type fails the load with daprd's message (spec A2.8).
"""

from __future__ import annotations

import importlib
from typing import Any

FACTORIES: dict[str, str] = {
    "state.redis": "localdapr.state.redis_store:RedisStateStore",
    "secretstores.local.file": "localdapr.secrets.local_file:LocalFileSecretStore",
    "secretstores.local.env": "localdapr.secrets.local_env:LocalEnvSecretStore",
    "pubsub.redis": "localdapr.pubsub.redis_streams:RedisStreamsPubSub",
    "conversation.echo": "localdapr.conversation.echo:EchoConversation",
}

# daprd's wording for an unknown type, per building block (spec A2.8).
_UNKNOWN = {
    "state": "couldn't find state store {type}/{version}",
    "pubsub": "couldn't find message bus {type}/{version}",
    "secretstores": "couldn't find secret store {type}/{version}",
    "conversation": "couldn't find conversation {type}/{version}",
    "configuration": "couldn't find configuration store {type}/{version}",
    "lock": "couldn't find lock store {type}/{version}",
    "crypto": "couldn't find crypto provider {type}/{version}",
}


def resolve(component_type: str, version: str) -> Any | None:
    """The implementing class, or None when the type (or version: all are v1) is not supported."""
    target = FACTORIES.get(component_type.lower())
    if target is None or version.lower() not in ("", "v1"):
        return None
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def unknown_type_message(component_type: str, version: str) -> str:
    category = component_type.split(".", 1)[0]
    template = _UNKNOWN.get(category, "couldn't find component {type}/{version}")
    return template.format(type=component_type, version=version)


def supported_hint() -> str:
    """Added after daprd's "couldn't find ..." so a user knows whether daprd would have it."""
    return "the local sidecar implements only " + ", ".join(sorted(FACTORIES))
