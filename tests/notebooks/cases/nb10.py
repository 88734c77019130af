"""10 State key management."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "10_state_key_management"
_SAME = {"keys_after_first_runs": 90, "keys_per_run_of_2_turns": 39, "capped_tool_turns": 3, "half_purged_instances": 0, "orphans_left": 0}
CASES = [
    (ROOT, {"dapr_runtime": "local"}, {**_SAME, "purged_by_route": 3, "orphan_entries_removed": 5}),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "app_id": "ledger", "sidecar_namespace": "tenant-a", "growth_runs": 2, "growth_turns": 4},
     {**_SAME, "purged_by_route": 2, "orphan_entries_removed": 4}),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "app_id": "Orders_App",
    "sidecar_namespace": "Tenant A",
    "growth_runs": 1,
    "growth_turns": 3,
    "completion_timeout": 0,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    turns = [row["turns"] for row in results["keys"]["growth_by_turns"]]
    assert turns == [t for t in (1, 2, 4, 8, 16) if t <= parameters.get("growth_turns", 8)]
    assert "agent_restart" in results["timings"] and "sidecar_restart" in results["timings"]
