"""07 Recovery and resumability."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "07_recovery_resumability"
CASES = [
    # the whole matrix (5 targets x 4 kill points) and the approval across the crashes
    (ROOT, {"dapr_runtime": "local"},
     {"cells": 16, "completed": 16, "reasked_llm_turns": 0, "tool_reruns": 3, "duplicate_effects": 0, "hitl_completed": 1,
      "volatile_completed": 0}),
    # a smaller matrix with another app id: the sidecar and Redis rows at two kill points, no approval run
    (NOTEBOOKS, {"dapr_runtime": "daprd", "app_id": "shop", "targets": "sidecar,redis-aof,redis-volatile", "kill_points": "tool,done",
                 "human_in_the_loop": False},
     {"cells": 4, "completed": 4, "reasked_llm_turns": 0, "tool_reruns": 1, "duplicate_effects": 0, "hitl_completed": 0,
      "volatile_completed": 0}),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "app_id": "Orders_App",
    "targets": "app,bogus",
    "kill_points": "mid",
    "human_in_the_loop": "yes",
    "completion_timeout": 0,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    rows = results["keys"]["matrix"]
    assert all(row["re-asked after recorded"] == 0 for row in rows)
    assert [row["status"] for row in rows if row["target"] != "Redis (no persistence)"] == ["COMPLETED"] * results["counters"]["cells"]
