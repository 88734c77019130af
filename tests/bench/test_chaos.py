"""bench/chaos.py with a small N, on both runtimes: random kill -9 of the app, the sidecar, both or
Redis (AOF) during DurableAgent runs loses no run, asks no recorded LLM turn again and makes no
side effect twice. The full benchmark (N=100) runs by hand; its figures are in the README."""

from __future__ import annotations

import random
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "bench"))

import chaos  # noqa: E402


def test_small_chaos_run_loses_nothing(dapr_runtime: str) -> None:
    summary = chaos.chaos(dapr_runtime, rounds=4, runs_per_round=2, step_seconds=0.3, timeout=120, rng=random.Random(7))
    print(summary)
    assert summary["runs"] == 8
    assert (summary["lost"], summary["stuck"], summary["completed %"]) == (0, 0, 100.0), summary
    assert summary["LLM turns re-asked"] == 0 and summary["duplicate effects"] == 0, summary
    assert summary["tool runs 1"] + summary["tool runs 2"] + summary["tool runs more"] == 8
    assert sum(summary["kills"].values()) == 4
    assert chaos.failed(summary) == []


@pytest.mark.parametrize("change,problem", [
    ({"lost": 1}, "1 lost and 0 stuck runs"),
    ({"stuck": 2}, "0 lost and 2 stuck runs"),
    ({"LLM turns re-asked": 1}, "1 recorded LLM turns asked again"),
    ({"duplicate effects": 3}, "3 duplicate side effects"),
])
def test_any_lost_run_fails_the_benchmark(change: dict, problem: str) -> None:
    rows = [{"round": 0, "target": "app", "run": "r0-0", "before": "RUNNING", "status": "COMPLETED", "tool_runs": 2,
             "effects": 1, "reasked": 0, "recovery": 1.5, "orphans": 0}]
    summary = {**chaos.summarize(rows, 0), **change}
    assert chaos.failed(chaos.summarize(rows, 0)) == []
    assert chaos.failed(summary) == [problem]
