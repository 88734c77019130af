"""The workflow engine: what daprd's workflow and activity actors do, hosted in this process.

Every pending step is a durable reminder (``reminders.py``); each handler below loads the
instance from Redis, does one step, and saves state + reminder changes in one transaction
(``storage.py``). Nothing a pending step needs lives only in memory, so a restarted sidecar
picks up where the killed one stopped: the worker gets the full history and replays (H3.6).
Steps of one instance are serialised by an in-process lock (one sidecar owns its app's
instances, as placement guarantees for daprd).

Cross-app (a router naming another app, as daprd 1.18 routes it): the activity or the child's
start goes into the TARGET app's reminder set, and its result (an activity's TaskCompleted /
TaskFailed, a child's completion) into the PARENT app's set, each in the same MULTI as the state
change that produced it; the sidecar serving that app runs it (``directory.py`` says whether
one does now). The child's rows live under the target app's prefix, as daprd writes them;
an activity run in another app writes no rows there, as daprd's activity actor writes none.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import time
import uuid
from collections import defaultdict
from typing import Any, Awaitable, Callable

from localdapr.runtime import Runtime
from localdapr.state.errors import STORE_FAILURES
from localdapr.workflow.errors import BackendError, actor_not_found, actor_stalled, already_exists, instance_not_found, no_actor_store, not_completed
from localdapr.workflow.protos import history, orchestration, service
from localdapr.workflow.directory import Directory
from localdapr.workflow.reminders import PARK, Reminder, Reminders
from localdapr.workflow.runtimestate import (
    InstanceState, apply_response, cancelled_event_timers, event, new_events_for_turn, new_execution_id, now_ts, sv, unfired_timers,
)
from localdapr.workflow.storage import SavePlan, WorkflowStorage, workflow_actor_type
from localdapr.workflow.workers import WorkItemStreams

log = logging.getLogger("localdapr.workflow")

# durabletask-go's workflowProcessor: how many times one turn may continue as new in a row.
MAX_CONTINUE_AS_NEW = 20
# daprd's DaprBuiltInActorNotFoundRetries (5 retries, 1 s apart): how long a call on an instance
# waits for its workflow actor to be hosted (a worker to connect) before failing.
ACTOR_LOOKUP_SECONDS = 5.0
# daprd's activity-result reminder: "One shot, retry forever, every second".
RESULT_RETRY_SECONDS = 1.0


def _b64(ev: history.HistoryEvent) -> str:
    return base64.b64encode(ev.SerializeToString()).decode()


def _activity_request(p: dict[str, Any]) -> service.ActivityRequest:
    """An activity step's work item, as durabletask-go's grpcExecutor.ExecuteActivity builds it:
    the instance id only (and the propagated history when the workflow sent one)."""
    request = service.ActivityRequest(
        name=p["name"], input=sv(p["input"]), taskId=p["task_id"], taskExecutionId=p["task_execution_id"],
        workflowInstance=orchestration.WorkflowInstance(instanceId=p["instance"]),
    )
    if "propagated" in p:
        request.propagatedHistory.ParseFromString(base64.b64decode(p["propagated"]))
    return request


def _unb64(text: str) -> history.HistoryEvent:
    return history.HistoryEvent.FromString(base64.b64decode(text))


def _remote(router: orchestration.TaskRouter | None, app_id: str) -> str | None:
    """The other app a router sends work to, or None when it stays in this app."""
    if router is None or not router.HasField("targetAppID") or router.targetAppID in ("", app_id):
        return None
    return router.targetAppID


def remote_id(kind: str, source_app: str, iid: str, rest: str) -> str:
    """The id of a step put in another app's reminder set: the source app keeps ids of two apps'
    same-named instances apart, and single bars keep it out of the target's own per-instance
    removals (which match ``||<instance>||``)."""
    return f"{kind}@{source_app}|{iid}|{rest}"


def _activity_result(p: dict[str, Any], response: service.ActivityResponse) -> history.HistoryEvent:
    if response.HasField("failureDetails"):
        return event(taskFailed=history.TaskFailedEvent(taskScheduledId=p["task_id"], failureDetails=response.failureDetails,
                                                        taskExecutionId=p["task_execution_id"]))
    return event(taskCompleted=history.TaskCompletedEvent(taskScheduledId=p["task_id"], result=response.result if response.HasField("result") else None,
                                                          taskExecutionId=p["task_execution_id"]))


class WorkflowEngine:
    def __init__(self, runtime: Runtime) -> None:
        self.runtime = runtime
        self.streams = WorkItemStreams()
        self.storage: WorkflowStorage | None = None
        self.reminders: Reminders | None = None
        self.directory: Directory | None = None
        self._locks: defaultdict[str, asyncio.Lock] = defaultdict(asyncio.Lock)
        self._changed = asyncio.Condition()
        self._background: set[asyncio.Task[None]] = set()
        self.streams.on_connect.append(self._worker_connected)

    # ---- lifecycle hooks (runtime.services) -----------------------------------------------------
    async def start(self) -> None:
        store = self.runtime.actor_state_store
        if store is None:
            if self.runtime.options.actors_enabled:  # daprd's own two lines (runtime.go, actors.go)
                log.info("actors: state store is not configured - this is okay for clients but services with hosted actors will fail to initialize!")
                log.info("Actor state store not configured - actor hosting disabled, but invocation enabled")
            log.info("workflows disabled: %s", "no actor state store" if self.runtime.options.actors_enabled else "no --placement-host-address")
            return
        self.reminders = Reminders(store.client, self.runtime.app_id, self.runtime.namespace_or_default)
        self.reminders.handler = self._handle
        self.storage = WorkflowStorage(store, self.runtime.app_id, self.runtime.namespace_or_default, self.reminders)
        self.reminders.start()
        opts = self.runtime.options
        self.directory = Directory(store.client, self.runtime.namespace_or_default, self.runtime.app_id,
                                   {"grpcPort": opts.dapr_grpc_port, "httpPort": opts.dapr_http_port},
                                   lambda: self.streams.connected > 0)
        self.directory.start()

    def _worker_connected(self) -> None:
        if self.directory is not None:
            self.directory.refresh_soon()
        if self.reminders is not None:
            task = asyncio.get_running_loop().create_task(self.reminders.retry_now())
            self._background.add(task)  # the loop keeps only a weak reference to tasks
            task.add_done_callback(self._background.discard)

    async def close(self) -> None:
        if self.reminders is not None:
            await self.reminders.close()
        if self.directory is not None:
            await self.directory.close()

    def metadata_section(self) -> dict[str, Any]:
        """What daprd 1.18.2's /v1.0/metadata shows of workflows: nothing while no worker is
        connected; with one, ``workflows.connectedWorkers`` and, in ``actors``, the three
        internal actor types it registers for as long as a worker is connected (count 0
        omitted). daprd also lists them in ``actorRuntime.activeActors`` (not added here: that
        object belongs to localdapr/metadata.py)."""
        if not self.streams.connected:
            return {}
        app, ns = self.runtime.app_id, self.runtime.namespace_or_default
        types = [{"type": f"dapr.internal.{ns}.{app}.{kind}"} for kind in ("retentioner", "workflow", "activity")]
        return {"actors": types, "workflows": {"connectedWorkers": self.streams.connected}}

    def require(self) -> WorkflowStorage:
        """The storage, or daprd's error for a sidecar without an actor state store.

        daprd starts its workflow engine anyway and accepts workers; every call that touches
        workflow state then fails with the actor runtime's "not configured" error.
        """
        if self.storage is None:
            raise no_actor_store()
        return self.storage

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    # ---- reminder handlers ----------------------------------------------------------------------
    async def _handle(self, rid: str, payload: dict[str, Any]) -> bool | str:
        kind = payload["kind"]
        handler: Callable[[str, dict[str, Any]], Awaitable[bool | str]] = {
            "run": self._run_turn_reminder,
            "timer": self._fire_timer,
            "activity": self._run_activity,
            "deliver": self._deliver,
        }[kind]
        try:
            return await handler(rid, payload)
        except (asyncio.TimeoutError, RuntimeError) as exc:
            # daprd's wording (actors/targets/activity), so a log reads the same on both runtimes
            log.warning("%s: execution failed with a recoverable error and will be retried later: %s", rid, exc)
            return False

    async def _run_turn_reminder(self, rid: str, payload: dict[str, Any]) -> bool | str:
        return await self._run_turn(payload["instance"], [], rid)

    async def _fire_timer(self, rid: str, payload: dict[str, Any]) -> bool | str:
        fired = _unb64(payload["event"])
        fired.timestamp.CopyFrom(now_ts())  # daprd stamps a fired timer when it fires, not when armed
        return await self._run_turn(payload["instance"], [fired], rid, generation=payload["generation"])

    async def _run_turn(self, iid: str, extra: list[history.HistoryEvent], rid: str, generation: int | None = None) -> bool | str:
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
            for ev in new_events:  # daprd's runWorkflow stamps the router on a start event that has none
                if ev.HasField("executionStarted") and not ev.HasField("router"):
                    ev.router.sourceAppID = self.runtime.app_id
                if ev.HasField("executionStarted"):  # durabletask-go logs it as the first turn runs (children too)
                    log.info("%s: starting new '%s' instance with ID = '%s'.", iid, ev.executionStarted.name,
                             ev.executionStarted.workflowInstance.instanceId)
            old_len = len(state.history)
            effects, restarts = await self._execute(state, new_events)
            if effects.stalled:
                # daprd's stallWorkflow: save the stalled state, then hold the turn's reminder
                # until a worker (re)connects (daprd holds the actor until its worker goes away,
                # and the reminder's retry runs it again on the next worker).
                await storage.save(state, stored, SavePlan())
                log.info("workflow %s is stalled (%s); it runs again when a workflow worker connects",
                         iid, state.history[-1].executionStalled.description)
                await self._notify()
                return PARK
            if restarts > MAX_CONTINUE_AS_NEW:
                # durabletask-go abandons the work item; daprd saves the progress made (one
                # generation more, carried-over raised events back in the inbox) and retries.
                state.generation += 1
                state.history = [e for e in effects.restart_events if not e.HasField("eventRaised")]
                state.inbox = [e for e in effects.restart_events if e.HasField("eventRaised")]
                await storage.save(state, stored, SavePlan(), history_from=0)
                log.warning("workflow %s: exceeded tight-loop continue-as-new limit of %d iterations", iid, MAX_CONTINUE_AS_NEW)
                return False
            if restarts:
                state.generation += 1  # daprd: once per turn that continued as new, however many times
            plan = self._plan(state, effects, rid, 0 if restarts else old_len)
            await storage.save(state, stored, plan, history_from=0 if restarts else None)
            await self._say_who_waits(iid, plan)
            if state.terminal:  # daprd's durabletask backend logs each completion like this
                started = state.started_event()
                log.info("%s: '%s' completed with a %s status.", iid, started.executionStarted.name if started else "?",
                         orchestration.OrchestrationStatus.Name(state.status()).removeprefix("ORCHESTRATION_STATUS_"))
        await self._notify()
        return True

    async def _execute(self, state: InstanceState, new_events: list[history.HistoryEvent]) -> tuple[Any, int]:
        """Run one turn on the worker, continue-as-new included, like durabletask-go's
        ``workflowProcessor.ProcessWorkItem``: a workflow that continues as new is run again at
        once from its fresh start events, in the same turn, until it does something else (or
        MAX_CONTINUE_AS_NEW is passed). Returns the last effects and how many restarts happened.
        """
        restarts = 0
        while True:
            request = service.WorkflowRequest(instanceId=state.instance_id, pastEvents=state.history, newEvents=new_events,
                                              propagatedHistory=state.incoming)
            response = await self.streams.run_workflow(request)
            effects = apply_response(state, new_events, response, self.runtime.app_id)
            if not effects.continued_as_new:
                return effects, restarts
            if effects.restart_incoming is not None:
                state.incoming, state.incoming_changed = effects.restart_incoming, True
            restarts += 1
            if restarts > MAX_CONTINUE_AS_NEW:
                return effects, restarts
            new_events = effects.restart_events

    def _plan(self, state: InstanceState, effects: Any, rid: str, old_len: int) -> SavePlan:
        """The reminders a finished turn leaves behind: activities, timers, deliveries; and the
        timers it no longer needs, as daprd deletes them: a finished workflow with unfired
        timers loses all its timer and activity reminders (``deleteAllReminders``), a running
        one the timers of external-event waits its new events answered
        (``deleteCancelledEventTimers``; the SDK arms a year-9999 timer for a wait without a
        timeout)."""
        started = state.started_event()
        assert started is not None
        iid, gen = state.instance_id, state.generation
        plan = SavePlan(remove=[rid])
        if effects.completed is not None:
            if unfired_timers(state.history):
                plan.drop_kinds = ("timer", "act")
        else:
            plan.remove += [f"timer||{iid}||{t}||{gen}" for t in cancelled_event_timers(state.history, old_len)]
        me = self.runtime.app_id
        for act in effects.activities:
            payload = {
                "kind": "activity", "instance": iid, "task_id": act.task_id, "name": act.name, "input": act.input,
                "task_execution_id": act.task_execution_id, "generation": gen,
            }
            if act.propagated is not None:  # daprd keeps it on the activity's reminder data too
                payload["propagated"] = base64.b64encode(act.propagated.SerializeToString()).decode()
            target = _remote(act.router, me)
            if target is None:
                plan.add.append(Reminder.now(f"act||{iid}||{act.task_id}||{gen}", payload))
            else:  # daprd calls the activity actor of the target app (actorTypeBuilder.Activity(target))
                payload |= {"app": me, "router": {"sourceAppID": act.router.sourceAppID, "targetAppID": target}}  # type: ignore[union-attr]
                plan.add.append(Reminder.now(remote_id("act", me, iid, f"{act.task_id}|{gen}"), payload, app=target))
        for timer in effects.timers:
            fired = event(timerFired=history.TimerFiredEvent(fireAt=timer.fire_at, timerId=timer.timer_id))
            due = int(timer.fire_at.ToMilliseconds())
            plan.add.append(Reminder(f"timer||{iid}||{timer.timer_id}||{gen}", due, {
                "kind": "timer", "instance": iid, "generation": gen, "event": _b64(fired)}))
        propagated = {c.instance_id: c.propagated for c in effects.children if c.propagated is not None}
        for n, (target, ev, create, app) in enumerate(self._deliveries(state, started, effects)):
            payload = {"kind": "deliver", "instance": target, "event": _b64(ev), "create": create}
            if create and target in propagated:  # the child keeps it as its propagated-history row
                payload["propagated"] = base64.b64encode(propagated[target].SerializeToString()).decode()
            if app is None or app == me:
                plan.add.append(Reminder.now(f"deliver||{iid}||{gen}-{len(state.history)}-{n}", payload))
            else:  # a child started in, or a completion returned to, another app
                plan.add.append(Reminder.now(remote_id("deliver", me, iid, f"{gen}-{len(state.history)}-{n}"), payload, app=app))
        return plan

    async def _say_who_waits(self, iid: str, plan: SavePlan) -> None:
        """Log, in daprd's words, steps handed to an app no sidecar serves right now: daprd
        retries such a call until placement finds the app; here the step waits in that app's
        reminder set, and runs as soon as a sidecar of it has a worker."""
        if self.directory is None:
            return
        for app in sorted({r.app for r in plan.add if r.app is not None and r.app != self.runtime.app_id}):
            if not await self.directory.is_live(app):
                log.warning("Workflow actor '%s': remote app '%s' is not available (no sidecar of it has a workflow worker); "
                            "the work for it waits until it is", iid, app)

    def _deliveries(self, state: InstanceState, started: history.HistoryEvent, effects: Any) -> list[tuple[str, history.HistoryEvent, bool, str | None]]:
        """Events for other instances, delivered by their own durable reminders: (instance,
        event, create, app whose sidecar takes it or None for this one). As daprd's
        ``callStateMessage``: a child's start goes to its router's target app, a child's
        completion to the parent's app (the completion's target)."""
        out: list[tuple[str, history.HistoryEvent, bool, str | None]] = []
        me = started.executionStarted
        for child in effects.children:
            ev = event(executionStarted=history.ExecutionStartedEvent(
                name=child.name, input=sv(child.input),
                workflowInstance=orchestration.WorkflowInstance(instanceId=child.instance_id, executionId=new_execution_id()),
            ))
            parent = ev.executionStarted.parentInstance
            parent.taskScheduledId = child.task_id
            parent.name.value = me.name
            parent.workflowInstance.instanceId = me.workflowInstance.instanceId
            if me.workflowInstance.HasField("executionId"):
                parent.workflowInstance.executionId.CopyFrom(me.workflowInstance.executionId)
            parent.appID = child.router.sourceAppID
            ev.router.CopyFrom(child.router)
            out.append((child.instance_id, ev, True, _remote(child.router, self.runtime.app_id)))
        for sent in effects.events:
            out.append((sent.instance_id, event(eventRaised=history.EventRaisedEvent(name=sent.name, input=sv(sent.data))), False, None))
        for target, reason in effects.terminations:
            out.append((target, event(executionTerminated=history.ExecutionTerminatedEvent(input=sv(reason))), False, None))
        done = effects.completed
        parent_id = me.parentInstance.workflowInstance.instanceId
        if done is not None and parent_id:
            task_id = me.parentInstance.taskScheduledId
            c = done.executionCompleted
            # durabletask-go's applier: a parent with an appID gets {source: this app, target: it}.
            router = orchestration.TaskRouter(sourceAppID=done.router.sourceAppID)
            if me.parentInstance.HasField("appID"):
                router.targetAppID = me.parentInstance.appID
            else:
                router.CopyFrom(done.router)
            if c.workflowStatus == orchestration.ORCHESTRATION_STATUS_COMPLETED:
                ev = event(childWorkflowInstanceCompleted=history.ChildWorkflowInstanceCompletedEvent(
                    taskScheduledId=task_id, result=c.result if c.HasField("result") else None))
            else:
                ev = event(childWorkflowInstanceFailed=history.ChildWorkflowInstanceFailedEvent(
                    taskScheduledId=task_id, failureDetails=c.failureDetails if c.HasField("failureDetails") else None))
            ev.router.CopyFrom(router)
            out.append((parent_id, ev, False, _remote(router, self.runtime.app_id)))
        if done is not None:
            out += self._cascade_terminate(state)
        return out

    def _cascade_terminate(self, state: InstanceState) -> list[tuple[str, history.HistoryEvent, bool, str | None]]:
        """daprd's ``terminateChildren``: a workflow that finished after a terminate with
        ``recurse`` sends every child it created (its app's, or another app's by the child's
        router) an ExecutionTerminated with recurse; a child already finished drops it."""
        term = next((e.executionTerminated for e in state.history if e.HasField("executionTerminated")), None)
        if term is None or not term.recurse:
            return []
        out: list[tuple[str, history.HistoryEvent, bool, str | None]] = []
        for child, app in dict.fromkeys(_children(state, self.runtime.app_id)):
            ev = event(executionTerminated=history.ExecutionTerminatedEvent(input=term.input if term.HasField("input") else None, recurse=True))
            out.append((child, ev, False, app))
        return out

    def _run_reminder(self, iid: str, delay: float = 0.0) -> Reminder:
        return Reminder.now(f"run||{iid}||turn", {"kind": "run", "instance": iid}, delay)

    async def _run_activity(self, rid: str, p: dict[str, Any]) -> bool:
        if p.get("app", self.runtime.app_id) != self.runtime.app_id:
            return await self._run_remote_activity(rid, p)
        storage = self.require()
        iid = p["instance"]
        state, _ = await storage.load(iid)
        if not state.exists or state.terminal or state.generation != p["generation"]:
            await storage.reminders.remove(rid)
            return True
        response = await self.streams.run_activity(_activity_request(p))
        ev = _activity_result(p, response)
        scheduled = next((e for e in state.history if e.eventId == p["task_id"] and e.HasField("taskScheduled")), None)
        if scheduled is not None and scheduled.HasField("router"):
            ev.router.CopyFrom(scheduled.router)  # the result carries its TaskScheduled's router
        return await self._hand_over_result(iid, ev, rid, p["generation"])

    async def _hand_over_result(self, iid: str, ev: history.HistoryEvent, rid: str, generation: int) -> bool:
        """Add an activity's result to its workflow, retried every second while the actor store
        is down, without running the activity again.

        daprd's activity actor hands the result over as a one-shot Scheduler reminder of its own
        (``activity-result-<8 random chars>``, "retry forever, every second"), so an actor store
        outage delays the result but never makes the activity run twice; each failed try logs
        ``failed to invoke scheduled actor reminder named: activity-result-... due to: failed to
        load workflow metadata: ...``. Here the result waits in this process with the activity's
        reminder held in flight (a sidecar crash meanwhile runs the activity again: the local
        difference, see DIFFERENCES.md).
        """
        name = "activity-result-" + base64.urlsafe_b64encode(uuid.uuid4().bytes[:6]).decode().rstrip("=")
        while True:
            try:
                return await self._append(iid, ev, rid, generation=generation)
            except (BackendError, *STORE_FAILURES) as exc:
                if isinstance(exc, BackendError) and not exc.bare.startswith("failed to load workflow metadata: "):
                    raise
                log.error("failed to invoke scheduled actor reminder named: %s due to: %s", name, exc)
                await asyncio.sleep(RESULT_RETRY_SECONDS)

    async def _run_remote_activity(self, rid: str, p: dict[str, Any]) -> bool:
        """An activity another app's workflow scheduled here (daprd's activity actor of this
        app): run it on this app's worker, then hand the result to the workflow's app, in one
        MULTI with removing this step. No workflow state is read or written here; the
        workflow's sidecar drops a result that comes too late (another generation, finished)."""
        storage = self.require()
        iid, parent_app = p["instance"], p["app"]
        response = await self.streams.run_activity(_activity_request(p))
        ev = _activity_result(p, response)
        ev.router.sourceAppID, ev.router.targetAppID = p["router"]["sourceAppID"], p["router"]["targetAppID"]
        result = Reminder.now(remote_id("deliver", self.runtime.app_id, iid, f"act-{p['task_id']}-{p['generation']}"),
                              {"kind": "deliver", "instance": iid, "event": _b64(ev), "generation": p["generation"]}, app=parent_app)
        pipe = storage.client.pipeline(transaction=True)
        storage.reminders.queue_changes(pipe, [result], [rid])
        await pipe.execute()
        return True

    async def _deliver(self, rid: str, p: dict[str, Any]) -> bool:
        incoming = history.PropagatedHistory.FromString(base64.b64decode(p["propagated"])) if "propagated" in p else None
        return await self._append(p["instance"], _unb64(p["event"]), rid, create=p.get("create", False), incoming=incoming,
                                  generation=p.get("generation"))

    async def _append(self, iid: str, ev: history.HistoryEvent, rid: str | None, *, generation: int | None = None, create: bool = False,
                      incoming: history.PropagatedHistory | None = None) -> bool:
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
                state = InstanceState(iid, inbox=[ev], generation=state.generation + 1 if state.exists else 1,
                                      incoming=incoming, incoming_stored=state.incoming_stored, incoming_changed=True)
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
    async def create(self, req: service.CreateInstanceRequest, gave_up: Callable[[], Awaitable[bool]] | None = None) -> str:
        """Save a new instance's start event to its inbox plus the reminder that runs it.

        Waits for a worker first, without a time limit: in daprd 1.18 the workflow actor types
        are registered only while a GetWorkItems stream is open, and until then the create call
        is retried every second (``DaprBuiltInActorNotFoundRetries`` in its log) for as long as
        the caller waits; nothing is written if the caller gives up (gRPC deadline, HTTP client
        gone). The start event is built as durabletask-go's ``grpcExecutor.StartInstance``
        builds it: a new execution id, no tags.
        """
        if not self.streams.connected:  # say why the call hangs (daprd logs a retry warning)
            log.warning("starting workflow '%s' waits for a workflow worker to connect (GetWorkItems): "
                        "like daprd, the sidecar hosts workflows only while a worker is connected", req.instanceId or req.name)
        await self.streams.wait_for_worker(gave_up)
        storage = self.require()
        iid = req.instanceId or str(uuid.uuid4())
        async with self._locks[iid]:
            state, stored = await storage.load(iid)
            if state.exists and not state.terminal:
                raise already_exists(iid)
            started = history.ExecutionStartedEvent(
                name=req.name, input=req.input if req.HasField("input") else None,
                workflowInstance=orchestration.WorkflowInstance(instanceId=iid, executionId=new_execution_id()),
            )
            delay = 0.0
            if req.HasField("scheduledStartTimestamp"):
                started.scheduledStartTimestamp.CopyFrom(req.scheduledStartTimestamp)
                delay = max(0.0, req.scheduledStartTimestamp.ToMilliseconds() / 1000 - time.time())
            new = InstanceState(iid, inbox=[event(executionStarted=started)], generation=state.generation + 1 if state.exists else 1,
                                incoming_stored=state.incoming_stored, incoming_changed=True)  # daprd's Reset drops it
            # A finished instance is recreated in place (daprd's State.Reset): its rows are
            # deleted in the same save, customStatus reset, generation + 1.
            plan = SavePlan(add=[self._run_reminder(iid, delay)], clear_instance=state.exists)
            await storage.save(new, stored, plan, history_from=0 if state.exists else None)
        await self._notify()
        return iid

    async def list_instance_ids(self) -> list[str]:
        return await self.require().list_instance_ids()

    async def load(self, iid: str) -> InstanceState:
        return (await self.require().load(iid))[0]

    async def wait_for(self, iid: str, done: Callable[[InstanceState], bool], timeout: float | None) -> InstanceState:
        await self.reach_instance(iid)  # daprd watches the status through the instance's actor
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

    async def reach_instance(self, iid: str) -> None:
        """What daprd's actor router does before any call on an instance's workflow actor: with
        no worker connected the actor type is not registered, placement's lookup is retried for
        ACTOR_LOOKUP_SECONDS (DaprBuiltInActorNotFoundRetries: 5 retries, 1 s apart), then the
        call fails with FAILED_PRECONDITION "did not find address for actor ...". Reads of
        stored state (GetInstance) do not go through the actor and work without a worker."""
        if not await self.streams.wait_for_worker(timeout=ACTOR_LOOKUP_SECONDS):
            raise actor_not_found(workflow_actor_type(self.runtime.namespace_or_default, self.runtime.app_id), iid)

    async def raise_event(self, iid: str, ev: history.HistoryEvent) -> None:
        await self.reach_instance(iid)
        state = await self.load(iid)
        if not state.exists:
            raise instance_not_found()
        if state.stalled:  # daprd's stalled workflow actor refuses every call until it runs again
            raise actor_stalled(iid)
        await self._append(iid, ev, None)

    async def purge(self, iid: str, force: bool = False, recursive: bool = True) -> int:
        """Delete a finished instance's rows (and, recursive, its child workflows' first), as
        durabletask-go's ``purgeWorkflowState``; returns how many instances were deleted."""
        storage = self.require()
        if recursive:
            # daprd's recursive purge reads the instance from the store before any call on its
            # workflow actor: a purged (or never created) instance is "not found" at once, even
            # with no worker connected (the actor lookup would fail).
            state, _ = await storage.load(iid)
            if not state.exists:
                raise instance_not_found("failed to fetch workflow state: ")
        await self.reach_instance(iid)
        state, _ = await storage.load(iid)
        if not state.exists:
            raise instance_not_found("failed to fetch workflow state: " if recursive else "")
        # Recursive, durabletask-go reads the instance first and refuses a running one; the
        # workflow actor then (non-recursive: first) refuses while stalled.
        if recursive and not state.terminal and not force:
            raise not_completed()
        if state.stalled and not state.terminal:
            raise actor_stalled(iid)
        if not state.terminal and not force:
            raise not_completed()
        count = 0
        for child, app in _children(state, self.runtime.app_id) if recursive else []:
            try:
                count += await (self.purge(child, force, recursive) if app is None else self._purge_remote(app, child, force))
            except BackendError as err:
                if not err.not_found:  # a child purged already is skipped, as durabletask-go does
                    raise
        async with self._locks[iid]:
            state, stored = await storage.load(iid)
            if not state.exists:
                raise instance_not_found()
            await storage.purge(iid, stored)
        return count + 1

    async def _purge_remote(self, app: str, iid: str, force: bool) -> int:
        """A child workflow that lives in another app, purged with its own children (daprd's
        ``recursivePurgeWorkflowState`` on that app's workflow actor): the app must be served
        (placement's lookup fails otherwise, after its retries); its rows and reminders are
        deleted in the shared actor store."""
        assert self.directory is not None and self.storage is not None
        if not await self._wait_live(app):
            raise actor_not_found(workflow_actor_type(self.runtime.namespace_or_default, app), iid)
        storage = WorkflowStorage(self.storage.store, app, self.runtime.namespace_or_default, Reminders(self.storage.client, app, self.runtime.namespace_or_default))
        state, stored = await storage.load(iid)
        if not state.exists:
            raise instance_not_found()
        if not force and state.stalled:
            raise actor_stalled(iid)
        if not force and not state.terminal:
            raise not_completed()
        count = 0
        for child, child_app in _children(state, app):
            try:
                count += await self._purge_remote(child_app or app, child, force)
            except BackendError as err:
                if not err.not_found:
                    raise
        await storage.purge(iid, stored)
        return count + 1

    async def _wait_live(self, app: str) -> bool:
        """Whether a sidecar serves ``app``, waiting as long as placement's lookup retries."""
        assert self.directory is not None
        deadline = time.monotonic() + ACTOR_LOOKUP_SECONDS
        while not await self.directory.is_live(app):
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.25)
        return True


def _children(state: InstanceState, app_id: str) -> list[tuple[str, str | None]]:
    """The child workflows an instance created: (instance id, the other app it lives in or None)."""
    return [(e.childWorkflowInstanceCreated.instanceId, _remote(e.router if e.HasField("router") else None, app_id))
            for e in state.history if e.HasField("childWorkflowInstanceCreated")]
