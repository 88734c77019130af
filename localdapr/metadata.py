"""The sidecar's self-description, ``/v1.0/metadata`` and gRPC GetMetadata (spec E3).

Built once as daprd's JSON shape; the gRPC layer converts. Services that are not components
(workflow engine, subscriptions) add their part through ``metadata_section()``.
"""

from __future__ import annotations

from typing import Any

from localdapr import RUNTIME_VERSION, SIDECAR_NAME
from localdapr.runtime import Runtime


def build(runtime: Runtime) -> dict[str, Any]:
    opts = runtime.options
    components = []
    for comp in runtime.components.values():
        entry: dict[str, Any] = {"name": comp.spec.name, "type": comp.spec.type}
        if comp.spec.version:  # daprd: `version,omitempty` (a manifest without one has none)
            entry["version"] = comp.spec.version
        caps = comp.capabilities()
        if caps:
            entry["capabilities"] = caps
        components.append(entry)
    app_conn: dict[str, Any] = {"protocol": opts.app_protocol, "channelAddress": opts.app_channel_address}
    if opts.app_port is not None:
        app_conn["port"] = opts.app_port
    if opts.actors_enabled:
        actor_runtime: dict[str, Any] = {"runtimeStatus": "RUNNING", "hostReady": True, "placement": "placement: connected (hosted locally by localdapr)"}
    else:
        actor_runtime = {"runtimeStatus": "DISABLED", "hostReady": False, "placement": "placement: disconnected"}
    doc: dict[str, Any] = {
        "id": runtime.app_id,
        "runtimeVersion": RUNTIME_VERSION,
        # daprd's JSON field is `components,omitempty`: no key at all when there are none.
        **({"components": components} if components else {}),
        "extended": {"daprRuntimeVersion": RUNTIME_VERSION, "localSidecar": SIDECAR_NAME, **runtime.extended_metadata},
        "appConnectionProperties": app_conn,
        "actorRuntime": actor_runtime,
    }
    for service in runtime.services.values():
        section = getattr(service, "metadata_section", None)
        if section is not None:
            doc.update(section())
    return doc
