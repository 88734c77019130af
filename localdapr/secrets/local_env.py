"""``secretstores.local.env``: environment variables, optionally behind a ``prefix``."""

from __future__ import annotations

import os
from typing import Any

from localdapr.components.model import ComponentSpec


def _denied(name: str) -> bool:
    return name.startswith("DAPR_") or name == "APP_API_TOKEN"


class LocalEnvSecretStore:
    def __init__(self, spec: ComponentSpec) -> None:
        self.spec = spec
        self.prefix = spec.meta("prefix")

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: Any) -> "LocalEnvSecretStore":
        return cls(spec)

    async def get(self, name: str) -> dict[str, str]:
        """Unset variables read as empty, never an error (spec A3.4)."""
        var = self.prefix + name
        return {name: "" if _denied(var) else os.environ.get(var, "")}

    async def bulk(self) -> dict[str, dict[str, str]]:
        out = {}
        for var, value in os.environ.items():
            if var.startswith(self.prefix) and not _denied(var):
                name = var[len(self.prefix):]
                out[name] = {name: value}
        return out
