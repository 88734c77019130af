"""The recovery matrix: hold DurableAgent runs at chosen points, kill one target, measure.

Why a helper: notebook 07 and ``bench/chaos.py`` ask the same question ("after this kill -9 at
this point, did the same run complete, how often did its tool run, was a recorded LLM turn asked
again, how long did recovery take?") and must measure it the same way. The agent app
(``notebooks/apps/recovery_agent.py``) stops each run at a gate and logs every LLM call, tool run
and side effect to a file, so the counts survive any crash, including Redis's.

One kill serves several kill points: a run is held at each point at the same time, then the
target dies once, every gate opens, and each run is followed to its end.
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from cookbook.processes import ManagedProcess, wait_until
from cookbook.services import Stack
from cookbook.torn_reads import read_again_if_torn


def workflow_state(client: Any, instance: str, *, fetch_payloads: bool = True, attempts: int = 5) -> Any:
    """``client.get_workflow_state``, read again (as Dapr 1.18.3 does) when daprd 1.18.2 answers
    a torn read of a running workflow (:mod:`cookbook.torn_reads`)."""
    return read_again_if_torn(lambda: client.get_workflow_state(instance, fetch_payloads=fetch_payloads), attempts=attempts)


# Kill points, in run order: where each run is held when the target dies.
POINTS = ("llm0", "tool", "llm1", "done")
POINT_LABELS = {
    "llm0": "before the 1st LLM turn is recorded",
    "tool": "mid-tool",
    "llm1": "after the tool result, before the next turn",
    "done": "after completion",
}
# The gates a run passes to reach each point (the notebook opens them before it starts the run).
OPEN_BEFORE = {"llm0": (), "tool": ("llm0",), "llm1": ("llm0", "tool"), "done": ("llm0", "tool", "llm1")}
TARGETS = ("app", "sidecar", "both", "redis-aof", "redis-volatile")
TARGET_LABELS = {
    "app": "app",
    "sidecar": "sidecar",
    "both": "app + sidecar",
    "redis-aof": "Redis (AOF)",
    "redis-volatile": "Redis (no persistence)",
}
WORKFLOW = "dapr.agents.RecoveryAgent.workflow"


@dataclass
class Cell:
    """One run of the matrix: a target killed while the run was at ``point``."""

    target: str
    point: str
    instance: str
    recorded_turns: int      # LLM turns in the run's entry when the target died
    status: str              # COMPLETED, or LOST (instance gone), or the status it was stuck in
    same_instance: bool      # the instance that was started is the one that completed
    tool_runs: int
    effects: int             # side effects that happened (idempotency key new)
    llm_calls: dict[int, int]  # turn -> calls, over the run's whole life
    reasked: int             # calls, after the kill, of turns recorded before it (must be 0)
    recovery_s: float | None  # kill -> the run's last update (completion)

    def row(self) -> dict[str, Any]:
        return {
            "target": TARGET_LABELS[self.target], "kill point": POINT_LABELS[self.point], "instance": self.instance,
            "turns recorded": self.recorded_turns, "status": self.status,
            "same instance completed": "yes" if self.same_instance else "no", "tool runs": self.tool_runs,
            "effects": self.effects, "LLM calls per turn": " ".join(f"t{t}:{n}" for t, n in sorted(self.llm_calls.items())),
            "re-asked after recorded": self.reasked,
            "recovery s": "" if self.recovery_s is None else round(self.recovery_s, 2),
        }


@dataclass
class RecoveryHarness:
    """The stack, the agent app and the run-tagged event log of notebook 07 (and the bench)."""

    stack: Stack
    app: ManagedProcess
    client: Any  # dapr.ext.workflow.DaprWorkflowClient
    state_dir: Path
    app_id: str
    timeline: Any = None  # cookbook.timeline.Timeline: each kill and restart is marked there
    cells: list[Cell] = field(default_factory=list)
    restarts: list[tuple[str, float]] = field(default_factory=list)  # (process, seconds to ready) per restart

    # ---- the app's files ------------------------------------------------------------------
    def events(self, tag: str | None = None, kind: str | None = None) -> list[dict[str, Any]]:
        path = self.state_dir / "events.jsonl"
        if not path.exists():
            return []
        out = []
        for line in path.read_text().splitlines():
            try:
                event = json.loads(line)
            except ValueError:  # a line cut short by kill -9
                continue
            if (tag is None or event["tag"] == tag) and (kind is None or event["kind"] == kind):
                out.append(event)
        return out

    def open_gate(self, name: str) -> None:
        (self.state_dir / "gates" / name).touch()

    def close_all(self) -> None:
        (self.state_dir / "gates" / "all").unlink(missing_ok=True)

    # ---- runs -----------------------------------------------------------------------------
    def entry_roles(self, instance: str) -> list[str]:
        """Roles in the agent's per-run entry (empty when it is not there)."""
        raw = self.stack.redis.client().hget(f"{self.app_id}||recoveryagent:_workflow_{instance}", "data")
        return [m["role"] for m in json.loads(raw)["messages"]] if raw else []

    def status(self, instance: str) -> str:
        try:
            state = self.client.get_workflow_state(instance, fetch_payloads=False)
        except Exception as err:  # noqa: BLE001 - the sidecar may be down: that is an answer too
            return f"unreachable ({type(err).__name__})"
        return "LOST" if state is None else state.runtime_status.name

    def start_run(self, tag: str, point: str, task: str = "Charge order", timeout: float = 60) -> str:
        """Start a run and hold it at ``point``; returns its instance id (= tag)."""
        for stage in OPEN_BEFORE[point]:
            self.open_gate(f"{tag}.{stage}")
        self.client.schedule_new_workflow(WORKFLOW, input={"task": f"[run {tag}] {task} {tag}"}, instance_id=tag)
        reached: dict[str, Callable[[], bool]] = {
            "llm0": lambda: bool(self.events(tag, "llm")),
            "tool": lambda: bool(self.events(tag, "tool")),
            "llm1": lambda: any(e["turn"] == 1 for e in self.events(tag, "llm")),
            "done": lambda: self.status(tag) == "COMPLETED",
        }
        wait_until(reached[point], timeout=timeout, what=f"run {tag} at {point}", details=self.app.log_tail)
        return tag

    # ---- kills ----------------------------------------------------------------------------
    def _mark(self, process: str, action: str, **kw: Any) -> None:
        if self.timeline is not None:
            self.timeline.mark(process, action, **kw)

    def kill_and_recover(self, target: str, app_timeout: float = 120) -> float:
        """kill -9 the target, open every gate, bring the target back; returns the kill time
        (``time.time()``). Gates open while the target is down, so a step in flight finishes
        into a dead process (sidecar) or is gone with it (app): either way its result is lost."""
        redis = self.stack.redis
        killed_at = time.time()
        if target in ("app", "both"):
            pid = self.app.pid
            self.app.kill()
            self._mark("app", "kill -9", pid=pid, down=True)
        if target in ("sidecar", "both"):
            pid = self.stack.sidecar.pid
            self.stack.sidecar.kill()
            self._mark("sidecar", "kill -9", pid=pid, down=True)
        if target in ("redis-aof", "redis-volatile"):
            if target == "redis-volatile":
                redis.client().config_set("appendonly", "no")  # this Redis now keeps data in memory only
                assert redis.process is not None
                redis.process.argv = [("no" if prev == "--appendonly" else a) for prev, a in zip(["", *redis.process.argv], redis.process.argv)]
            pid = redis.pid
            redis.kill()
            self._mark("redis", "kill -9", pid=pid, down=True)
        self.open_gate("all")
        if target in ("redis-aof", "redis-volatile"):
            self.restarts.append(("redis", redis.restart(kill=True)))
            self._mark("redis", f"restarted ({'AOF reloaded' if target == 'redis-aof' else 'empty'})", pid=redis.pid, down=False)
        if target in ("sidecar", "both"):
            seconds = self.stack.sidecar.restart()
            self.restarts.append(("sidecar", seconds))
            self._mark("sidecar", f"restarted, healthy in {seconds:.1f} s", pid=self.stack.sidecar.pid, down=False)
        if target in ("app", "both"):
            seconds = self.app.start_and_wait(app_timeout)
            self.restarts.append(("app", seconds))
            self._mark("app", f"restarted, ready in {seconds:.1f} s", pid=self.app.pid, down=False)
        return killed_at

    def settle(self, instances: Sequence[str], timeout: float) -> dict[str, str]:
        """Wait until every run is terminal or gone (``LOST``), at most ``timeout`` s; returns
        the last status seen (a run still RUNNING then is stuck)."""
        last: dict[str, str] = {}
        deadline = time.monotonic() + timeout
        while True:
            last = {i: self.status(i) for i in instances}
            if all(s in ("COMPLETED", "FAILED", "TERMINATED", "LOST") for s in last.values()) or time.monotonic() > deadline:
                return last
            time.sleep(0.1)

    def measure(self, target: str, point: str, instance: str, recorded: int, status: str, killed_at: float) -> Cell:
        calls: dict[int, int] = {}
        reasked = 0
        for e in self.events(instance, "llm"):
            calls[e["turn"]] = calls.get(e["turn"], 0) + 1
            if e["time"] > killed_at and e["turn"] < recorded:
                reasked += 1
        recovery = None
        if status == "COMPLETED" and point != "done":
            state = self.client.get_workflow_state(instance, fetch_payloads=False)
            recovery = state.last_updated_at.timestamp() - killed_at
        cell = Cell(target, point, instance, recorded, status, status == "COMPLETED", len(self.events(instance, "tool")),
                    sum(1 for e in self.events(instance, "effect") if e["new"]), calls, reasked, recovery)
        self.cells.append(cell)
        return cell

    def run_target(self, target: str, points: Sequence[str] = POINTS, prefix: str = "", timeout: float = 60) -> list[Cell]:
        """One matrix row: hold a run at each point, kill the target once, follow every run."""
        self.close_all()
        runs = {p: self.start_run(f"{prefix}{target}-{p}", p) for p in points}
        self._mark("notebook", f"{len(runs)} runs held: {', '.join(points)}", status=target)
        recorded = {p: self.entry_roles(i).count("assistant") for p, i in runs.items()}
        killed_at = self.kill_and_recover(target)
        final = self.settle(list(runs.values()), timeout)
        cells = [self.measure(target, p, i, recorded[p], final[i], killed_at) for p, i in runs.items()]
        done = sum(c.status == "COMPLETED" for c in cells)
        self._mark("notebook", f"{TARGET_LABELS[target]}: {done}/{len(cells)} completed", status=target,
                   tool_runs=sum(c.tool_runs for c in cells), reasked=sum(c.reasked for c in cells))
        return cells


def cells_as_dicts(cells: Sequence[Cell]) -> list[dict[str, Any]]:
    return [asdict(c) for c in cells]


def matrix_chart(cells: Sequence[Cell], save_to: str | Path | None = None):  # type: ignore[no-untyped-def]
    """A grid (targets down, kill points across): green when the same instance completed, red
    when the run was lost or stuck; each square says tool runs, re-asked turns and recovery time."""
    import matplotlib.pyplot as plt  # noqa: PLC0415 - only when a chart is drawn

    targets = list(dict.fromkeys(c.target for c in cells))
    points = [p for p in POINTS if any(c.point == p for c in cells)]
    fig, ax = plt.subplots(figsize=(2.6 * len(points) + 2.2, 0.9 * len(targets) + 1.2))
    for c in cells:
        x, y = points.index(c.point), targets.index(c.target)
        ok = c.status == "COMPLETED"
        ax.add_patch(plt.Rectangle((x - 0.48, y - 0.45), 0.96, 0.9, color="#b2f2bb" if ok else "#ffc9c9"))
        lines = [c.status if not ok else "completed", f"tool runs {c.tool_runs}, re-asked {c.reasked}"]
        if c.recovery_s is not None:
            lines.append(f"recovered in {c.recovery_s:.1f} s")
        ax.text(x, y, "\n".join(lines), ha="center", va="center", fontsize=8)
    ax.set_xlim(-0.5, len(points) - 0.5)
    ax.set_ylim(len(targets) - 0.5, -0.5)
    ax.set_xticks(range(len(points)), [POINT_LABELS[p].replace(", ", ",\n") for p in points], fontsize=8)
    ax.set_yticks(range(len(targets)), [TARGET_LABELS[t] for t in targets])
    ax.set_title("kill -9 of each target at each kill point (green: the same instance completed)")
    fig.tight_layout()
    if save_to is not None:
        Path(save_to).parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(save_to, dpi=110)
    plt.close(fig)
    return fig
