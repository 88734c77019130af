"""The trace context daprd stamps on a published CloudEvent (``traceid``/``traceparent``/``tracestate``).

daprd with no tracing configuration starts no spans of its own: the event carries the caller's
W3C ``traceparent`` unchanged (same span id), or ``""`` when the caller sent none. Where it
reads it from, checked against daprd 1.18:

* gRPC: ``grpc-trace-bin`` (binary) first, else ``traceparent``. A ``tracestate`` header is
  parsed but dropped (daprd discards the result of ``WithTraceState``), so it is always ``""``.
* HTTP: ``traceparent`` and ``tracestate`` headers; the tracestate is re-serialised by OpenTelemetry
  (an invalid one becomes ``""``).

An invalid traceparent counts as none.
"""

from __future__ import annotations

import re
from typing import Iterable, Mapping

_HEX = re.compile(r"^[0-9a-f]*$")


def parse_traceparent(header: str) -> str:
    """``SpanContextFromW3CString`` + ``SpanContextToW3CString``: normalised or ``""``."""
    sections = header.split("-")
    if len(sections) < 4 or len(sections[0]) != 2:
        return ""
    try:
        version = int(sections[0], 16)
        flags = bytes.fromhex(sections[3])
    except ValueError:
        return ""
    if version > 254 or (version == 0 and len(sections) != 4) or not flags:
        return ""
    trace_id, span_id = sections[1], sections[2]
    if len(trace_id) != 32 or len(span_id) != 16 or not _HEX.match(trace_id) or not _HEX.match(span_id):
        return ""
    if int(trace_id, 16) == 0 or int(span_id, 16) == 0:
        return ""
    return f"00-{trace_id}-{span_id}-{flags[0]:02x}"


def _from_binary(blob: bytes) -> str:
    """OpenCensus binary format (``grpc-trace-bin``): version 0, fields 0 (trace id),
    1 (span id), 2 (options)."""
    if len(blob) < 29 or blob[0] != 0 or blob[1] != 0 or blob[18] != 1:
        return ""
    trace_id, span_id = blob[2:18].hex(), blob[19:27].hex()
    flags = blob[28] if len(blob) >= 29 and blob[27] == 2 else 0
    return parse_traceparent(f"00-{trace_id}-{span_id}-{flags:02x}")


_KEY_REST = re.compile(r"^[a-z0-9_\-*/]*$")


def _key_ok(key: str) -> bool:
    tenant, at, system = key.partition("@")
    if not at:
        return bool(key) and "a" <= key[0] <= "z" and len(key) <= 256 and bool(_KEY_REST.match(key[1:]))
    tenant_ok = bool(tenant) and (tenant[0].isascii() and (tenant[0].isdigit() or "a" <= tenant[0] <= "z")) and len(tenant) <= 241 and bool(_KEY_REST.match(tenant[1:]))
    system_ok = bool(system) and "a" <= system[0] <= "z" and len(system) <= 14 and bool(_KEY_REST.match(system[1:]))
    return tenant_ok and system_ok


def _value_ok(value: str) -> bool:
    if not 0 < len(value) <= 256:
        return False
    ok = all(0x20 <= ord(c) <= 0x7E and c not in ",=" for c in value)
    return ok and value[-1] != " "


def parse_tracestate(header: str) -> str:
    """OpenTelemetry's ``ParseTraceState(h).String()``; ``""`` when any member is invalid."""
    members: list[str] = []
    seen: set[str] = set()
    for part in header.split(","):
        if not part:
            continue
        key, eq, value = part.partition("=")
        key, value = key.lstrip(" \t"), value.rstrip(" \t")
        if not eq or not _key_ok(key) or not _value_ok(value) or key in seen:
            return ""
        seen.add(key)
        members.append(f"{key}={value}")
        if len(members) > 32:
            return ""
    return ",".join(members)


def from_grpc_metadata(metadata: Iterable[tuple[str, str | bytes]] | None) -> tuple[str, str]:
    """(traceid, tracestate) for a gRPC publish."""
    md: dict[str, str | bytes] = {}
    for key, value in metadata or ():
        md.setdefault(key.lower(), value)
    binary = md.get("grpc-trace-bin")
    if binary is not None:
        return (_from_binary(binary if isinstance(binary, bytes) else binary.encode("latin-1")), "")
    parent = md.get("traceparent")
    if isinstance(parent, str):
        return (parse_traceparent(parent), "")
    return ("", "")


def from_http_headers(headers: Mapping[str, str]) -> tuple[str, str]:
    """(traceid, tracestate) for an HTTP publish."""
    parent = parse_traceparent(headers.get("traceparent", ""))
    if not parent:
        return ("", "")
    return (parent, parse_tracestate(headers.get("tracestate", "")))
