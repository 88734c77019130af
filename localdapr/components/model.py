"""The in-memory form of a Dapr ``Component`` manifest (spec A1)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class ComponentSpec:
    """One loaded Component, metadata already resolved to strings (templating, secrets, env).

    ``source`` is the file it came from, so every error about it can name the file.
    """

    name: str
    type: str
    version: str = ""  # as written; daprd keeps "" (log name ``x (t)``, no version in the metadata)
    metadata: dict[str, str] = field(default_factory=dict)
    scopes: list[str] = field(default_factory=list)
    ignore_errors: bool = False
    init_timeout_seconds: float = 5.0
    auth_secret_store: str | None = None
    source: Path | None = None

    @property
    def category(self) -> str:
        """Building block: ``state``, ``pubsub``, ``secretstores``, ``conversation``, ..."""
        return self.type.split(".", 1)[0]

    def log_name(self) -> str:
        """``x (state.redis/v1)``: how daprd names a component in its logs and errors."""
        return f"{self.name} ({self.type}/{self.version})" if self.version else f"{self.name} ({self.type})"

    def type_and_version(self) -> str:
        """``state.in-memory/v1`` (``state.in-memory`` without a version)."""
        return f"{self.type}/{self.version}" if self.version else self.type

    def file_hint(self) -> str:
        """The file it came from; daprd does not say, the local sidecar adds it to its errors."""
        return f"component file {self.source}" if self.source else ""

    def meta(self, name: str, default: str = "") -> str:
        """Case-sensitive metadata lookup, as components-contrib decodes it (spec A1.4)."""
        return self.metadata.get(name, default)

    def meta_ci(self, name: str, default: str = "") -> str:
        """Case-insensitive lookup, for daprd-level keys (``keyPrefix``, ``actorStateStore``)."""
        lowered = name.lower()
        for key, value in self.metadata.items():
            if key.lower() == lowered:
                return value
        return default


@dataclass
class MetadataItem:
    """One ``spec.metadata`` entry before resolution: a literal, a secret reference or an env ref."""

    name: str
    value: str | None = None
    secret_name: str | None = None
    secret_key: str | None = None
    env_ref: str | None = None
