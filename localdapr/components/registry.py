"""Which Python class implements which component type, and daprd's registry for the rest.

Three outcomes for a Component's ``type``/``version`` (daprd 1.18's rules, ``pkg/components/*/
registry.go``):

* the local sidecar implements it: the class in :data:`FACTORIES` (imported lazily, so the
  sidecar imports only the building blocks a resources folder uses: start-up time matters);
* daprd registers it but the local sidecar does not implement it: :class:`~localdapr.components.
  unimplemented.Unimplemented`, which loads without connecting anywhere, logs one line, and makes
  its API answer UNIMPLEMENTED / 501 naming the component (a folder daprd accepts must start);
* daprd does not register it (or not in that version): None, and the load fails with daprd's
  message for that building block (:func:`unknown_type_message`).

daprd's type list is ``catalog.py``, generated from dapr's source by
``scripts/gen_component_catalog.py``.
"""

from __future__ import annotations

import importlib
from typing import Any

from localdapr.components import catalog

FACTORIES: dict[str, str] = {
    "state.redis": "localdapr.state.redis_store:RedisStateStore",
    "secretstores.local.file": "localdapr.secrets.local_file:LocalFileSecretStore",
    "secretstores.local.env": "localdapr.secrets.local_env:LocalEnvSecretStore",
    "pubsub.redis": "localdapr.pubsub.redis_streams:RedisStreamsPubSub",
    "conversation.echo": "localdapr.conversation.echo:EchoConversation",
    "configuration.redis": "localdapr.configuration.redis_store:RedisConfigurationStore",
    "lock.redis": "localdapr.lock.redis_lock:RedisLockStore",
}

# daprd's wording for a type its registry does not have, per building block (spec A2.8).
_UNKNOWN = {
    "state": "couldn't find state store {type}/{version}",
    "pubsub": "couldn't find message bus {type}/{version}",
    "secretstores": "couldn't find secret store {type}/{version}",
    "conversation": "couldn't find conversation {type}/{version}",
    "configuration": "couldn't find configuration store {type}/{version}",
    "lock": "couldn't find lock store {type}/{version}",
    "crypto": "couldn't find crypto provider {type}/{version}",
}
INITIAL_VERSIONS = ("", "v0", "v1")  # components.IsInitialVersion


def daprd_knows(component_type: str, version: str) -> bool:
    """daprd's registry lookup: the exact ``type/version``, the type's default version when none
    is given, and an unversioned registration for "", v0 or v1 (case-insensitive)."""
    entry = catalog.TYPES.get(component_type.lower())
    if entry is None:
        return False
    default, versions = entry
    version = version.lower() or default
    return version in versions or (version in INITIAL_VERSIONS and "" in versions)


def resolve(component_type: str, version: str) -> Any | None:
    """The implementing class, the Unimplemented stand-in, or None when daprd would not find it."""
    if not daprd_knows(component_type, version):
        return None
    target = FACTORIES.get(component_type.lower())
    if target is None or version.lower() not in INITIAL_VERSIONS:
        from localdapr.components.unimplemented import Unimplemented

        return Unimplemented
    module_name, _, attr = target.partition(":")
    return getattr(importlib.import_module(module_name), attr)


def unknown_type_message(component_type: str, version: str) -> str:
    category = component_type.split(".", 1)[0]
    template = _UNKNOWN.get(category, "couldn't find component {type}/{version}")
    return template.format(type=component_type, version=version)


def versions_of(component_type: str) -> list[str]:
    """The versions daprd accepts for a type it registers ("v1" for an unversioned one)."""
    entry = catalog.TYPES.get(component_type.lower())
    if entry is None:
        return []
    return sorted({v or "v1" for v in entry[1]})


def unknown_hint(component_type: str) -> str:
    """Added after daprd's "couldn't find ...": whether the type or only the version is wrong."""
    known = versions_of(component_type)
    if known:
        return f"daprd {catalog.DAPRD_VERSION} has {component_type.lower()} in version(s) {', '.join(known)}"
    return f"daprd {catalog.DAPRD_VERSION} has no component type {component_type}; the local sidecar implements " + ", ".join(sorted(FACTORIES))


def binding_directions(component_type: str) -> tuple[bool, bool]:
    """(input, output) for a binding type daprd registers."""
    return catalog.BINDINGS.get(component_type.lower(), (False, False))
