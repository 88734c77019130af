"""Show what the sidecar wrote to Redis: keys, types, hash fields and decoded values."""

from __future__ import annotations

import json
from typing import Any

import redis


def _short(value: bytes, width: int = 48) -> str:
    text = value.decode(errors="replace")
    return text if len(text) <= width else text[: width - 1] + "…"


def redis_rows(client: redis.Redis, pattern: str = "*") -> list[dict[str, Any]]:
    rows = []
    for key in sorted(client.scan_iter(match=pattern, count=1000)):
        kind = client.type(key).decode()
        ttl = client.ttl(key)
        row: dict[str, Any] = {"key": key.decode(errors="replace"), "type": kind, "ttl": ttl}
        if kind == "hash":
            row["fields"] = {f.decode(): v for f, v in client.hgetall(key).items()}
        elif kind == "string":
            row["fields"] = {"(string)": client.get(key)}
        rows.append(row)
    return rows


def redis_table(client: redis.Redis, pattern: str = "*") -> str:
    """A plain-text table (works in any notebook front end and in papermill output)."""
    rows = redis_rows(client, pattern)
    lines = [f"{'redis key':<44} {'type':<6} {'ttl':>5}  fields"]
    for row in rows:
        fields = ", ".join(f"{name}={_short(value) if isinstance(value, bytes) else value}" for name, value in row.get("fields", {}).items())
        lines.append(f"{row['key']:<44} {row['type']:<6} {row['ttl']:>5}  {fields}")
    return "\n".join(lines)


def decode_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")


def workflow_history(client: redis.Redis, app_id: str, instance_id: str, namespace: str = "default") -> list[str]:
    """One line per stored workflow history event, decoded from daprd's protobuf rows."""
    from dapr.ext.workflow._durabletask.internal import history_events_pb2  # noqa: PLC0415 - heavy, only here

    prefix = f"{app_id}||dapr.internal.{namespace}.{app_id}.workflow||{instance_id}||history-"
    lines = []
    for key in sorted(client.scan_iter(match=prefix + "*", count=1000)):
        ev = history_events_pb2.HistoryEvent.FromString(client.hget(key, "data"))
        kind = ev.WhichOneof("eventType")
        detail = getattr(ev, kind)
        name = getattr(detail, "name", "") or ""
        lines.append(f"{key.decode().rsplit('||', 1)[1]}  eventId={ev.eventId:<3} {kind:<16} {name}")
    return lines
