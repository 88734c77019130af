"""The stand-in for a component type daprd has and the local sidecar does not implement.

Why load it at all: a resources folder that starts daprd must start the local sidecar too (the
cookbook's notebooks and the dapr-agents quickstarts share folders with components the local
sidecar never calls, e.g. ``state.in-memory`` or ``bindings.cron``). So the component loads
without connecting anywhere, says so in one log line at start, is listed in the metadata as
daprd lists it, and every API call that names it answers UNIMPLEMENTED (gRPC) / 501 (HTTP)
"localdapr does not implement <type> (component <name>)": never silently, never a fake answer.
"""

from __future__ import annotations

import logging
from typing import Any

import grpc

from localdapr.components import registry
from localdapr.components.model import ComponentSpec
from localdapr.errors import DaprError

log = logging.getLogger("localdapr.runtime.processor")


class Unimplemented:
    """A loaded component whose building block the local sidecar does not run."""

    implemented = False

    def __init__(self, spec: ComponentSpec) -> None:
        self.spec = spec
        self.name = spec.name

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: Any) -> "Unimplemented":
        where = f" in {spec.source}" if spec.source else ""
        log.warning(
            "localdapr does not implement %s (component %s%s): it is listed but not initialised, and its API answers "
            "UNIMPLEMENTED (gRPC) / 501 (HTTP); run daprd for it",
            spec.type_and_version(), spec.name, where,
        )
        return cls(spec)

    def capabilities(self) -> list[str]:
        """Bindings' capabilities follow from the registry (daprd's runtime.go); other building
        blocks' come from the component's own features, which we cannot know without it."""
        if self.spec.category != "bindings":
            return []
        inp, out = registry.binding_directions(self.spec.type)
        return (["INPUT_BINDING"] if inp else []) + (["OUTPUT_BINDING"] if out else [])

    def error(self) -> DaprError:
        return not_implemented(self.spec)


def not_implemented(spec: ComponentSpec) -> DaprError:
    """The answer of every API call that names an unimplemented component."""
    return DaprError(
        grpc.StatusCode.UNIMPLEMENTED,
        501,
        "ERR_NOT_SUPPORTED_BY_LOCAL_SIDECAR",
        f"localdapr does not implement {spec.type_and_version()} (component {spec.name}); run daprd for it",
    )
