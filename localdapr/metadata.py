"""The sidecar's self-description, ``/v1.0/metadata`` and gRPC GetMetadata (spec E3).

Built once as daprd's JSON shape; the gRPC layer converts. Services that are not components
(workflow engine, subscriptions) add their part through ``metadata_section()``.
"""

from __future__ import annotations

from typing import Any

from localdapr import RUNTIME_VERSION, SIDECAR_NAME
from localdapr.runtime import Runtime


def go_duration(seconds: float) -> str:
    """Go's ``time.Duration.String()`` for the whole milliseconds the probe flags allow."""
    ms = round(seconds * 1000)
    if ms == 0:
        return "0s"
    if ms < 1000:
        return f"{ms}ms"
    hours, rest = divmod(ms, 3_600_000)
    minutes, rest = divmod(rest, 60_000)
    secs = f"{rest / 1000:.3f}".rstrip("0").rstrip(".") + "s"
    if hours:
        return f"{hours}h{minutes}m{secs}"
    return f"{minutes}m{secs}" if minutes else secs


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
    if opts.app_max_concurrency > 0:
        app_conn["maxConcurrency"] = opts.app_max_concurrency
    if opts.enable_app_health_check:
        app_conn["health"] = {
            **({"healthCheckPath": opts.app_health_check_path} if opts.app_protocol in ("http", "https", "h2c") else {}),
            "healthProbeInterval": go_duration(opts.app_health_probe_interval),
            "healthProbeTimeout": go_duration(opts.app_health_probe_timeout),
            "healthThreshold": opts.app_health_threshold,
        }
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
            part = dict(section())
            if "actors" in part and "actors" in doc:  # the app's types and the workflow engine's
                part["actors"] = doc["actors"] + part["actors"]
            doc.update(part)
    actors = runtime.services.get("actors")
    if actors is not None and opts.actors_enabled and actors.table:
        counts: dict[str, int] = {}
        for actor_type, _ in actors.table:
            counts[actor_type] = counts.get(actor_type, 0) + 1
        actor_runtime["activeActors"] = [{"type": t, "count": n} for t, n in counts.items()]
    return doc
