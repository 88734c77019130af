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


# Every key family a DurableAgent deployment writes to Redis (dapr-agents 1.0.9 on Dapr 1.18),
# as (regex on the Redis key, family, who writes it and when, when it goes away). The first match
# wins, so the narrow patterns come first. Notebook 10 shows them and asserts the set is complete.
AGENT_KEY_FAMILIES: list[tuple[str, str, str, str]] = [
    (r"\|\|dapr\.internal\.[^|]+\.workflow\|\|[^|]+\|\|history-\d{6}$", "workflow history row",
     "the sidecar, one protobuf HistoryEvent per row, appended at each turn of the workflow",
     "purge of the instance (one transaction with the other rows)"),
    (r"\|\|dapr\.internal\.[^|]+\.workflow\|\|[^|]+\|\|inbox-\d{6}$", "workflow inbox row",
     "the sidecar, for an event (activity result, timer, start) not yet processed by a turn",
     "the next turn consumes it; purge"),
    (r"\|\|dapr\.internal\.[^|]+\.workflow\|\|[^|]+\|\|metadata$", "workflow metadata",
     "the sidecar, with every turn: inbox and history lengths, generation", "purge"),
    (r"\|\|dapr\.internal\.[^|]+\.workflow\|\|[^|]+\|\|customStatus$", "workflow custom status",
     "the sidecar, whenever the history changes (dapr-agents sets it, e.g. max_iterations_reached)", "purge"),
    (r"^localdapr\|\|[^|]+\|\|reminders", "pending steps (local sidecar only)",
     "the local sidecar, in the same MULTI as the turn that schedules a step; daprd keeps these as "
     "Scheduler jobs in etcd, never in Redis", "when the step has run; purge"),
    (r"^localdapr\|\|directory\|\|", "placement stand-in (local sidecar only)",
     "the local sidecar while a workflow worker is connected (5 s TTL, refreshed)", "expires when the sidecar stops"),
    (r":_workflow_[^|]+$", "agent per-run entry",
     "dapr-agents' activities: created by the first, saved again by every LLM and tool step (the whole conversation)",
     "agent.purge(id) or the /agent/instances/<id>/purge route; never by a workflow purge alone"),
    (r":_memory_[^|]+$", "agent conversation memory",
     "ConversationDaprStateMemory at the end of a run (the summary), one JSON list per instance",
     "agent.purge(id); or the memory store's ttlInSeconds"),
    (r"(?!)", "pub/sub topic (stream)",
     "the sidecar: a Redis stream per topic (XADD on publish); each subscribing app id is a consumer "
     "group on it, created when the app subscribes (dapr-agents' runner.subscribe/serve)",
     "never: trim it with maxLenApprox on the component, or delete the topic"),
    (r"^agents:[^:]+:_index$", "registry index", "each agent at start (etag retry loop)", "never: names are removed on graceful shutdown"),
    (r"^agents:[^:]+:[^:]+$", "registry entry", "each agent at start", "graceful shutdown (runner.shutdown); a killed agent leaves it"),
]


def family_for(key: str, families: Sequence[tuple[str, ...]] = AGENT_KEY_FAMILIES, entry_prefixes: Sequence[str] = ()) -> tuple[str, ...]:
    """The family row of a key (the empty tuple when none matches). ``entry_prefixes``: lower-cased
    ``state_key_prefix`` values of agents that changed theirs (their entries hold no ``_workflow_``)."""
    if any(re.search(rf"(^|\|\|)[^|]*{re.escape(p.lower())}_[^|]+$", key) for p in entry_prefixes):
        return next(f for f in families if f[1] == "agent per-run entry")
    return next((f for f in families if re.search(f[0], key)), ())


def key_map(client: redis.Redis, keys: Sequence[str], *, entry_prefixes: Sequence[str] = (),
            families: Sequence[tuple[str, ...]] = AGENT_KEY_FAMILIES, title: str = "key families") -> Table:
    """One row per family: how many keys, their bytes in Redis (``MEMORY USAGE``), an example, the
    TTL, who writes it and when it goes away. Keys of no known family get a row of their own."""
    groups: dict[str, list[str]] = {}
    for key in sorted(keys, key=natural_key):
        row = family_for(key, families, entry_prefixes)
        if not row and client.type(key) == b"stream":
            row = next(f for f in families if f[1] == "pub/sub topic (stream)")
        groups.setdefault(row[1] if row else f"other: {client.type(key).decode()}", []).append(key)
    order = [f[1] for f in families]
    rows = []
    for name in sorted(groups, key=lambda n: order.index(n) if n in order else len(order)):
        members = groups[name]
        spec = next((f for f in families if f[1] == name), ("", name, "", ""))
        ttls = sorted({client.ttl(k) for k in members})
        rows.append({
            "family": name, "keys": len(members), "bytes": sum(client.memory_usage(k) or 0 for k in members),
            "example": members[0], "ttl s": ", ".join(str(t) for t in ttls if t >= 0),
            "written by / when": spec[2], "goes away": spec[3],
        })
    return Table(rows, title=title)
