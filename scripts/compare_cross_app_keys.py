"""Run the same cross-app workflows on daprd and on the local sidecar and diff every Redis key.

Three apps (``tests/multiapp/crossapp_worker.py``: A's workflows call an activity in B and a
child workflow in C), one sidecar each on one control plane and one Redis per runtime. Runs
``cross_parent`` (activity in B + child in C), ``cross_failure`` (B's activity raises, caught)
and ``cross_uncaught`` (C's child fails), dumps every workflow key (the local sidecar's own
``localdapr||`` reminder/directory keys and the workers' counters left out), normalises
timestamps and UUIDs and prints what differs. Usage::

    .venv/bin/python scripts/compare_cross_app_keys.py [--runtime daprd|local|both]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from scripts.compare_workflow_keys import dump, report_differences  # noqa: E402
from tests.multiapp.team import start_team  # noqa: E402

RUNS = (("cross_parent", "p1", "ada"), ("cross_failure", "p2", "bob"), ("cross_uncaught", "p3", "cy"))


def run(runtime: str) -> dict[str, Any]:
    team = start_team(runtime, "cmpx")
    try:
        client = team.client("a")
        for workflow, iid, arg in RUNS:
            client.schedule_new_workflow(workflow, input=arg, instance_id=iid)
            client.wait_for_workflow_completion(iid, timeout_in_seconds=90)
        return {k: v for k, v in dump(team.redis).items() if not k.startswith(("localdapr||", "runs:"))}
    finally:
        team.stop()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runtime", choices=["daprd", "local", "both"], default="both")
    args = parser.parse_args()
    runtimes = ["daprd", "local"] if args.runtime == "both" else [args.runtime]
    dumps = {r: run(r) for r in runtimes}
    for runtime, keys in dumps.items():
        apps: dict[str, int] = {}
        for key in keys:
            apps[key.split("||")[0]] = apps.get(key.split("||")[0], 0) + 1
        print(f"===== {runtime}: {len(keys)} keys, per app prefix {apps}")
    if len(dumps) == 2:
        sys.exit(1 if report_differences(dumps["daprd"], dumps["local"]) else 0)


if __name__ == "__main__":
    main()
