"""Resiliency resources: the inbound retry policy of a pub/sub component (daprd 1.18's
``ComponentInboundPolicy``), which is what decides how often a message the app answers with
RETRY (or fails) is delivered again before it goes to the dead-letter topic.

daprd loads every ``kind: Resiliency`` document of the resources paths (``LoadLocalResiliency``),
keeps those whose ``scopes`` name the app (or have none), and for a component named in
``spec.targets.components.<name>.inbound.retry`` wraps each delivery in that retry policy
(``pkg/runtime/subscription/subscription.go``: ``policyRunner``). Without a policy a failed
delivery is tried once. Only retries are implemented here: timeouts and circuit breakers of
Resiliency resources are read by daprd and not by the local sidecar (localdapr/DIFFERENCES.md).
Defaults are dapr/kit ``retry.DefaultConfig``: constant 5 s, exponential from 500 ms times 1.5 up
to 60 s with randomisation 0.5, ``maxRetries`` -1 (unbounded).
"""

from __future__ import annotations

import logging
import random
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger("localdapr.runtime")

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_DURATION = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")


def go_duration(text: Any) -> float:
    """Seconds of a Go ``time.ParseDuration`` string (``500ms``, ``1m30s``); "0" is zero."""
    value = str(text).strip()
    if value in ("0", "+0", "-0"):
        return 0.0
    sign = -1.0 if value.startswith("-") else 1.0
    body = value.lstrip("+-")
    pos, total = 0, 0.0
    while pos < len(body):
        match = _GO_DURATION.match(body, pos)
        if match is None:
            raise ValueError(f'time: invalid duration "{value}"')
        total += float(match.group(1)) * _GO_UNITS[match.group(2)]
        pos = match.end()
    if not body:
        raise ValueError(f'time: invalid duration "{value}"')
    return sign * total


@dataclass(frozen=True)
class RetryPolicy:
    """One ``spec.policies.retries.<name>`` entry."""

    name: str
    policy: str = "constant"
    duration: float = 5.0
    initial_interval: float = 0.5
    multiplier: float = 1.5
    max_interval: float = 60.0
    randomization: float = 0.5
    max_retries: int = -1

    def delays(self) -> Any:
        """The waits before each retry (an endless iterator when ``max_retries`` < 0)."""
        attempt = 0
        interval = self.initial_interval
        while self.max_retries < 0 or attempt < self.max_retries:
            attempt += 1
            if self.policy == "exponential":
                delta = self.randomization * interval
                yield random.uniform(interval - delta, interval + delta)
                interval = min(interval * self.multiplier, self.max_interval)
            else:
                yield self.duration

    @classmethod
    def parse(cls, name: str, raw: dict[str, Any]) -> "RetryPolicy":
        policy = str(raw.get("policy") or "constant").lower()
        if policy not in ("constant", "exponential"):
            raise ValueError(f"invalid retry policy {policy!r} for {name!r}: must be constant or exponential")

        def seconds(key: str, default: float) -> float:
            return go_duration(raw[key]) if raw.get(key) not in (None, "") else default

        return cls(name, policy, duration=seconds("duration", 5.0), initial_interval=seconds("initialInterval", 0.5),
                   multiplier=float(raw.get("multiplier", 1.5)), max_interval=seconds("maxInterval", 60.0),
                   randomization=float(raw.get("randomizationFactor", 0.5)), max_retries=int(raw.get("maxRetries", -1)))


@dataclass
class Resiliency:
    """The inbound retry policy of each component, from every Resiliency resource in scope."""

    inbound_retries: dict[str, RetryPolicy]

    def inbound_retry(self, component: str) -> RetryPolicy | None:
        return self.inbound_retries.get(component)


def _documents(paths: list[Path]) -> list[tuple[Path, dict[str, Any]]]:
    """Every mapping document of the YAML files, quietly: the component loader has already
    reported files it could not read (and refused missing folders)."""
    docs: list[tuple[Path, dict[str, Any]]] = []
    for folder in paths:
        if not Path(folder).is_dir():
            continue
        for file in sorted(Path(folder).iterdir()):
            if not (file.is_file() and file.suffix.lower() in (".yaml", ".yml")):
                continue
            try:
                docs += [(file, doc) for doc in yaml.safe_load_all(file.read_text()) if isinstance(doc, dict)]
            except (yaml.YAMLError, OSError, UnicodeDecodeError):
                continue
    return docs


def load(paths: list[Path], app_id: str) -> Resiliency:
    """Read the Resiliency documents of the resources paths; a bad one is logged and skipped, as
    daprd logs ``Error loading resiliency configuration`` and starts without it."""
    inbound: dict[str, RetryPolicy] = {}
    for file, doc in _documents(paths):
        if doc.get("kind") != "Resiliency":
            continue
        scopes = doc.get("scopes") or []
        if scopes and app_id not in scopes:
            continue
        name = (doc.get("metadata") or {}).get("name", "")
        spec = doc.get("spec") or {}
        try:
            retries = {n: RetryPolicy.parse(n, raw or {}) for n, raw in ((spec.get("policies") or {}).get("retries") or {}).items()}
            for component, target in ((spec.get("targets") or {}).get("components") or {}).items():
                retry_name = ((target or {}).get("inbound") or {}).get("retry")
                if retry_name:
                    if retry_name not in retries:
                        raise ValueError(f"retry policy {retry_name!r} of component {component!r} is not defined")
                    inbound[component] = retries[retry_name]
        except (ValueError, TypeError, AttributeError) as exc:
            log.error("Error loading resiliency configuration %s from %s: %s", name, file, exc)
            continue
        log.info("Loading Resiliency configuration: %s", name)
    return Resiliency(inbound)
