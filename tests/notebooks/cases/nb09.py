"""09 Message-bus integration."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "09_message_bus"


def _counters(order_messages: int) -> dict[str, int]:
    return {"held_message_deliveries": 2, "held_message_runs": 1, "sidecar_kill_deliveries": 1, "sidecar_kill_runs": 1,
            "broadcast_entries": 2, "broadcast_groups": 2, "broadcast_memory_messages": 2,
            "poison_deliveries": 3, "dead_letters": 1,
            "outbox_events": 3, "outbox_writes": 3, "ordered_in_flight": 1, "parallel_in_flight": min(order_messages, 10)}


CASES = [
    (ROOT, {"dapr_runtime": "local"}, _counters(12)),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "app_id": "desk-2", "lead_app_id": "lead-2", "order_messages": 6}, _counters(6)),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "app_id": "Orders_App",
    "lead_app_id": "Lead_App",
    "llm": "bogus",
    "order_messages": 0,
    "completion_timeout": 0,
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    assert {"app_restart_to_acked", "sidecar_restart_to_acked", "sidecar_restart_to_published", "broadcast_run_to_recorded"} <= set(results["timings"])
