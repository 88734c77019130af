"""Notebooks run under papermill with users' own parameters, and report what they measured."""

from __future__ import annotations

import json
from pathlib import Path

import papermill
import pytest

from tests.runtimes import require_runtime

ROOT = Path(__file__).resolve().parents[2]

# Every notebook on both runtimes: nbmake runs each one with its defaults (on daprd when
# ``make test`` found Go), these run the defaults on the local sidecar and other parameters on daprd.
CASES = [
    ("01_redis_state_store", {"dapr_runtime": "local"}, {"orders": 3}),
    ("01_redis_state_store", {"dapr_runtime": "daprd", "app_id": "shop", "order_count": 5, "ttl_seconds": 10}, {"orders": 5}),
    ("02_durable_agent_state", {"dapr_runtime": "local"}, {"registry_entries": 1, "llm_turn0_calls_app_crash": 1}),
    ("02_durable_agent_state", {"dapr_runtime": "daprd", "app_id": "meteo", "city": "Lisbon"}, {"registry_entries": 1, "llm_turn0_calls_app_crash": 1}),
]


@pytest.mark.parametrize("name,params,expected", CASES, ids=[f"{c[0]}-{c[1]['dapr_runtime']}" for c in CASES])
def test_notebook_runs_with_parameters(tmp_path: Path, name: str, params: dict, expected: dict) -> None:
    require_runtime(params["dapr_runtime"])
    out = tmp_path / name
    out.mkdir()
    papermill.execute_notebook(
        str(ROOT / "notebooks" / f"{name}.ipynb"), str(out / f"{name}.ipynb"),
        parameters={"output_dir": str(out), **params}, kernel_name="python3", cwd=str(ROOT / "notebooks"), progress_bar=False,
    )
    results = json.loads((out / "results.json").read_text())
    assert results["passed"] is True and results["runtime"] == params["dapr_runtime"]
    for key, value in expected.items():
        assert results["counters"][key] == value
    assert results["timings"]["sidecar_restart"] > 0
    if name.startswith("02"):
        assert 1 <= results["counters"]["tool_runs_app_crash"] <= 2
        assert "app_restart_to_completed" in results["timings"] and "sidecar_restart_to_completed" in results["timings"]
