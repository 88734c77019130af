"""daprd's Redis keys, computed: the honest version of the seed's invented ``StateKeyManager``.

The seed builds keys such as ``agents/{name}/{instance}/state`` and hands them to arguments that
do not exist. What really decides a key is two layers: the application (dapr-agents builds a
*logical* key such as ``keyagent:_workflow_<instance>``) and the sidecar (daprd prefixes it
according to the component's ``keyPrefix`` before the store sees it). This module computes both,
following daprd 1.18's own code so a notebook (and a test) can check them against Redis:

* state API keys: ``pkg/components/state/state_config.go`` (``GetModifiedStateKey``);
* actor and workflow keys: ``<app>||<actor type>||<actor id>||<key>``, keyPrefix ignored, with the
  workflow actor type ``dapr.internal.<namespace>.<app>.workflow`` (``default`` when ``NAMESPACE``
  is unset);
* dapr-agents 1.0.9's logical keys: ``agents/components.py`` (per-run entry, lower-cased),
  ``memory/daprstatestore.py`` (memory), ``agents/components.py`` (registry).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

SEPARATOR = "||"
STRATEGIES = ("appid", "name", "namespace", "none")


class IllegalKey(ValueError):
    """daprd refuses a key (or a keyPrefix) containing ``||``: this is its message."""


def _check(key: str) -> None:
    if SEPARATOR in key:
        raise IllegalKey(f"input key/keyPrefix '{key}' can't contain '{SEPARATOR}'")


def state_key(key: str, *, app_id: str, store: str, key_prefix: str = "appid", namespace: str = "") -> str:
    """The Redis key daprd writes for state API key ``key``.

    ``key_prefix`` is the component's ``keyPrefix`` (``appid`` when absent; matched without case,
    anything else is a custom prefix); ``namespace`` is the sidecar's ``NAMESPACE`` environment
    variable (self-hosted: usually unset, and then ``namespace`` falls back to the app id).
    """
    _check(key)
    strategy = key_prefix.lower()
    _check(strategy)
    if strategy == "none":
        return key
    if strategy == "name":
        return f"{store}{SEPARATOR}{key}"
    if strategy in ("appid", "namespace"):
        if not app_id:
            return key
        if strategy == "namespace" and namespace:
            return f"{namespace}.{app_id}{SEPARATOR}{key}"
        return f"{app_id}{SEPARATOR}{key}"
    return f"{strategy}{SEPARATOR}{key}"


def original_key(redis_key: str) -> str:
    """The state API key back from a Redis key (daprd's ``GetOriginalStateKey``)."""
    parts = redis_key.split(SEPARATOR, 2)
    return parts[1] if len(parts) > 1 else redis_key


def workflow_actor_type(app_id: str, namespace: str = "") -> str:
    return f"dapr.internal.{namespace or 'default'}.{app_id}.workflow"


def actor_key(app_id: str, actor_type: str, actor_id: str, key: str) -> str:
    """Actor state (the workflow history is actor state) ignores keyPrefix."""
    return SEPARATOR.join((app_id, actor_type, actor_id, key))


def workflow_keys(app_id: str, instance_id: str, *, history: int, inbox: int = 0, custom_status: bool = True,
                  namespace: str = "") -> list[str]:
    """Every Redis key of one workflow instance with ``history`` rows and ``inbox`` pending events."""
    def row(k: str) -> str:
        return actor_key(app_id, workflow_actor_type(app_id, namespace), instance_id, k)
    keys = [row("metadata")] + ([row("customStatus")] if custom_status else [])
    keys += [row(f"history-{i:06d}") for i in range(history)] + [row(f"inbox-{i:06d}") for i in range(inbox)]
    return keys


def _agent_name(name: str) -> str:
    return name.replace(" ", "-").lower()


def agent_entry_key(agent_name: str, instance_id: str, state_key_prefix: str | None = None, service_prefix: str = "") -> str:
    """dapr-agents' per-run entry (state API key): ``(<prefix>_<instance>).lower()``, the prefix
    ``<name>:_workflow`` unless ``AgentStateConfig(state_key_prefix=...)``; then
    ``StateStoreService(key_prefix=...)`` in front, not lower-cased."""
    prefix = state_key_prefix or f"{_agent_name(agent_name)}:_workflow"
    return service_prefix + f"{prefix}_{instance_id}".lower()


def agent_memory_key(agent_name: str, instance_id: str) -> str:
    """``ConversationDaprStateMemory``'s list of messages of one run (ignores every prefix knob)."""
    return f"{_agent_name(agent_name)}:_memory_{instance_id}".lower()


def registry_keys(team: str, agent_names: list[str], service_prefix: str = "") -> list[str]:
    return [f"{service_prefix}agents:{team}:_index"] + [f"{service_prefix}agents:{team}:{n}" for n in agent_names]


@dataclass(frozen=True)
class DecodedKey:
    family: str
    app_id: str = ""
    instance_id: str = ""
    detail: str = ""


_WORKFLOW = re.compile(r"^(?P<app>[^|]+)\|\|dapr\.internal\.(?P<ns>[^.]+)\.(?P=app)\.(?P<kind>workflow|activity|retentioner)"
                       r"\|\|(?P<iid>[^|]+)\|\|(?P<row>.+)$")


def decode(redis_key: str, entry_prefixes: tuple[str, ...] = ()) -> DecodedKey:
    """Which family a Redis key belongs to (dapr-agents + daprd + the local sidecar's own keys).

    A per-run entry is recognised by ``<name>:_workflow_`` or, for an agent configured with
    ``AgentStateConfig(state_key_prefix=...)``, by one of ``entry_prefixes`` (lower-cased, as
    dapr-agents writes them): nothing in the key itself says it is an entry."""
    m = _WORKFLOW.match(redis_key)
    if m:
        row = m["row"]
        family = re.sub(r"-\d{6}$", "", row)
        return DecodedKey(f"workflow {family}", m["app"], m["iid"], row)
    if redis_key.startswith("localdapr||"):
        return DecodedKey("local sidecar " + ("reminders" if "reminders" in redis_key else "directory"))
    logical = original_key(redis_key) if SEPARATOR in redis_key else redis_key
    app = redis_key.split(SEPARATOR, 1)[0] if SEPARATOR in redis_key else ""
    for prefix in entry_prefixes:
        if logical.startswith(prefix.lower() + "_"):
            return DecodedKey("agent per-run entry", app, logical[len(prefix) + 1:])
    if m := re.match(r"^[^|]*:_workflow_(?P<iid>.+)$", logical):
        return DecodedKey("agent per-run entry", app, m["iid"])
    if m := re.match(r"^(?P<agent>[^:]+):_memory_(?P<iid>.+)$", logical):
        return DecodedKey("agent memory", app, m["iid"])
    if re.match(r"^(.*)agents:[^:]+:_index$", logical):
        return DecodedKey("registry index", app)
    if re.match(r"^(.*)agents:[^:]+:[^:]+$", logical):
        return DecodedKey("registry entry", app)
    return DecodedKey("other", app, detail=logical)
