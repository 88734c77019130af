"""Find dapr-agents keys whose workflow instance is gone, and remove them without racing a run.

Why it is needed: purging a workflow (``DaprWorkflowClient.purge_workflow``, or daprd's
``stateRetentionPolicy``) deletes the sidecar's rows only. The agent's per-run entry and its
memory are the application's keys, in other stores; they stay until ``agent.purge(id)`` (or the
``/agent/instances/<id>/purge`` route) deletes them, and that is two separate deletes after the
workflow purge, so a crash in between leaves the rest behind.

Why it is safe: a key is removed only if (1) its instance has no workflow, checked *after*
reading the key, and (2) the key still holds what was read: the delete carries the ETag, so a
run that wrote the key in between makes the delete fail and the key stays. Every delete goes
through the sidecar's state API, so the component's prefix and any other app's keys are left
alone. Removing is idempotent: a second scan after a crash finds what the first one left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Sequence

import redis

from cookbook.display import Table
from cookbook.keys import decode, original_key


@dataclass
class Orphan:
    redis_key: str
    family: str
    instance_id: str
    store: str
    state_key: str


def find_orphans(r: redis.Redis, app_id: str, *, stores: dict[str, str], workflow_exists: Callable[[str], bool],
                 entry_prefixes: Sequence[str] = ()) -> list[Orphan]:
    """Agent entries and memories of ``app_id`` (keyPrefix appid) whose instance has no workflow.

    ``stores`` names the state store of each family (``{"agent per-run entry": "workflowstatestore",
    "agent memory": "memorystore"}``): Redis alone cannot tell two stores with the same prefix apart.
    """
    found = []
    for raw in r.scan_iter(match=f"{app_id}||*", count=1000):
        key = raw.decode()
        decoded = decode(key, tuple(entry_prefixes))
        if decoded.family not in stores or decoded.app_id != app_id:
            continue
        if not workflow_exists(decoded.instance_id):
            found.append(Orphan(key, decoded.family, decoded.instance_id, stores[decoded.family], original_key(key)))
    return sorted(found, key=lambda o: o.redis_key)


def remove_orphans(client: Any, orphans: Sequence[Orphan], workflow_exists: Callable[[str], bool]) -> dict[str, list[str]]:
    """Delete each orphan through the sidecar (``client``: a ``DaprClient``), with the ETag read
    just before; returns the Redis keys ``removed``, ``gone`` (already deleted or expired) and
    ``kept`` (its workflow exists again, or the key changed since it was read)."""
    outcome: dict[str, list[str]] = {"removed": [], "gone": [], "kept": []}
    for orphan in orphans:
        item = client.get_state(orphan.store, orphan.state_key)
        if not item.data:
            outcome["gone"].append(orphan.redis_key)
            continue
        if workflow_exists(orphan.instance_id):
            outcome["kept"].append(orphan.redis_key)
            continue
        try:
            client.delete_state(orphan.store, orphan.state_key, etag=item.etag)
        except Exception as err:  # noqa: BLE001 - an ETag mismatch: written since it was read
            if "etag" not in str(err).lower():
                raise
            outcome["kept"].append(orphan.redis_key)
        else:
            outcome["removed"].append(orphan.redis_key)
    return outcome


def orphan_table(orphans: Sequence[Orphan], title: str = "orphaned keys") -> Table:
    rows = [{"redis key": o.redis_key, "family": o.family, "instance": o.instance_id, "store": o.store} for o in orphans]
    return Table(rows, ["redis key", "family", "instance", "store"], title=f"{title} ({len(rows)})")
