"""Workflow state in the actor state store, in daprd's layout (spec H2), saved atomically.

Keys ``<app>||dapr.internal.<ns>.<app>.workflow||<id>||metadata|inbox-NNNNNN|history-NNNNNN|
customStatus`` hold protobuf bytes in the state store's hash layout (``data``/``version``, written
by the same Lua script as every state write). Each save is ONE Redis MULTI/EXEC that also adds and
removes this sidecar's durable reminders (``reminders.py``), so a kill -9 can never leave a
pending step without its reminder or a reminder pointing at state that was not saved.

What a save writes follows daprd's ``wfengine/state.State.GetSaveRequest``: history rows that
were added (and deletes of rows past the new length), inbox likewise, ``customStatus`` only when
the history changed (a save that only adds to the inbox leaves it alone, so a just-created
instance has no customStatus row yet), and ``metadata`` on every save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from google.protobuf import wrappers_pb2

from localdapr.state.errors import STORE_FAILURES
from localdapr.state.redis_store import DELETE_SCRIPT, SET_SCRIPT, RedisStateStore
from localdapr.workflow.errors import missing_row, store_unavailable
from localdapr.workflow.protos import backend, history
from localdapr.workflow.reminders import Reminder, Reminders
from localdapr.workflow.runtimestate import InstanceState


PROPAGATED = "propagated-history"


def workflow_actor_type(namespace: str, app_id: str) -> str:
    return f"dapr.internal.{namespace}.{app_id}.workflow"


@dataclass
class SavePlan:
    """Reminders to add and remove in the same transaction as the state."""

    add: list[Reminder] = field(default_factory=list)
    remove: list[str] = field(default_factory=list)
    clear_instance: bool = False  # drop every reminder of the instance first (it is recreated)
    # Drop the instance's reminders of these kinds ("timer", "act"): daprd deletes a finished
    # workflow's reminders when it has unfired timers (deleteAllReminders).
    drop_kinds: tuple[str, ...] = ()


class WorkflowStorage:
    def __init__(self, store: RedisStateStore, app_id: str, namespace: str, reminders: Reminders) -> None:
        self.store = store
        self.client = store.client
        self.app_id = app_id
        self.actor_type = workflow_actor_type(namespace, app_id)
        self.reminders = reminders

    def prefix(self, instance_id: str) -> str:
        return f"{self.app_id}||{self.actor_type}||{instance_id}||"

    async def _get(self, key: str) -> bytes | None:
        return (await self.store.get(key)).data

    async def load(self, instance_id: str) -> tuple[InstanceState, tuple[int, int]]:
        """The state and the stored (inbox, history) lengths, needed to delete rows on save."""
        try:
            return await self._load(instance_id)
        except STORE_FAILURES as exc:
            raise store_unavailable(exc) from exc

    async def _load(self, instance_id: str) -> tuple[InstanceState, tuple[int, int]]:
        p = self.prefix(instance_id)
        raw = await self._get(p + "metadata")
        state = InstanceState(instance_id)
        if raw is None:
            return state, (0, 0)
        meta = backend.BackendWorkflowStateMetadata.FromString(raw)
        state.generation = int(meta.generation) or 1
        pipe = self.client.pipeline(transaction=False)
        for i in range(meta.inboxLength):
            pipe.hget(p + f"inbox-{i:06d}", "data")
        for i in range(meta.historyLength):
            pipe.hget(p + f"history-{i:06d}", "data")
        pipe.hget(p + "customStatus", "data")
        pipe.hget(p + PROPAGATED, "data")
        rows: list[Any] = await pipe.execute()
        for i in range(meta.inboxLength + meta.historyLength):
            if rows[i] is None:  # daprd's LoadWorkflowState refuses a state with rows missing
                if await self._get(p + "metadata") != raw:
                    # A save landed between the metadata read and the rows read (daprd's read has
                    # the same gap and then fails transiently); read the new state instead.
                    return await self._load(instance_id)
                raise missing_row(instance_id, *(("inbox", i, meta.inboxLength) if i < meta.inboxLength
                                                 else ("history", i - meta.inboxLength, meta.historyLength)))
        state.inbox = [history.HistoryEvent.FromString(r) for r in rows[: meta.inboxLength] if r is not None]
        incoming = rows.pop()
        if incoming is not None:
            state.incoming = history.PropagatedHistory.FromString(incoming)
            state.incoming_stored = True
        state.history = [history.HistoryEvent.FromString(r) for r in rows[meta.inboxLength : -1] if r is not None]
        custom = rows[-1]
        if custom:
            value = wrappers_pb2.StringValue.FromString(custom).value
            state.custom_status = value or None
        return state, (int(meta.inboxLength), int(meta.historyLength))

    async def save(self, state: InstanceState, stored: tuple[int, int], plan: SavePlan, history_from: int | None = None) -> None:
        """Write rows that changed, delete rows past the new lengths, metadata, reminders: one MULTI."""
        p = self.prefix(state.instance_id)
        pipe = self.client.pipeline(transaction=True)

        def put(key: str, value: bytes) -> None:
            pipe.eval(SET_SCRIPT, 1, p + key, "0", value)  # as contrib's Multi: no first-write argument

        start = stored[1] if history_from is None else history_from
        written = range(start, len(state.history))
        deleted = range(len(state.history), stored[1])
        for i in written:
            put(f"history-{i:06d}", state.history[i].SerializeToString())
        for i in deleted:
            pipe.eval(DELETE_SCRIPT, 1, p + f"history-{i:06d}", "0")
        # The inbox only grows between turns, so rows already stored are not rewritten (daprd
        # writes the added ones only); a recreated instance (history_from set) writes all.
        inbox_from = stored[0] if history_from is None and len(state.inbox) >= stored[0] else 0
        for i in range(inbox_from, len(state.inbox)):
            put(f"inbox-{i:06d}", state.inbox[i].SerializeToString())
        for i in range(len(state.inbox), stored[0]):
            pipe.eval(DELETE_SCRIPT, 1, p + f"inbox-{i:06d}", "0")
        if written or deleted:
            put("customStatus", wrappers_pb2.StringValue(value=state.custom_status or "").SerializeToString())
        # The propagated history a child received (daprd's ``propagated-history`` row): written
        # when set, deleted when a recreated instance has none.
        if state.incoming_changed and state.incoming is not None:
            put(PROPAGATED, state.incoming.SerializeToString(deterministic=True))
        elif state.incoming_changed and state.incoming_stored:
            pipe.eval(DELETE_SCRIPT, 1, p + PROPAGATED, "0")
        meta = backend.BackendWorkflowStateMetadata(inboxLength=len(state.inbox), historyLength=len(state.history), generation=state.generation)
        put("metadata", meta.SerializeToString())
        if plan.clear_instance:
            self.reminders.queue_instance_removal(pipe, state.instance_id)
        for kind in plan.drop_kinds:
            self.reminders.queue_instance_removal(pipe, state.instance_id, kind)
        self.reminders.queue_changes(pipe, plan.add, plan.remove)
        results = await pipe.execute(raise_on_error=False)
        errors = [r for r in results if isinstance(r, Exception)]
        if errors:
            raise RuntimeError(f"saving workflow {state.instance_id} failed: {errors[0]}")
        state.incoming_stored, state.incoming_changed = state.incoming is not None, False
        self.reminders.wake()

    async def purge(self, instance_id: str, stored: tuple[int, int]) -> None:
        p = self.prefix(instance_id)
        keys = [p + "metadata", p + "customStatus", p + PROPAGATED]
        keys += [p + f"inbox-{i:06d}" for i in range(stored[0])]
        keys += [p + f"history-{i:06d}" for i in range(stored[1])]
        pipe = self.client.pipeline(transaction=True)
        pipe.delete(*keys)
        self.reminders.queue_instance_removal(pipe, instance_id)
        await pipe.execute()

    async def list_instance_ids(self) -> list[str]:
        keys = await self.store.keys_like(f"{self.app_id}||{self.actor_type}||%||metadata")
        return [k.split("||")[2] for k in keys]
