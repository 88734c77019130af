"""``--config``: the standalone Configuration file(s), loaded and validated as daprd does.

daprd (``config.LoadStandaloneConfiguration``): for each file in turn ``os.Stat``, read,
``os.ExpandEnv``, yaml.v3-decode on top of what the previous files set; then check the secret
scopes (no repeated ``storeName``, ``defaultAccess`` allow or deny). Any failure stops it with
``Fatal error from runtime: error loading configuration: <reason>`` (exit 1). The ``kind`` is
not checked (a Component file given as ``--config`` loads as an empty Configuration).

What the local sidecar does with it (:class:`Configuration`): secret scopes, the API
allow/deny lists and API logging are enforced; every other section daprd accepts is read,
validated and named in one "ignored" log line.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from localdapr.config import yamlgo
from localdapr.config.schema import CONFIGURATION

# Sections the local sidecar acts on; the rest of spec is accepted and ignored.
ENFORCED = ("secrets", "api", "logging")
# Features the local sidecar acts on; spec.features naming only these is not an ignored section.
ACTED_FEATURES = ("ActorStateTTL",)


class ConfigError(Exception):
    """daprd's reason, printed after ``error loading configuration: ``."""


@dataclass(frozen=True)
class SecretsScope:
    store_name: str
    default_access: str = ""
    allowed: tuple[str, ...] = ()
    denied: tuple[str, ...] = ()

    def is_allowed(self, key: str) -> bool:
        """``SecretsScope.IsSecretAllowed``: an allow list decides alone; else the deny list;
        else ``defaultAccess`` (allow unless ``deny``, any case)."""
        if self.allowed:
            return key in self.allowed
        if key in self.denied:
            return False
        return self.default_access.lower() != "deny"


@dataclass(frozen=True)
class ApiRule:
    name: str
    version: str
    protocol: str


@dataclass
class Configuration:
    files: list[Path] = field(default_factory=list)
    kinds: list[str] = field(default_factory=list)
    secret_scopes: dict[str, SecretsScope] = field(default_factory=dict)
    api_allowed: list[ApiRule] = field(default_factory=list)
    api_denied: list[ApiRule] = field(default_factory=list)
    api_logging: bool | None = None
    obfuscate_urls: bool = False
    omit_health_checks: bool = False
    sections: list[str] = field(default_factory=list)
    # spec.features with enabled: true (the actor runtime reads ActorStateTTL), and every name listed
    features: list[str] = field(default_factory=list)
    feature_names: list[str] = field(default_factory=list)

    @property
    def ignored_sections(self) -> list[str]:
        acted = bool(self.feature_names) and all(n in ACTED_FEATURES for n in self.feature_names)
        return [s for s in self.sections if s not in ENFORCED and not (s == "features" and acted)]

    def secret_allowed(self, store: str, key: str) -> bool:
        scope = self.secret_scopes.get(store)
        return scope.is_allowed(key) if scope is not None else True


def expand_env(text: str, env: dict[str, str] | None = None) -> str:
    """Go's ``os.ExpandEnv``: ``$NAME`` and ``${NAME}`` (unset: empty), special one-character
    names (``$1``, ``$$``...), bad syntax (``${}``, an unclosed ``${``) eaten, a ``$`` before
    anything else kept."""
    env = dict(os.environ) if env is None else env
    out: list[str] = []
    i = 0
    special = set("*#$@!?-0123456789")

    def alnum(c: str) -> bool:
        return c == "_" or c.isascii() and c.isalnum()

    while i < len(text):
        c = text[i]
        if c != "$" or i + 1 >= len(text):
            out.append(c)
            i += 1
            continue
        rest = text[i + 1 :]
        name, width = "", 0
        if rest[0] == "{":
            if len(rest) > 2 and rest[1] in special and rest[2] == "}":
                name, width = rest[1], 3
            else:
                close = rest.find("}", 1)
                if close == 1:
                    name, width = "", 2
                elif close > 1:
                    name, width = rest[1:close], close + 1
                else:
                    name, width = "", 1
        elif rest[0] in special:
            name, width = rest[0], 1
        else:
            while width < len(rest) and alnum(rest[width]):
                width += 1
            name = rest[:width]
        if name == "" and width > 0:
            pass  # invalid syntax: eaten
        elif name == "":
            out.append("$")
        else:
            out.append(env.get(name, ""))
        i += 1 + width
    return "".join(out)


def _merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """yaml.v3 decoding into an already-filled struct: structs and maps merge, lists and scalars
    are replaced."""
    merged = dict(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(merged.get(key), dict):
            merged[key] = _merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def _read(path: Path) -> dict[str, Any]:
    try:
        os.stat(path)
    except FileNotFoundError:
        raise ConfigError(f"stat {path}: no such file or directory") from None
    except OSError as exc:
        raise ConfigError(f"stat {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    if path.is_dir():
        raise ConfigError(f"read {path}: is a directory")
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"open {path}: {exc.strerror.lower() if exc.strerror else exc}") from None
    try:
        node = yamlgo.compose(expand_env(text))
    except yamlgo.YamlGoError as exc:
        raise ConfigError(str(exc)) from None
    errors: list[str] = []
    doc = yamlgo.decode(node, CONFIGURATION, errors)
    if errors:
        raise ConfigError("yaml: unmarshal errors:\n  " + "\n  ".join(errors))
    return doc or {}


def _rules(raw: list[dict[str, Any]] | None) -> list[ApiRule]:
    return [ApiRule(str(r.get("name") or ""), str(r.get("version") or ""), str(r.get("protocol") or "")) for r in raw or [] if r]


def load(paths: list[Path]) -> Configuration:
    """Load and validate every ``--config`` file in order; ConfigError with daprd's reason."""
    doc: dict[str, Any] = {}
    kinds: list[str] = []
    for path in paths:
        one = _read(Path(path))
        kinds.append(str(one.get("kind") or ""))
        doc = _merge(doc, one)
    spec = doc.get("spec") or {}
    config = Configuration(files=list(paths), kinds=kinds, sections=[k for k, v in spec.items() if v is not None])
    for scope in (spec.get("secrets") or {}).get("scopes") or []:
        scope = scope or {}
        name = str(scope.get("storeName") or "")
        if name in config.secret_scopes:
            raise ConfigError(f"{name} storeName is repeated in secrets configuration")
        access = str(scope.get("defaultAccess") or "")
        if access and access.lower() not in ("allow", "deny"):
            raise ConfigError(f"defaultAccess {access} can be either allow or deny")
        config.secret_scopes[name] = SecretsScope(
            name, access, tuple(sorted(scope.get("allowedSecrets") or [])), tuple(sorted(scope.get("deniedSecrets") or []))
        )
    listed = [f for f in spec.get("features") or [] if isinstance(f, dict)]
    config.feature_names = [str(f.get("name") or "") for f in listed]
    config.features = [str(f.get("name") or "") for f in listed if f.get("enabled")]
    api = spec.get("api") or {}
    config.api_allowed = _rules(api.get("allowed"))
    config.api_denied = _rules(api.get("denied"))
    api_logging = (spec.get("logging") or {}).get("apiLogging")
    if api_logging is not None:
        config.api_logging = bool(api_logging.get("enabled"))
        config.obfuscate_urls = bool(api_logging.get("obfuscateURLs"))
        config.omit_health_checks = bool(api_logging.get("omitHealthChecks"))
    return config
