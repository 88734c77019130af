"""Chaos benchmark: N random kill -9 points during DurableAgent runs, per runtime.

Each round starts a few runs of notebook 07's agent (``notebooks/apps/recovery_agent.py``, every
step taking ``--step-seconds``), staggered at random, then kills one target at a random moment:
the app, the sidecar, both, or Redis (AOF, appendfsync always), brings it back and follows every
run to its end. What it prints per runtime:

* completed %: runs that completed as the same instance (anything else is a lost run);
* tool runs 1 / 2 / more: at-least-once execution, how often the in-flight tool ran again;
* LLM turns re-asked: calls, after the kill, of turns already recorded (must be 0);
* recovery p50 / p95: kill -> completion of the runs that were in flight at the kill;
* orphans: LLM calls or tool runs that started after their run had completed;
* stuck: runs still not terminal ``--timeout`` s after the kill;
* reminders left: pending workflow reminders once every run has ended (the local sidecar keeps
  them in Redis; daprd in its scheduler, which this script does not read: shown as n/a).

Exits 1 when any run was lost (not completed) or stuck, or a recorded turn was asked again.
Run: ``.venv/bin/python bench/chaos.py [--runs 100] [--runtime daprd|local|both] [--seed 7]``.
"""

from __future__ import annotations

import argparse
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from common import ROOT, add_runtime_option, percentile, print_table, runtimes_to_run, stop_on_sigterm

import dapr.ext.workflow as wf

from cookbook.paths import APPS, COMPONENTS
from cookbook.ports import free_port_block
from cookbook.recovery import RecoveryHarness
from cookbook.redis_server import RedisServer
from cookbook.services import Stack, prepare_resources, use_sidecar_in_this_process
from cookbook.sidecar import Sidecar

TARGETS = ("app", "sidecar", "both", "redis-aof")
APP_ID = "chaos-app"


def start(runtime: str, work: Path, step_seconds: float) -> RecoveryHarness:
    ports = free_port_block(40)
    redis = RedisServer(port=ports.take(), workdir=work / "redis", appendonly=True)
    redis.start()
    sidecar = Sidecar(APP_ID, [prepare_resources(COMPONENTS / "07-recovery-resumability", work / "resources", redis)], ports, work,
                      runtime=runtime)
    stack = Stack(redis, sidecar, work, work / "resources", ports, 0.0)
    try:
        stack.sidecar_start_seconds = sidecar.start()
        use_sidecar_in_this_process(sidecar)
        state = work / "agent"
        state.mkdir()
        app = stack.start_app("recovery-agent", APPS / "recovery_agent.py",
                              {"AGENT_STATE_DIR": str(state), "AGENT_STEP_SECONDS": str(step_seconds)}, ready_line="agent ready")
    except BaseException:
        stack.stop()
        ports.release()
        raise
    client = wf.DaprWorkflowClient(host="127.0.0.1", port=str(sidecar.grpc_port))
    harness = RecoveryHarness(stack, app, client, state, APP_ID)
    harness.open_gate("all")  # runs flow freely: the kill lands wherever they are
    return harness


def reminders_left(h: RecoveryHarness) -> int | None:
    if h.stack.sidecar.runtime_used != "local":
        return None
    from localdapr.workflow.reminders import reminder_keys  # noqa: PLC0415

    return int(h.stack.redis.client().zcard(reminder_keys(APP_ID)[0]))


def chaos(runtime: str, rounds: int, runs_per_round: int, step_seconds: float, timeout: float, rng: random.Random) -> dict[str, Any]:
    work = Path(tempfile.mkdtemp(prefix=f"chaos-{runtime}-"))
    h = start(runtime, work, step_seconds)
    run_seconds = 3 * step_seconds + 0.5  # three gated steps plus the workflow's own turns
    rows: list[dict[str, Any]] = []
    try:
        for n in range(rounds):
            target = rng.choice(TARGETS)
            tags = [f"r{n}-{k}" for k in range(runs_per_round)]
            for tag in tags:
                h.client.schedule_new_workflow("dapr.agents.RecoveryAgent.workflow", input={"task": f"[run {tag}] Charge order {tag}"},
                                               instance_id=tag)
                time.sleep(rng.uniform(0, run_seconds / runs_per_round))
            time.sleep(rng.uniform(0, run_seconds))
            recorded = {t: h.entry_roles(t).count("assistant") for t in tags}
            before = {t: h.status(t) for t in tags}
            killed_at = h.kill_and_recover(target)
            final = h.settle(tags, timeout)
            for t in tags:
                cell = h.measure(target, "done", t, recorded[t], final[t], killed_at)
                completed_at = None
                if final[t] == "COMPLETED":
                    completed_at = h.client.get_workflow_state(t, fetch_payloads=False).last_updated_at.timestamp()
                late = [e for e in h.events(t) if completed_at is not None and e["kind"] in ("llm", "tool") and e["time"] > completed_at]
                rows.append({"round": n, "target": target, "run": t, "before": before[t], "status": final[t],
                             "tool_runs": cell.tool_runs, "effects": cell.effects, "reasked": cell.reasked,
                             "recovery": (completed_at - killed_at) if completed_at and before[t] != "COMPLETED" else None,
                             "orphans": len(late)})
            print(f"  {runtime} round {n + 1}/{rounds}: kill {target}, "
                  f"{sum(final[t] == 'COMPLETED' for t in tags)}/{len(tags)} completed", flush=True)
        left = reminders_left(h)
    finally:
        h.stack.stop()
        h.stack.ports.release()
        shutil.rmtree(work, ignore_errors=True)
    return summarize(rows, left)


def summarize(rows: list[dict[str, Any]], reminders: int | None) -> dict[str, Any]:
    runs = len(rows)
    recovery = sorted(r["recovery"] for r in rows if r["recovery"] is not None)
    return {
        "runs": runs,
        "completed %": round(100 * sum(r["status"] == "COMPLETED" for r in rows) / runs, 1) if runs else 0.0,
        "lost": sum(r["status"] not in ("COMPLETED", "RUNNING") for r in rows),
        "stuck": sum(r["status"] == "RUNNING" for r in rows),
        "tool runs 1": sum(r["tool_runs"] == 1 for r in rows),
        "tool runs 2": sum(r["tool_runs"] == 2 for r in rows),
        "tool runs more": sum(r["tool_runs"] > 2 for r in rows),
        "duplicate effects": sum(max(r["effects"] - 1, 0) for r in rows),
        "LLM turns re-asked": sum(r["reasked"] for r in rows),
        "recovery p50 s": round(percentile(recovery, 0.50), 2) if recovery else None,
        "recovery p95 s": round(percentile(recovery, 0.95), 2) if recovery else None,
        "orphans": sum(r["orphans"] for r in rows),
        "reminders left": "n/a" if reminders is None else reminders,
        "kills": dict(sorted({t: len({r["round"] for r in rows if r["target"] == t}) for t in TARGETS}.items())),
    }


def failed(summary: dict[str, Any]) -> list[str]:
    problems = []
    if summary["lost"] or summary["stuck"]:
        problems.append(f"{summary['lost']} lost and {summary['stuck']} stuck runs")
    if summary["LLM turns re-asked"]:
        problems.append(f"{summary['LLM turns re-asked']} recorded LLM turns asked again")
    if summary["duplicate effects"]:
        problems.append(f"{summary['duplicate effects']} duplicate side effects")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    add_runtime_option(parser)
    parser.add_argument("--runs", type=int, default=100, help="kill -9 points per runtime (default 100)")
    parser.add_argument("--runs-per-kill", type=int, default=3, help="runs in flight at each kill (default 3)")
    parser.add_argument("--step-seconds", type=float, default=0.3, help="how long each LLM turn and tool run takes")
    parser.add_argument("--timeout", type=float, default=120, help="seconds a run may take to complete after a kill")
    parser.add_argument("--seed", type=int, default=None, help="random seed (printed, so a run can be repeated)")
    parser.add_argument("--json", type=Path, default=None, help="also write the summaries to this file")
    args = parser.parse_args(argv)
    if args.runs < 1 or args.runs_per_kill < 1:
        parser.error("--runs and --runs-per-kill must be at least 1")
    stop_on_sigterm()
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1 << 30)
    print(f"chaos: {args.runs} kills per runtime, {args.runs_per_kill} runs each, seed {seed}", flush=True)
    summaries = {}
    for runtime in runtimes_to_run(args.runtime):
        started = time.monotonic()
        summaries[runtime] = chaos(runtime, args.runs, args.runs_per_kill, args.step_seconds, args.timeout, random.Random(seed))
        summaries[runtime]["wall s"] = round(time.monotonic() - started, 1)
    names = list(next(iter(summaries.values())))
    shown = {rt: {k: json.dumps(v) if isinstance(v, dict) else str(v) for k, v in s.items()} for rt, s in summaries.items()}
    print_table(f"chaos: {args.runs} random kill -9 per runtime, {args.runs_per_kill} runs in flight at each (seed {seed})",
                list(summaries), [(k, {rt: shown[rt][k] for rt in summaries}) for k in names])
    if args.json:
        args.json.write_text(json.dumps({"seed": seed, **summaries}, indent=2))
    bad = {rt: failed(s) for rt, s in summaries.items() if failed(s)}
    for rt, problems in bad.items():
        print(f"FAIL on {rt}: {'; '.join(problems)}", file=sys.stderr)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
