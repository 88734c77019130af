"""02 DurableAgent state configuration."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "02_durable_agent_state"
_COUNTERS = {"registry_entries": 1, "llm_turn0_calls_app_crash": 1, "tool_runs_app_crash": 2, "tool_runs_sidecar_crash": 2}
CASES = [
    (ROOT, {"dapr_runtime": "local"}, _COUNTERS),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "app_id": "meteo", "city": "Lisbon"}, _COUNTERS),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "app_id": "Orders_App",
    "llm": "bogus",
    "city": "",
    "completion_timeout": 0,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    assert "app_restart_to_completed" in results["timings"] and "sidecar_restart_to_completed" in results["timings"]
