"""11 Production configuration."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "11_production_configuration"
_COUNTERS = {"secret_mistakes_caught": 4, "tool_runs_during_failover": 1, "late_write_replicas": 0, "late_write_lost": True}
CASES = [
    (ROOT, {"dapr_runtime": "local"}, _COUNTERS),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "app_id": "secure-agents", "redis_password": "another pass phrase", "sentinel_down_after_ms": 600},
     _COUNTERS),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "app_id": "Orders_App",
    "llm": "bogus",
    "redis_password": "",
    "sentinel_down_after_ms": 10,
    "completion_timeout": 0,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    timings = results["timings"]
    assert timings["failover"] >= timings["writes_unavailable"] > 0
