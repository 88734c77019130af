"""cookbook.registry's fork launcher: one process per agent, killed or stopped alone, nothing left."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from cookbook.processes import wait_until
from cookbook.registry import AgentFleet

APP = Path(__file__).with_name("registry_dummy_app.py")
ENV = {"DAPR_HTTP_PORT": "3500", "DAPR_GRPC_PORT": "50001"}


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def test_spawn_kill_restart_terminate(tmp_path: Path) -> None:
    fleet = AgentFleet(APP, tmp_path)
    fleet.start(60)
    try:
        fleet.spawn([{"name": n} for n in ("A", "B", "C")], ENV)
        pids = dict(fleet.pids)
        assert len(set(pids.values())) == 3 and fleet.launcher.pid not in pids.values()
        assert "port=50001" in fleet.log("A").read_text()        # the sidecar's address reached the child
        assert fleet.kill("B") == pids["B"] and fleet.exited("B")["exit"] == -signal.SIGKILL
        assert alive(pids["A"]) and alive(pids["C"])             # killed alone
        fleet.spawn([{"name": "B"}], ENV, together=False)
        assert fleet.pids["B"] != pids["B"] and fleet.exited("B") is None
        assert fleet.terminate(["A", "B", "C"]) == {"A": 0, "B": 0, "C": 0}
        assert fleet.log("B").read_text().count("agent ready B") == 2
        assert all(fleet.log(n).read_text().rstrip().endswith(f"agent stopped {n}") for n in "ABC")
    finally:
        fleet.stop()


def test_a_launcher_whose_run_was_replaced_exits_and_kills_its_agents(tmp_path: Path) -> None:
    fleet = AgentFleet(APP, tmp_path)
    fleet.start(60)
    try:
        fleet.spawn([{"name": "A"}], ENV)
        child = fleet.pids["A"]
        (fleet.folder / "token").write_text("another run")        # what a new run of the notebook does
        wait_until(lambda: not fleet.launcher.alive and not alive(child), 10, what="launcher and agent gone")
        assert "orphaned or replaced" in fleet.launcher.log_path.read_text()
    finally:
        fleet.stop()
