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
import os
from typing import Any

import grpc

from localdapr.components import registry
from localdapr.components.model import ComponentSpec
from localdapr.errors import ComponentError, DaprError

log = logging.getLogger("localdapr.runtime.processor")

_OPENAI_KEY = ("key", "OPENAI_API_KEY", "missing the OpenAI API key, set it in the OPENAI_API_KEY environment variable")
# Metadata a daprd-only component cannot start without: (field, environment variable that can
# stand in for it, daprd's Init error). Each one seen on daprd 1.18.2 with the field left out.
# Only these: components-contrib's metadata.yaml "required" flags are not what Init checks
# (bindings.http starts without its "required" url, bindings.localstorage without fileName), and
# refusing a folder daprd accepts would be worse than starting one daprd refuses.
REQUIRED: dict[str, tuple[tuple[str, str, str], ...]] = {
    "bindings.cron": (("schedule", "", "schedule not set"),),
    "bindings.localstorage": (("rootPath", "", "failed to parse metadata: property rootPath must not be empty"),),
    "crypto.dapr.localstorage": (("path", "", "failed to load metadata: metadata property 'path' is required"),),
    "state.sqlite": (("connectionString", "", "missing connection string"),),
    "conversation.openai": (_OPENAI_KEY,),
    "conversation.googleai": (_OPENAI_KEY,),
    "conversation.huggingface": (_OPENAI_KEY,),
    "conversation.deepseek": (_OPENAI_KEY,),
    "conversation.anthropic": (("key", "ANTHROPIC_API_KEY",
                                "anthropic: failed to create client: missing the Anthropic API key, set it in the ANTHROPIC_API_KEY environment variable"),),
    "conversation.mistral": (("key", "MISTRAL_API_KEY", "mistral api key is required"),),
}


def check_metadata(spec: ComponentSpec) -> None:
    """Refuse, with daprd's own error, a daprd-only component daprd would not start (cheap checks)."""
    for field, env, message in REQUIRED.get(spec.type.lower(), ()):
        if not spec.meta_ci(field) and not (env and os.environ.get(env)):
            raise ComponentError(message, f"metadata {field} is missing")


class Unimplemented:
    """A loaded component whose building block the local sidecar does not run."""

    implemented = False

    def __init__(self, spec: ComponentSpec) -> None:
        self.spec = spec
        self.name = spec.name

    @classmethod
    async def create(cls, spec: ComponentSpec, runtime: Any) -> "Unimplemented":
        check_metadata(spec)
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
