"""04 Agent registry."""

from typing import Any

from cookbook.paths import NOTEBOOKS, ROOT

NOTEBOOK = "04_agent_registry"


def _counters(agent_count: int) -> dict[str, Any]:
    return {"registered_at_once": agent_count, "index_writes_for_registration": agent_count,
            "tools_offered": agent_count - 1,  # the others plus the other app's agent, minus itself and the orchestrator
            "stale_entries_after_kill": 1, "listed_after_restart": 1, "other_team_entries": 1,
            "registry_survived_redis_restart": True, "index_after_shutdown": 0}


CASES = [
    (ROOT, {"dapr_runtime": "local"}, _counters(5)),
    (NOTEBOOKS, {"dapr_runtime": "daprd", "agent_count": 4, "team": "shire", "other_team": "gondor"}, _counters(4)),
]
BAD_VALUES = {
    "output_dir": 42,
    "dapr_runtime": "bogus",
    "redis_url": "localhost:6379",
    "agent_count": 9,
    "team": "bad:team",
    "other_team": "Rohan",
}


def check(results: dict[str, Any], parameters: dict[str, Any]) -> None:
    keys = results["keys"]
    # every refused index write reached an agent, which logged it and retried (3 saves per conflict)
    assert keys["refused_writes_at_registration"] == 3 * keys["conflicts_at_registration"]
    assert keys["refused_writes_at_shutdown"] == 3 * keys["conflicts_at_shutdown"]
