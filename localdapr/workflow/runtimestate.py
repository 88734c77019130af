"""A workflow instance's runtime state and the pure rules that change it (no Redis, no gRPC).

Modelled on durabletask-go's ``backend/runtimestate``: history is an append-only list of
``HistoryEvent``; the inbox holds events not yet shown to the workflow; applying a worker's
``WorkflowResponse`` turns its actions into history events plus side effects for the engine
(activities to run, timers to arm, child workflows to start, events to deliver).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone

from google.protobuf import timestamp_pb2, wrappers_pb2

from localdapr.workflow.protos import TERMINAL, actions, history, orchestration, service

H = history.HistoryEvent


def now_ts() -> timestamp_pb2.Timestamp:
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(datetime.now(timezone.utc))
    return ts


def event(**kwargs: object) -> H:
    ev = H(eventId=-1, timestamp=now_ts())
    for name, value in kwargs.items():
        getattr(ev, name).CopyFrom(value)  # type: ignore[arg-type]
    return ev


def sv(text: str | None) -> wrappers_pb2.StringValue | None:
    return None if text is None else wrappers_pb2.StringValue(value=text)


@dataclass
class ActivityToRun:
    task_id: int
    name: str
    input: str | None
    task_execution_id: str
    propagated: history.PropagatedHistory | None = None  # history sent along (PropagationScope)
    router: orchestration.TaskRouter | None = None  # its targetAppID names the app that runs it


@dataclass
class TimerToArm:
    timer_id: int
    fire_at: timestamp_pb2.Timestamp


@dataclass
class ChildToStart:
    task_id: int
    instance_id: str
    name: str
    input: str | None
    router: orchestration.TaskRouter
    propagated: history.PropagatedHistory | None = None


@dataclass
class EventToSend:
    instance_id: str
    name: str
    data: str | None


@dataclass
class Effects:
    activities: list[ActivityToRun] = field(default_factory=list)
    timers: list[TimerToArm] = field(default_factory=list)
    children: list[ChildToStart] = field(default_factory=list)
    events: list[EventToSend] = field(default_factory=list)
    terminations: list[tuple[str, str | None]] = field(default_factory=list)
    completed: H | None = None  # the ExecutionCompleted event, when the workflow finished
    continued_as_new: bool = False
    restart_events: list[H] = field(default_factory=list)  # the new execution's first events
    restart_incoming: history.PropagatedHistory | None = None  # what the new execution receives
    stalled: bool = False  # the turn stalled (see ``_stall``): nothing of it was kept but the inbox


@dataclass
class InstanceState:
    instance_id: str
    history: list[H] = field(default_factory=list)
    inbox: list[H] = field(default_factory=list)
    generation: int = 1
    custom_status: str | None = None
    # The history a parent propagated to this instance (daprd's ``propagated-history`` row);
    # sent with every WorkflowRequest. ``incoming_stored``: the row exists in the store.
    incoming: history.PropagatedHistory | None = None
    incoming_stored: bool = False
    incoming_changed: bool = False

    # ---- derived, never stored ---------------------------------------------------------------
    def started_event(self) -> H | None:
        for ev in self.history:
            if ev.HasField("executionStarted"):
                return ev
        for ev in self.inbox:
            if ev.HasField("executionStarted"):
                return ev
        return None

    def completed_event(self) -> H | None:
        for ev in reversed(self.history):
            if ev.HasField("executionCompleted"):
                return ev
        return None

    @property
    def exists(self) -> bool:
        return bool(self.history or self.inbox)

    @property
    def stalled(self) -> bool:
        """durabletask-go's runtime state: an ExecutionStalled event marks the instance stalled
        until any other event follows it."""
        return bool(self.history) and self.history[-1].HasField("executionStalled")

    def status(self) -> int:
        """PENDING until ExecutionStarted is in history; then completion, STALLED, suspension or
        RUNNING, in durabletask-go's ``runtimestate.RuntimeStatus`` order."""
        if not any(ev.HasField("executionStarted") for ev in self.history):
            return orchestration.ORCHESTRATION_STATUS_STALLED if self.stalled else orchestration.ORCHESTRATION_STATUS_PENDING
        done = self.completed_event()
        if done is not None:
            return done.executionCompleted.workflowStatus
        if self.stalled:
            return orchestration.ORCHESTRATION_STATUS_STALLED
        suspended = False
        for ev in self.history:
            if ev.HasField("executionSuspended"):
                suspended = True
            elif ev.HasField("executionResumed"):
                suspended = False
        return orchestration.ORCHESTRATION_STATUS_SUSPENDED if suspended else orchestration.ORCHESTRATION_STATUS_RUNNING

    @property
    def terminal(self) -> bool:
        return self.status() in TERMINAL

    def completed_task_ids(self) -> set[int]:
        done = set()
        for ev in self.history:
            if ev.HasField("taskCompleted"):
                done.add(ev.taskCompleted.taskScheduledId)
            elif ev.HasField("taskFailed"):
                done.add(ev.taskFailed.taskScheduledId)
            elif ev.HasField("childWorkflowInstanceCompleted"):
                done.add(-1000000 - ev.childWorkflowInstanceCompleted.taskScheduledId)
            elif ev.HasField("childWorkflowInstanceFailed"):
                done.add(-1000000 - ev.childWorkflowInstanceFailed.taskScheduledId)
        return done

    def fired_timer_ids(self) -> set[int]:
        return {ev.timerFired.timerId for ev in self.history if ev.HasField("timerFired")}

    def to_workflow_state(self, include_io: bool) -> orchestration.WorkflowState:
        started = self.started_event()
        done = self.completed_event()
        state = orchestration.WorkflowState(instanceId=self.instance_id, workflowStatus=self.status())
        version = workflow_version(self.history)
        if version:
            state.version.value = version
        if started is not None:
            state.name = started.executionStarted.name
            state.createdTimestamp.CopyFrom(started.timestamp)
            if started.executionStarted.workflowInstance.HasField("executionId"):
                state.executionId.CopyFrom(started.executionStarted.workflowInstance.executionId)
            if include_io and started.executionStarted.HasField("input"):
                state.input.CopyFrom(started.executionStarted.input)
            parent = started.executionStarted.parentInstance
            if parent.workflowInstance.instanceId:
                state.parentInstanceId.value = parent.workflowInstance.instanceId
        last = (self.history or self.inbox or [None])[-1]
        if last is not None:
            state.lastUpdatedTimestamp.CopyFrom(last.timestamp)
        if done is not None:
            state.completedTimestamp.CopyFrom(done.timestamp)
            if include_io and done.executionCompleted.HasField("result"):
                state.output.CopyFrom(done.executionCompleted.result)
            if include_io and done.executionCompleted.HasField("failureDetails"):
                state.failureDetails.CopyFrom(done.executionCompleted.failureDetails)
        if include_io and self.custom_status is not None:  # like input and output: only when asked
            state.customStatus.value = self.custom_status
        return state


def workflow_version(events: list[H]) -> str | None:
    """daprd's ``state.WorkflowVersion``: the version name the first WorkflowStarted records
    (every turn of a versioned workflow records the same one)."""
    for ev in events:
        if ev.HasField("workflowStarted"):
            v = ev.workflowStarted.version
            return v.name if ev.workflowStarted.HasField("version") and v.name else None
    return None


def _patches(events: list[H]) -> list[str]:
    return [p for ev in events if ev.HasField("workflowStarted") for p in ev.workflowStarted.version.patches]


def _last_patches(events: list[H]) -> list[str]:
    """daprd's ``getLastPatches``: the patches of the last WorkflowStarted that has a version."""
    for ev in reversed(events):
        if ev.HasField("workflowStarted") and ev.workflowStarted.HasField("version"):
            return list(ev.workflowStarted.version.patches)
    return []


def record_version(new_events: list[H], response: service.WorkflowResponse) -> None:
    """durabletask-go's workflowProcessor: the version the worker reports (name and the patches
    it saw as applied) goes on the turn's WorkflowStarted event."""
    if not response.HasField("version"):
        return
    v = response.version
    if not v.patches and not v.HasField("name"):
        return
    for ev in new_events:
        if ev.HasField("workflowStarted"):
            ev.workflowStarted.version.CopyFrom(v)
            return


def patch_mismatch(old: list[H], new_events: list[H]) -> str | None:
    """daprd's ``hasPatchMismatch``: the patches recorded in history must be a prefix of those
    the worker reports for this turn; otherwise the description of the mismatch."""
    recorded, current = _patches(old), _last_patches(new_events)
    if not recorded or current[: len(recorded)] == recorded:
        return None
    return f"Patch mismatch. History patches: [{', '.join(recorded)}], current patches: [{', '.join(current)}]. "


def compact_patches(old: list[H], new_events: list[H]) -> None:
    """daprd's ``compactPatches``: the turn's WorkflowStarted keeps only patches not recorded
    before (as a multiset); with none left its version is dropped. Either way a version name
    it carried alongside patches is not kept (daprd writes ``Version{Patches: ...}``)."""
    for ev in new_events:
        if not ev.HasField("workflowStarted"):
            continue
        v = ev.workflowStarted.version
        if ev.workflowStarted.HasField("version") and v.patches:
            seen: dict[str, int] = {}
            for p in _patches(old):
                seen[p] = seen.get(p, 0) + 1
            fresh = []
            for p in v.patches:
                if seen.get(p, 0) > 0:
                    seen[p] -= 1
                else:
                    fresh.append(p)
            if fresh:
                ev.workflowStarted.version.CopyFrom(orchestration.WorkflowVersion(patches=fresh))
            else:
                ev.workflowStarted.ClearField("version")
        return


def new_events_for_turn(state: InstanceState, extra: list[H]) -> list[H]:
    """WorkflowStarted + inbox (+ a fired timer), without duplicate completions (spec H3.2)."""
    seen = state.completed_task_ids()
    fired = state.fired_timer_ids()
    out: list[H] = [event(workflowStarted=history.WorkflowStartedEvent())]
    for ev in [*state.inbox, *extra]:
        key = None
        if ev.HasField("taskCompleted"):
            key = ev.taskCompleted.taskScheduledId
        elif ev.HasField("taskFailed"):
            key = ev.taskFailed.taskScheduledId
        elif ev.HasField("childWorkflowInstanceCompleted"):
            key = -1000000 - ev.childWorkflowInstanceCompleted.taskScheduledId
        elif ev.HasField("childWorkflowInstanceFailed"):
            key = -1000000 - ev.childWorkflowInstanceFailed.taskScheduledId
        elif ev.HasField("timerFired"):
            if ev.timerFired.timerId in fired:
                continue
            fired.add(ev.timerFired.timerId)
        if key is not None:
            if key in seen:
                continue  # a duplicate completion (at-least-once delivery) is dropped
            seen.add(key)
        out.append(ev)
    return out


def _scope(action: actions.ScheduleTaskAction | actions.CreateChildWorkflowAction) -> dict[str, int]:
    """The action's propagation scope, copied only when the worker set it (daprd copies the
    optional field as is: absent stays absent)."""
    return {"historyPropagationScope": action.historyPropagationScope} if action.HasField("historyPropagationScope") else {}


def assemble_propagated(state: InstanceState, scope: int, app_id: str) -> history.PropagatedHistory | None:
    """durabletask-go's ``AssembleProtoPropagatedHistory``: for LINEAGE the chunks this instance
    received, then one chunk of its own events so far (deterministically serialised, as
    ``historysigning.MarshalEvent``); OWN_HISTORY only its own chunk."""
    if scope == orchestration.HISTORY_PROPAGATION_SCOPE_NONE:
        return None
    out = history.PropagatedHistory(scope=scope)
    if scope == orchestration.HISTORY_PROPAGATION_SCOPE_LINEAGE and state.incoming is not None:
        out.chunks.extend(state.incoming.chunks)
    if state.history:
        started = next((e for e in state.history if e.HasField("executionStarted")), None)
        out.chunks.append(history.PropagatedHistoryChunk(
            appId=app_id, instanceId=state.instance_id, workflowName=started.executionStarted.name if started else "",
            rawEvents=[e.SerializeToString(deterministic=True) for e in state.history],
        ))
    return out


def unfired_timers(events: list[H]) -> bool:
    """daprd's ``hasUnfiredTimers``: more TimerCreated than TimerFired events."""
    return sum(ev.HasField("timerCreated") for ev in events) > sum(ev.HasField("timerFired") for ev in events)


def _event_timer_name(created: history.TimerCreatedEvent) -> str | None:
    """daprd's ``eventTimerName``: the (upper-cased) event an external-event timer guards."""
    if created.HasField("externalEvent"):
        return created.externalEvent.name.upper()
    if created.HasField("name") and created.WhichOneof("origin") is None:
        return created.name.upper()
    return None


def cancelled_event_timers(events: list[H], new_from: int) -> list[int]:
    """daprd's ``deleteCancelledEventTimers``: each EventRaised consumes the oldest unfired
    event timer of its name created before it; the ids consumed by events at ``new_from`` or
    later (this turn's) are the timers whose reminders are no longer needed."""
    pending: dict[str, list[int]] = {}
    names: dict[int, str] = {}
    out: list[int] = []
    for n, ev in enumerate(events):
        if ev.HasField("timerCreated"):
            name = _event_timer_name(ev.timerCreated)
            if name is not None:
                pending.setdefault(name, []).append(ev.eventId)
                names[ev.eventId] = name
        elif ev.HasField("timerFired"):
            name = names.pop(ev.timerFired.timerId, None)
            if name is not None and ev.timerFired.timerId in pending.get(name, []):
                pending[name].remove(ev.timerFired.timerId)
        elif ev.HasField("eventRaised"):
            ids = pending.get(ev.eventRaised.name.upper())
            if ids:
                tid = ids.pop(0)
                names.pop(tid, None)
                if n >= new_from:
                    out.append(tid)
    return out


def child_instance_id(parent: str, action_id: int) -> str:
    return f"{parent}:{action_id:04x}"


def new_execution_id() -> wrappers_pb2.StringValue:
    """A fresh execution id, in daprd's form (a dashed UUID, ``uuid.New().String()``)."""
    return wrappers_pb2.StringValue(value=str(uuid.uuid4()))


def action_router(action: actions.WorkflowAction, app_id: str) -> orchestration.TaskRouter:
    """The router durabletask-go's applier stamps on every action: the worker's, with
    ``sourceAppID`` set to this app; every event made from the action carries it (daprd's rows
    have ``router {sourceAppID}`` on taskScheduled, timerCreated, executionCompleted, ...)."""
    router = orchestration.TaskRouter()
    if action.HasField("router"):
        router.CopyFrom(action.router)
    router.sourceAppID = app_id
    return router


def apply_response(state: InstanceState, new_events: list[H], response: service.WorkflowResponse, app_id: str) -> Effects:
    """Move the turn's events to history and turn the worker's actions into events + effects.

    Follows durabletask-go's ``runtimestate.Applier.Actions``: on continue-as-new the state is
    replaced by a fresh one (``effects.restart_events``) and the remaining actions are ignored;
    the engine then runs the new execution in the same turn (the tight loop).
    """
    effects = Effects()
    # What a stall keeps for the next run: the turn's events but its WorkflowStarted (a fired
    # timer included: daprd adds it to the inbox before the run).
    old, inbox = list(state.history), [e for e in new_events if not e.HasField("workflowStarted")]
    record_version(new_events, response)
    state.history.extend(new_events)
    state.inbox = []
    state.custom_status = response.customStatus.value if response.HasField("customStatus") else None
    # daprd's handleStalled runs before anything of the turn is kept: a version the worker does
    # not have, then a patch mismatch, stall the workflow; otherwise the patches are compacted.
    if any(a.WhichOneof("workflowActionType") == "workflowVersionNotAvailable" for a in response.actions):
        name = workflow_version(old) or ""
        _stall(state, old, inbox, orchestration.VERSION_NOT_AVAILABLE, f"Version not available: {name}", effects)
        return effects
    mismatch = patch_mismatch(old, new_events)
    if mismatch is not None:
        _stall(state, old, inbox, orchestration.PATCH_MISMATCH, mismatch, effects)
        return effects
    for action in response.actions:
        kind = action.WhichOneof("workflowActionType")
        router = action_router(action, app_id)

        def add(ev: H) -> None:
            ev.eventId = action.id
            ev.router.CopyFrom(router)
            state.history.append(ev)

        if kind == "scheduleTask":
            a = action.scheduleTask
            add(event(taskScheduled=history.TaskScheduledEvent(name=a.name, input=a.input if a.HasField("input") else None,
                                                                taskExecutionId=a.taskExecutionId, **_scope(a))))
            effects.activities.append(ActivityToRun(action.id, a.name, a.input.value if a.HasField("input") else None, a.taskExecutionId,
                                                    assemble_propagated(state, a.historyPropagationScope, app_id), router))
        elif kind == "createTimer":
            a = action.createTimer
            created = history.TimerCreatedEvent(fireAt=a.fireAt)
            if a.HasField("name"):
                created.name = a.name
            for origin in ("createTimer", "externalEvent", "activityRetry", "childWorkflowRetry"):
                if a.HasField(origin):
                    getattr(created, origin).CopyFrom(getattr(a, origin))
            add(event(timerCreated=created))
            effects.timers.append(TimerToArm(action.id, a.fireAt))
        elif kind == "createChildWorkflow":
            a = action.createChildWorkflow
            child_id = a.instanceId or child_instance_id(state.instance_id, action.id)
            add(event(childWorkflowInstanceCreated=history.ChildWorkflowInstanceCreatedEvent(
                instanceId=child_id, name=a.name, input=a.input if a.HasField("input") else None, **_scope(a))))
            effects.children.append(ChildToStart(action.id, child_id, a.name, a.input.value if a.HasField("input") else None, router,
                                                 assemble_propagated(state, a.historyPropagationScope, app_id)))
        elif kind == "sendEvent":
            a = action.sendEvent
            add(event(eventSent=history.EventSentEvent(instanceId=a.instance.instanceId, name=a.name, input=a.data if a.HasField("data") else None)))
            effects.events.append(EventToSend(a.instance.instanceId, a.name, a.data.value if a.HasField("data") else None))
        elif kind == "terminateWorkflow":
            a = action.terminateWorkflow
            effects.terminations.append((a.instanceId, a.reason.value if a.HasField("reason") else None))
        elif kind == "completeWorkflow":
            if _complete(state, action, router, effects, app_id):
                return effects
        else:
            raise NotImplementedError(f"workflow action '{kind}' is not supported by the local sidecar")
    # after the actions: history propagated by them carries the version as the worker reported
    # it (durabletask-go applies actions before dapr compacts the patches)
    compact_patches(old, new_events)
    return effects


def _stall(state: InstanceState, old: list[H], inbox: list[H], reason: int, description: str, effects: Effects) -> None:
    """daprd's ``stallWorkflow``: the turn's events and actions are dropped, the inbox is kept
    for the run that follows the stall, and an ExecutionStalled event (no router) is added
    unless the last event already is one with the same description."""
    state.history, state.inbox = old, inbox
    last = old[-1] if old else None
    if last is None or not last.HasField("executionStalled") or last.executionStalled.description != description:
        state.history.append(event(executionStalled=history.ExecutionStalledEvent(reason=reason, description=description)))
    effects.stalled = True


def _complete(state: InstanceState, action: actions.WorkflowAction, router: orchestration.TaskRouter, effects: Effects, app_id: str) -> bool:
    """Apply a completeWorkflow action; True when it was a continue-as-new (stop applying)."""
    a = action.completeWorkflow
    if a.workflowStatus == orchestration.ORCHESTRATION_STATUS_CONTINUED_AS_NEW:
        started = state.started_event()
        assert started is not None
        old = started.executionStarted
        restarted = history.ExecutionStartedEvent(name=old.name, input=a.result if a.HasField("result") else None,
                                                  workflowInstance=orchestration.WorkflowInstance(instanceId=state.instance_id, executionId=new_execution_id()))
        if old.HasField("parentInstance"):
            restarted.parentInstance.CopyFrom(old.parentInstance)
        if old.HasField("parentTraceContext"):
            restarted.parentTraceContext.CopyFrom(old.parentTraceContext)
        if state.incoming is not None:  # the chain goes on across continue-as-new (its scope kept)
            effects.restart_incoming = assemble_propagated(state, state.incoming.scope, app_id)
        first = event(workflowStarted=history.WorkflowStartedEvent())
        second = event(executionStarted=restarted)
        for ev in (first, second):
            ev.router.CopyFrom(router)
        state.history = []
        state.inbox = []
        effects.restart_events = [first, second, *a.carryoverEvents]
        effects.continued_as_new = True
        # Everything the abandoned execution scheduled in this response is dropped with it.
        effects.activities, effects.timers, effects.children, effects.events, effects.terminations = [], [], [], [], []
        return True
    done = event(executionCompleted=history.ExecutionCompletedEvent(
        workflowStatus=a.workflowStatus,
        result=a.result if a.HasField("result") else None,
        failureDetails=a.failureDetails if a.HasField("failureDetails") else None,
    ))
    done.eventId = action.id
    done.router.CopyFrom(router)
    state.history.append(done)
    effects.completed = done
    return False
