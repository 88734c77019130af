"""The workflow engine: what daprd's workflow and activity actors do, hosted in this process.

Every pending step is a durable reminder (``reminders.py``); each handler below loads the
instance from Redis, does one step, and saves state + reminder changes in one transaction
(``storage.py``). Nothing a pending step needs lives only in memory, so a restarted sidecar
picks up where the killed one stopped: the worker gets the full history and replays (H3.6).
Steps of one instance are serialised by an in-process lock (one sidecar owns its app's
instances, as placement guarantees for daprd).
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections import defaultdict
from typing import Any, Awaitable, Callable

import grpc

from localdapr.errors import DaprError
from localdapr.runtime import Runtime
from localdapr.workflow.protos import history, orchestration, service
from localdapr.workflow.reminders import Reminder, Reminders
from localdapr.workflow.runtimestate import InstanceState, apply_response, event, new_events_for_turn, sv
from localdapr.workflow.storage import SavePlan, WorkflowStorage
from localdapr.workflow.workers import WorkItemStreams

log = logging.getLogger("localdapr.workflow")

NO_ACTOR_STORE = (
    "the state store is not configured to use the actor runtime. Have you set the - name: actorStateStore value: "
    '"true" in your state store component file? (workflows need exactly one state store with actorStateStore: "true" '
    "and --placement-host-address)"
)


def _b64(ev: history.HistoryEvent) -> str:
    return base64.b64encode(ev.SerializeToString()).decode()


def _unb64(text: str) -> history.HistoryEvent:
    return history.HistoryEvent.FromString(base64.b64decode(text))


class WorkflowEngine:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.streams = WorkItemStreams()
        self.storage: WorkflowStorage | None = None
        self.reminders: Reminders | None = None
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._changed = asyncio.Condition()
        self._background: set[asyncio.Task[None]] = set()
        self.streams.on_connect.append(self._worker_connected)

    # ---- lifecycle hooks (runtime.services) -----------------------------------------------------
    async def start(self) -> None:
        store = self.runtime.actor_state_store
        if store is None:
            log.info("workflows disabled: %s", "no actor state store" if self.runtime.options.actors_enabled else "no --placement-host-address")
            return
        self.reminders = Reminders(store.client, self.runtime.app_id)
        self.reminders.handler = self._handle
        self.storage = WorkflowStorage(store, self.runtime.app_id, self.runtime.namespace_or_default, self.reminders)
        self.reminders.start()

    def _worker_connected(self) -> None:
        if self.reminders is not None:
            task = asyncio.get_running_loop().create_task(self.reminders.retry_now())
            self._background.add(task)  # the loop keeps only a weak reference to tasks
            task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        if self.reminders is not None:
            await self.reminders.close()

    def metadata_section(self) -> dict[str, Any]:
        return {"workflows": {"connectedWorkers": self.streams.connected} if self.streams.connected else {}}

    def require(self) -> WorkflowStorage:
        if self.storage is None:
            raise DaprError(grpc.StatusCode.FAILED_PRECONDITION, 500, "ERR_WORKFLOW_NOT_CONFIGURED", NO_ACTOR_STORE)
        return self.storage

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- reminder handlers ----------------------------------------------------------------------
    async def _handle(self, rid: str, payload: dict[str, Any]) -> bool:
        kind = payload["kind"]
        handler: Callable[[str, dict[str, Any]], Awaitable[bool]] = {
            "run": self._run_turn_reminder,
            "timer": self._fire_timer,
            "activity": self._run_activity,
            "deliver": self._deliver,
        }[kind]
        try:
            return await handler(rid, payload)
        except (asyncio.TimeoutError, RuntimeError) as exc:
            log.info("step %s not done yet (%s); will retry", rid, exc)
            return False

    async def _run_turn_reminder(self, rid: str, payload: dict[str, Any]) -> bool:
        return await self._run_turn(payload["instance"], [], rid)

    async def _fire_timer(self, rid: str, payload: dict[str, Any]) -> bool:
        fired = _unb64(payload["event"])
        return await self._run_turn(payload["instance"], [fired], rid, generation=payload["generation"])

    async def _run_turn(self, iid: str, extra: list[history.HistoryEvent], rid: str, generation: int | None = None) -> bool:
        storage = self.require()
        async with self._locks[iid]:
            state, stored = await storage.load(iid)
            stale = generation is not None and generation != state.generation
            if not state.exists or stale or (state.terminal and not state.inbox):
                await storage.reminders.remove(rid)
                return True
            if state.terminal:  # events for a finished instance are dropped
                state.inbox = []
                await storage.save(state, stored, SavePlan(remove=[rid]))
                return True
            new_events = new_events_for_turn(state, extra)
            if len(new_events) == 1:  # only duplicates: nothing for the workflow to see
                state.inbox = []
                await storage.save(state, stored, SavePlan(remove=[rid]))
                return True
            started = state.started_event()
            assert started is not None
            request = service.WorkflowRequest(instanceId=iid, pastEvents=state.history, newEvents=new_events)
            if started.executionStarted.workflowInstance.HasField("executionId"):
                request.executionId.CopyFrom(started.executionStarted.workflowInstance.executionId)
            request.router.CopyFrom(started.router)
            response = await self.streams.run_workflow(request)
            effects = apply_response(state, new_events, response)
            plan = SavePlan(remove=[rid])
            gen = state.generation
            exec_id = started.executionStarted.workflowInstance.executionId.value
            for act in effects.activities:
                plan.add.append(Reminder.now(f"act||{iid}||{act.task_id}||{gen}", {
                    "kind": "activity", "instance": iid, "task_id": act.task_id, "name": act.name, "input": act.input,
                    "task_execution_id": act.task_execution_id, "generation": gen, "execution_id": exec_id,
                }))
            for timer in effects.timers:
                fired = event(timerFired=history.TimerFiredEvent(fireAt=timer.fire_at, timerId=timer.timer_id))
                due = int(timer.fire_at.ToMilliseconds())
                plan.add.append(Reminder(f"timer||{iid}||{timer.timer_id}||{gen}", due, {
                    "kind": "timer", "instance": iid, "generation": gen, "event": _b64(fired)}))
            deliveries = self._deliveries(state, started, effects)
            for n, (target, ev, create) in enumerate(deliveries):
                plan.add.append(Reminder.now(f"deliver||{iid}||{gen}-{len(state.history)}-{n}", {
                    "kind": "deliver", "instance": target, "event": _b64(ev), "create": create}))
            if effects.continued_as_new:
                plan.add.append(self._run_reminder(iid))
            await storage.save(state, stored, plan, history_from=0 if effects.continued_as_new else None)
        await self._notify()
        return True

    def _deliveries(self, state: InstanceState, started: history.HistoryEvent, effects: Any) -> list[tuple[str, history.HistoryEvent, bool]]:
        """Events for other instances, delivered by their own durable reminders."""
        out: list[tuple[str, history.HistoryEvent, bool]] = []
        me = started.executionStarted
        for child in effects.children:
            ev = event(executionStarted=history.ExecutionStartedEvent(
                name=child.name, input=sv(child.input),
                workflowInstance=orchestration.WorkflowInstance(instanceId=child.instance_id, executionId=sv(uuid.uuid4().hex)),
            ))
            parent = ev.executionStarted.parentInstance
            parent.taskScheduledId = child.task_id
            parent.name.value = me.name
            parent.workflowInstance.CopyFrom(me.workflowInstance)
            parent.appID = self.runtime.app_id
            ev.router.CopyFrom(started.router)
            out.append((child.instance_id, ev, True))
        for sent in effects.events:
            out.append((sent.instance_id, event(eventRaised=history.EventRaisedEvent(name=sent.name, input=sv(sent.data))), False))
        for target, reason in effects.terminations:
            out.append((target, event(executionTerminated=history.ExecutionTerminatedEvent(input=sv(reason))), False))
        done = effects.completed
        parent_id = me.parentInstance.workflowInstance.instanceId
        if done is not None and parent_id:
            task_id = me.parentInstance.taskScheduledId
            c = done.executionCompleted
            if c.workflowStatus == orchestration.ORCHESTRATION_STATUS_COMPLETED:
                ev = event(childWorkflowInstanceCompleted=history.ChildWorkflowInstanceCompletedEvent(
                    taskScheduledId=task_id, result=c.result if c.HasField("result") else None))
            else:
                ev = event(childWorkflowInstanceFailed=history.ChildWorkflowInstanceFailedEvent(
                    taskScheduledId=task_id, failureDetails=c.failureDetails if c.HasField("failureDetails") else None))
            out.append((parent_id, ev, False))
        return out

    def _run_reminder(self, iid: str, delay: float = 0.0) -> Reminder:
        return Reminder.now(f"run||{iid}||turn", {"kind": "run", "instance": iid}, delay)

    async def _run_activity(self, rid: str, p: dict[str, Any]) -> bool:
        storage = self.require()
        iid = p["instance"]
        state, _ = await storage.load(iid)
        if not state.exists or state.terminal or state.generation != p["generation"]:
            await storage.reminders.remove(rid)
            return True
        request = service.ActivityRequest(
            name=p["name"], input=sv(p["input"]), taskId=p["task_id"], taskExecutionId=p["task_execution_id"],
            workflowInstance=orchestration.WorkflowInstance(instanceId=iid, executionId=sv(p["execution_id"])),
        )
        response = await self.streams.run_activity(request)
        if response.HasField("failureDetails"):
            ev = event(taskFailed=history.TaskFailedEvent(taskScheduledId=p["task_id"], failureDetails=response.failureDetails,
                                                          taskExecutionId=p["task_execution_id"]))
        else:
            ev = event(taskCompleted=history.TaskCompletedEvent(taskScheduledId=p["task_id"], result=response.result if response.HasField("result") else None,
                                                                taskExecutionId=p["task_execution_id"]))
        return await self._append(iid, ev, rid, generation=p["generation"])

    async def _deliver(self, rid: str, p: dict[str, Any]) -> bool:
        return await self._append(p["instance"], _unb64(p["event"]), rid, create=p.get("create", False))

    async def _append(self, iid: str, ev: history.HistoryEvent, rid: str | None, *, generation: int | None = None, create: bool = False) -> bool:
        """Add one event to an instance's inbox plus its wake-up reminder, atomically."""
        storage = self.require()
        async with self._locks[iid]:
            state, stored = await storage.load(iid)
            remove = [rid] if rid else []
            if create:
                if state.exists and not state.terminal:  # already started: the delivery is done
                    if rid:
                        await storage.reminders.remove(rid)
                    return True
                state = InstanceState(iid, inbox=[ev], generation=state.generation + 1 if state.exists else 1)
                await storage.save(state, stored, SavePlan(add=[self._run_reminder(iid)], remove=remove), history_from=0)
            elif not state.exists or state.terminal or (generation is not None and generation != state.generation):
                if rid:
                    await storage.reminders.remove(rid)
                return True
            else:
                state.inbox.append(ev)
                await storage.save(state, stored, SavePlan(add=[self._run_reminder(iid)], remove=remove))
        await self._notify()
        return True

    # ---- client operations ----------------------------------------------------------------------
    async def create(self, req: service.CreateInstanceRequest) -> str:
        storage = self.require()
        iid = req.instanceId or uuid.uuid4().hex
        async with self._locks[iid]:
            state, stored = await storage.load(iid)
            if state.exists and not state.terminal:
                raise DaprError(grpc.StatusCode.UNKNOWN, 500, "ERR_START_WORKFLOW", f"an active workflow with ID '{iid}' already exists")
            started = history.ExecutionStartedEvent(
                name=req.name, input=req.input if req.HasField("input") else None,
                workflowInstance=orchestration.WorkflowInstance(instanceId=iid, executionId=req.executionId if req.HasField("executionId") else sv(uuid.uuid4().hex)),
            )
            delay = 0.0
            if req.HasField("scheduledStartTimestamp"):
                started.scheduledStartTimestamp.CopyFrom(req.scheduledStartTimestamp)
                delay = max(0.0, req.scheduledStartTimestamp.ToMilliseconds() / 1000 - time.time())
            for k, v in req.tags.items():
                started.tags[k] = v
            ev = event(executionStarted=started)
            ev.router.sourceAppID = self.runtime.app_id
            new = InstanceState(iid, inbox=[ev], generation=state.generation + 1 if state.exists else 1)
            if state.exists:
                await storage.purge(iid, stored)
                stored = (0, 0)
            await storage.save(new, stored, SavePlan(add=[self._run_reminder(iid, delay)]), history_from=0)
        await self._notify()
        return iid

    async def load(self, iid: str) -> InstanceState:
        return (await self.require().load(iid))[0]

    async def wait_for(self, iid: str, done: Callable[[InstanceState], bool], timeout: float | None) -> InstanceState:
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            async with self._changed:
                state = await self.load(iid)
                if done(state):
                    return state
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    return state
                try:
                    await asyncio.wait_for(self._changed.wait(), timeout=min(1.0, remaining) if remaining else 1.0)
                except asyncio.TimeoutError:
                    pass

    async def raise_event(self, iid: str, ev: history.HistoryEvent) -> None:
        state = await self.load(iid)
        if not state.exists:
            raise DaprError(grpc.StatusCode.NOT_FOUND, 404, "ERR_INSTANCE_ID_NOT_FOUND", f"no such instance exists: {iid}")
        await self._append(iid, ev, None)

    async def purge(self, iid: str, force: bool = False) -> int:
        storage = self.require()
        async with self._locks[iid]:
            state, stored = await storage.load(iid)
            if not state.exists:
                return 0
            if not state.terminal and not force:
                raise DaprError(grpc.StatusCode.FAILED_PRECONDITION, 500, "ERR_PURGE_WORKFLOW", f"workflow instance {iid} is still running; terminate it first")
            await storage.purge(iid, stored)
        return 1
