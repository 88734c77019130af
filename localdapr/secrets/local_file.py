"""``secretstores.local.file``: a JSON file, nested objects flattened with ``nestedSeparator``."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from localdapr.components.model import ComponentSpec
from localdapr.errors import ComponentError
from localdapr.redisconn import is_truthy


class SecretNotFound(KeyError):
    pass


def _flatten(value: Any, prefix: str, sep: str, out: dict[str, str]) -> None:
    if isinstance(value, dict):
        for key, child in value.items():
            _flatten(child, f"{prefix}{sep}{key}" if prefix else str(key), sep, out)
    elif isinstance(value, list):
        for i, child in enumerate(value):
            _flatten(child, f"{prefix}{sep}{i}" if prefix else str(i), sep, out)
    else:
        out[prefix] = value if isinstance(value, str) else json.dumps(value)


class LocalFileSecretStore:
    def __init__(self, spec: ComponentSpec, secrets: dict[str, str], multi_valued: bool, raw: dict[str, Any]) -> None:
        self.spec = spec
        self.secrets = secrets
        self.multi_valued = multi_valued
        self.raw = raw
        self.separator = spec.meta("nestedSeparator", ":") or ":"

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: Any) -> "LocalFileSecretStore":
        path_text = spec.meta("secretsFile")
        if not path_text:
            raise ComponentError("missing local secrets file in metadata", "set metadata secretsFile")
        path = Path(path_text)  # relative to the sidecar's working directory, as daprd
        try:
            raw = json.loads(path.read_text())
        except FileNotFoundError:
            raise ComponentError(
                f"open {path}: no such file or directory", "a relative secretsFile is resolved from the sidecar's working directory"
            ) from None
        except ValueError as exc:
            raise ComponentError(f"secretsFile {path} is not valid JSON: {exc}") from exc
        if not isinstance(raw, dict):
            raise ComponentError(f"secretsFile {path} must hold a JSON object")
        flat: dict[str, str] = {}
        _flatten(raw, "", spec.meta("nestedSeparator", ":") or ":", flat)
        return cls(spec, flat, is_truthy(spec.meta("multiValued", "false")), raw)

    def capabilities(self) -> list[str]:
        return ["MULTIPLE_KEY_VALUES_PER_SECRET"] if self.multi_valued else []

    async def get(self, name: str) -> dict[str, str]:
        if self.multi_valued:
            value = self.raw.get(name)
            if value is None:
                raise SecretNotFound(f"secret {name} not found")
            flat: dict[str, str] = {}
            _flatten(value, "", self.separator, flat) if isinstance(value, dict) else flat.update({name: str(value)})
            return flat
        if name not in self.secrets:
            raise SecretNotFound(f"secret {name} not found")
        return {name: self.secrets[name]}

    async def bulk(self) -> dict[str, dict[str, str]]:
        if self.multi_valued:
            return {name: await self.get(name) for name in self.raw}
        return {name: {name: value} for name, value in self.secrets.items()}
