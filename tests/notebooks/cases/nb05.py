"""05 State store scoping and multi-tenant isolation."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "05_state_store_scoping"
_COUNTERS = {"scoped_store_denied": 2, "secrets_denied": 1, "greeting_keys": 4, "foreign_keys": 0, "other_tenant_keys_changed": 0}
CASES = [
    (ROOT, {"dapr_runtime": "local"}, {**_COUNTERS, "runs_completed": 4 * 2 + 2}),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "tenants": "blue,green", "app_id": "support-bots", "concurrent_runs": 6},
     {**_COUNTERS, "runs_completed": 6 * 2 + 2}),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "app_id": "Orders_App",
    "tenants": "acme",
    "concurrent_runs": 0,
    "completion_timeout": 0,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    tenants = parameters.get("tenants", "acme,globex").split(",")
    assert sorted(results["keys"]) == sorted(tenants) and all(results["keys"][t] > 0 for t in tenants)
    assert "restart_to_completed" in results["timings"]
