"""06 Multi-store architecture."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "06_multi_store"
_COUNTERS = {"redis_servers": 4, "runs_completed": 5, "max_tool_runs_per_run": 1, "aof_keys_lost": 0, "memory_keys_lost": 2,
             "two_actor_stores_exit_code": 1}
CASES = [
    (ROOT, {"dapr_runtime": "local"}, _COUNTERS),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "app_id": "notes-app", "topic": "Redis AOF", "memory_ttl_seconds": 600}, _COUNTERS),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "app_id": "Orders_App",
    "llm": "bogus",
    "topic": "",
    "memory_ttl_seconds": 0,
    "completion_timeout": 0,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    assert {f"outage_{s}" for s in ("registrystore", "memorystore", "agentstatestore", "workflowstatestore")} <= set(results["timings"])
    assert results["keys"]["registrystore"] == 2  # agents:research:ResearchAgent and the index, whatever the app id
