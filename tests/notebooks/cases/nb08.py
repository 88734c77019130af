"""08 Actor state store."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "08_actor_state_store"
_COUNTERS = {"seed_key_ttl": -1, "messages_before_expiry": 3, "messages_after_expiry": 2, "messages_after_app_crash": 2, "reactivations": 1}
CASES = [
    (ROOT, {"dapr_runtime": "local"}, {**_COUNTERS, "serialised_calls": 4}),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "app_id": "memory-app", "session_id": "chat-7", "message_ttl": 2, "concurrent_calls": 3},
     {**_COUNTERS, "serialised_calls": 3}),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "app_id": "Orders_App",
    "session_id": "Chat 42",
    "message_ttl": 0,
    "concurrent_calls": 1,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    assert "app_restart" in results["timings"] and "sidecar_restart_to_reminder" in results["timings"]
    assert results["keys"]["actor_keys"] > 0 and results["keys"]["workflow_keys"] > 0
