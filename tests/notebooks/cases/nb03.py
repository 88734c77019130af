"""03 Workflow state store + orchestrator: each orchestration mode, on both runtimes (the nbmake run
covers AGENT mode on daprd)."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "03_workflow_orchestrator"


def _counters(rounds: int, coordinator_llm_calls: int) -> dict[str, int]:
    return {"rounds": rounds, "agent_llm_tickets": rounds + 1, "coordinator_llm_calls": coordinator_llm_calls,
            "entry_rounds": rounds, "instances_in_run": rounds + 2,
            "history_rows_left_after_purge": 0, "agent_entries_left_after_delete": 0}


CASES = [
    # AGENT mode: a 4-step plan, bounded at 3 rounds; planner calls: plan + 2 per round + answer + summary
    (ROOT, {"dapr_runtime": "local"}, _counters(3, 9)),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "orchestration_mode": "roundrobin", "max_iterations": 4}, _counters(4, 0)),
    (ROOT, {"dapr_runtime": "local", "orchestration_mode": "random", "task": "Summarise the release notes"}, _counters(3, 0)),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "orchestration_mode": "llm",
    "max_iterations": 0,
    "plan_steps": 0,
    "task": "",
    "completion_timeout": 0,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    assert results["keys"]["mode"] == parameters.get("orchestration_mode", "agent")
    assert {"coordinator_restart", "agent_sidecar_restart_to_completed", "orchestration_total"} <= set(results["timings"])
