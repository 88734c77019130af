"""Read what the sidecar wrote to Redis: keys, hash fields, decoded values, workflow histories.

Returns :class:`cookbook.display.Table` objects so a notebook shows the state as an HTML table
in natural key order (``order-2`` before ``order-10``), with one sentence per key family when
the notebook passes ``explain`` (a list of ``(regex, sentence)``; the first match wins).
"""

from __future__ import annotations

import json
import re
from typing import Any, Sequence

import redis

from cookbook.display import Table, natural_key

KeyFamilies = Sequence[tuple[str, str]]


def decode_json(data: bytes) -> Any:
    try:
        return json.loads(data)
    except ValueError:
        return data.decode(errors="replace")


def _text(value: bytes, binary_hint: str = "protobuf") -> str:
    """Bytes as text when they are text; a size and a hint when they are binary (history rows)."""
    try:
        text = value.decode()
    except UnicodeDecodeError:
        return f"<{len(value)} bytes {binary_hint}>"
    return text if text.isprintable() else f"<{len(value)} bytes {binary_hint}>"


def snapshot(client: redis.Redis, pattern: str = "*") -> dict[str, dict[str, Any]]:
    """Every key matching ``pattern``: its type, TTL and fields (hash) or value (string), decoded."""
    keys = sorted((k.decode(errors="replace") for k in client.scan_iter(match=pattern, count=1000)), key=natural_key)
    state: dict[str, dict[str, Any]] = {}
    for key in keys:
        kind = client.type(key).decode()
        entry: dict[str, Any] = {"type": kind, "ttl": client.ttl(key)}
        if kind == "hash":
            entry.update({f.decode(): _text(v) for f, v in client.hgetall(key).items()})
        elif kind == "string":
            entry["value"] = _text(client.get(key) or b"")
        elif kind == "stream":
            entry["value"] = f"{client.xlen(key)} entries"
        state[key] = entry
    return state


def family_of(key: str, explain: KeyFamilies) -> str:
    return next((sentence for pattern, sentence in explain if re.search(pattern, key)), "")


def key_table(client: redis.Redis, pattern: str = "*", *, explain: KeyFamilies = (), title: str = "",
              fields: Sequence[str] = ("data", "version", "first-write", "value")) -> Table:
    """One row per key: key, type, TTL (blank when none), the given fields, and what it is."""
    rows = []
    for key, entry in snapshot(client, pattern).items():
        row: dict[str, Any] = {"redis key": key, "type": entry["type"], "ttl s": entry["ttl"] if entry["ttl"] >= 0 else ""}
        row.update({f: entry.get(f, "") for f in fields})
        if explain:
            row["what it is"] = family_of(key, explain)
        rows.append(row)
    columns = ["redis key", "type", "ttl s", *[f for f in fields if any(r[f] != "" for r in rows)]]
    return Table(rows, columns + (["what it is"] if explain else []), title=title or f"Redis keys matching {pattern}")


def changes_table(before: dict[str, dict[str, Any]], after: dict[str, dict[str, Any]], field: str = "data",
                  title: str = "before → after") -> Table:
    """Keys side by side before and after an event; changed cells highlighted."""
    rows = []
    for key in sorted(set(before) | set(after), key=natural_key):
        old, new = before.get(key, {}), after.get(key, {})
        same = old.get(field) == new.get(field) and old.get("version") == new.get("version")
        rows.append({
            "redis key": key,
            f"{field} before": old.get(field, "(missing)"), "version before": old.get("version", ""),
            f"{field} after": new.get(field, "(missing)"), "version after": new.get("version", ""),
            "changed": "" if same else "yes",
        })
    return Table(rows, title=title, highlight=["changed"])


def workflow_history_rows(client: redis.Redis, app_id: str, instance_id: str, namespace: str = "default") -> list[dict[str, Any]]:
    """Every stored history event of one workflow instance, decoded from daprd's protobuf rows.

    ``taskCompleted`` / ``taskFailed`` / ``childWorkflowInstanceCompleted`` rows only carry the
    id of the event that scheduled them; the name of that task is looked up so each row says
    which step it finished.
    """
    from dapr.ext.workflow._durabletask.internal import history_events_pb2  # noqa: PLC0415 - heavy, only here

    prefix = f"{app_id}||dapr.internal.{namespace}.{app_id}.workflow||{instance_id}||history-"
    keys = sorted((k.decode() for k in client.scan_iter(match=prefix + "*", count=1000)), key=natural_key)
    events = [history_events_pb2.HistoryEvent.FromString(client.hget(k, "data")) for k in keys]
    names = {}
    for ev in events:
        kind = ev.WhichOneof("eventType")
        if kind in ("taskScheduled", "childWorkflowInstanceCreated", "timerCreated"):
            names[ev.eventId] = getattr(getattr(ev, kind), "name", "") or kind
    t0 = events[0].timestamp.ToDatetime() if events else None
    rows = []
    for key, ev in zip(keys, events):
        kind = ev.WhichOneof("eventType")
        detail = getattr(ev, kind)
        name = getattr(detail, "name", "") or ""
        ref = getattr(detail, "taskScheduledId", None)
        if kind in ("taskCompleted", "taskFailed", "childWorkflowInstanceCompleted", "childWorkflowInstanceFailed"):
            name = f"{names.get(ref, '?')} (eventId {ref})"
        elif kind == "timerFired":
            name = f"timer {detail.timerId}"
        elif kind == "executionCompleted":
            status = type(detail).DESCRIPTOR.fields_by_name["workflowStatus"].enum_type
            name = status.values_by_number[detail.workflowStatus].name
        rows.append({
            "row": key.rsplit("||", 1)[1],
            "eventId": ev.eventId if ev.eventId >= 0 else "",
            "event": kind,
            "task / detail": name,
            "t+ s": round((ev.timestamp.ToDatetime() - t0).total_seconds(), 2) if t0 else "",
        })
    return rows


def workflow_history(client: redis.Redis, app_id: str, instance_id: str, namespace: str = "default") -> Table:
    rows = workflow_history_rows(client, app_id, instance_id, namespace)
    return Table(rows, title=f"workflow history of {instance_id} ({len(rows)} events)")
