"""The app's actor configuration: its answer to ``GET /dapr/config`` (daprd's ``config.ApplicationConfig``).

Only what the local sidecar acts on is read: the hosted types (``entities``), the idle timeout
and scan interval, reentrancy, and per-type overrides (``entitiesConfig``). Durations are Go
durations as daprd reads them; a value it cannot read keeps daprd's default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from localdapr.actors.durations import DurationError, parse_go_duration

DEFAULT_IDLE_SECONDS = 3600.0  # daprd: actorIdleTimeout 60m
DEFAULT_SCAN_SECONDS = 30.0  # daprd: actorScanInterval 30s


@dataclass
class TypeConfig:
    idle_seconds: float = DEFAULT_IDLE_SECONDS
    reentrant: bool = False


@dataclass
class AppActorConfig:
    types: dict[str, TypeConfig] = field(default_factory=dict)
    scan_seconds: float = DEFAULT_SCAN_SECONDS
    raw: dict[str, Any] = field(default_factory=dict)


def _duration(value: Any, default: float) -> float:
    if not isinstance(value, str) or not value:
        return default
    try:
        return parse_go_duration(value)
    except DurationError:
        return default


def _reentrant(value: Any, default: bool) -> bool:
    if isinstance(value, dict) and "enabled" in value:
        return bool(value.get("enabled"))
    return default


def parse(doc: Any) -> AppActorConfig:
    if not isinstance(doc, dict):
        return AppActorConfig()
    idle = _duration(doc.get("actorIdleTimeout"), DEFAULT_IDLE_SECONDS)
    reentrant = _reentrant(doc.get("reentrancy"), False)
    config = AppActorConfig(scan_seconds=_duration(doc.get("actorScanInterval"), DEFAULT_SCAN_SECONDS), raw=doc)
    for name in doc.get("entities") or []:
        if isinstance(name, str) and name:
            config.types[name] = TypeConfig(idle, reentrant)
    for entry in doc.get("entitiesConfig") or []:
        if not isinstance(entry, dict):
            continue
        for name in entry.get("entities") or []:
            if name in config.types:
                config.types[name] = TypeConfig(_duration(entry.get("actorIdleTimeout"), idle), _reentrant(entry.get("reentrancy"), reentrant))
    return config
