"""Launcher: daprd discovery, argument building, and the daprd start order, with stand-ins.

Stand-in executables named daprd/placement/scheduler record their argv and serve the health
endpoints the launcher waits on, so discovery and argv are checked without depending on which
real binaries this machine has (the real daprd runs in every differential test).
"""

from __future__ import annotations

import json
import os
import stat
import sys
from pathlib import Path

import httpx
import pytest

from cookbook import sidecar as sidecar_module
from cookbook.ports import PortBlock
from cookbook.sidecar import Sidecar, SidecarNotFound, choose_runtime, find_daprd


@pytest.fixture(autouse=True)
def no_project_build(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Hide the project's own .dapr/bin, so each test decides which binaries exist."""
    monkeypatch.setattr(sidecar_module, "PROJECT_DAPR_BIN", tmp_path / "no-project-build")

STAND_IN = f"""#!{sys.executable}
import json, os, sys, http.server
name = os.path.basename(sys.argv[0])
args = sys.argv[1:]
with open(os.path.join(os.path.dirname(sys.argv[0]), name + ".argv.json"), "a") as f:
    f.write(json.dumps(args) + "\\n")
def flag(n):
    return args[args.index(n) + 1] if n in args else None
port = int(flag("--dapr-http-port") or flag("--healthz-port"))
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(204 if self.path.startswith(("/v1.0/healthz", "/healthz")) else 404); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", port), H).serve_forever()
"""


def make_dapr_home(root: Path, names: tuple[str, ...] = ("daprd", "placement", "scheduler")) -> Path:
    bin_dir = root / ".dapr" / "bin"
    bin_dir.mkdir(parents=True)
    for name in names:
        exe = bin_dir / name
        exe.write_text(STAND_IN)
        exe.chmod(exe.stat().st_mode | stat.S_IEXEC)
    return bin_dir


def test_discovery_order(tmp_path: Path) -> None:
    home_bin = make_dapr_home(tmp_path / "home")
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin"}
    assert find_daprd(env).daprd == home_bin / "daprd"  # type: ignore[union-attr]
    other = make_dapr_home(tmp_path / "explicit")
    assert find_daprd({**env, "DAPRD": str(other / "daprd")}).daprd == other / "daprd"  # type: ignore[union-attr]
    assert find_daprd({**env, "DAPR_RUNTIME_PATH": str(tmp_path / "explicit")}).daprd == other / "daprd"  # type: ignore[union-attr]
    assert find_daprd({"HOME": str(tmp_path / "nothing"), "PATH": "/usr/bin"}) is None


def test_project_build_comes_after_path_and_before_home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    home_bin = make_dapr_home(tmp_path / "home")
    project_bin = make_dapr_home(tmp_path / "project")
    monkeypatch.setattr(sidecar_module, "PROJECT_DAPR_BIN", project_bin)
    env = {"HOME": str(tmp_path / "home"), "PATH": "/usr/bin"}
    found = find_daprd(env)
    assert found is not None and found.daprd == project_bin / "daprd" and found.placement == project_bin / "placement"
    on_path = make_dapr_home(tmp_path / "onpath")
    assert find_daprd({**env, "PATH": f"{on_path}:/usr/bin"}).daprd == on_path / "daprd"  # type: ignore[union-attr]
    monkeypatch.setattr(sidecar_module, "PROJECT_DAPR_BIN", tmp_path / "absent")
    assert find_daprd(env).daprd == home_bin / "daprd"  # type: ignore[union-attr]


def test_runtime_choice(tmp_path: Path) -> None:
    make_dapr_home(tmp_path)
    with_dapr = {"HOME": str(tmp_path), "PATH": "/usr/bin"}
    without = {"HOME": str(tmp_path / "none"), "PATH": "/usr/bin"}
    assert choose_runtime(None, with_dapr)[0] == "daprd"
    assert choose_runtime("local", with_dapr)[0] == "local"
    assert choose_runtime(None, {**with_dapr, "DAPR_RUNTIME": "local"})[0] == "local"
    assert choose_runtime("auto", without)[0] == "local"
    with pytest.raises(SidecarNotFound, match="dapr init --slim"):
        choose_runtime("daprd", without)
    with pytest.raises(ValueError):
        choose_runtime("docker", without)


def test_local_and_daprd_get_the_same_flags(tmp_path: Path, ports: PortBlock, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "none"))
    monkeypatch.delenv("DAPRD", raising=False)
    local = Sidecar("app1", [tmp_path / "res"], ports, tmp_path / "run", runtime="local", app_port=7000)
    assert local.process.argv[:3] == [sys.executable, "-m", "localdapr"]
    assert local.process.argv[3:] == local.daprd_flags()
    flags = local.daprd_flags()
    for expected in (["--app-id", "app1"], ["--dapr-listen-addresses", "127.0.0.1"], ["--app-port", "7000"],
                     ["--resources-path", str(tmp_path / "res")], ["--placement-host-address", f"127.0.0.1:{local.placement_port}"]):
        i = flags.index(expected[0])
        assert flags[i : i + 2] == expected
    ports_used = [local.http_port, local.grpc_port, local.placement_port, local.scheduler_port]
    assert len(set(ports_used)) == 4 and all(p < 32768 for p in ports_used)


def test_daprd_mode_starts_scheduler_placement_then_daprd(tmp_path: Path, ports: PortBlock, monkeypatch: pytest.MonkeyPatch) -> None:
    bin_dir = make_dapr_home(tmp_path / "home")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAPR_RUNTIME", raising=False)
    sidecar = Sidecar("app2", [tmp_path / "res"], ports, tmp_path / "run")
    try:
        assert sidecar.runtime_used == "daprd"
        sidecar.start(timeout=30)
        assert httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/healthz").status_code == 204
        daprd_args = json.loads((bin_dir / "daprd.argv.json").read_text().splitlines()[0])
        assert daprd_args[: len(sidecar.daprd_flags())] == sidecar.daprd_flags()
        assert "--enable-metrics=false" in daprd_args
        sched = json.loads((bin_dir / "scheduler.argv.json").read_text())
        place = json.loads((bin_dir / "placement.argv.json").read_text())
        assert sched[sched.index("--port") + 1] == str(sidecar.scheduler_port)
        assert place[place.index("--port") + 1] == str(sidecar.placement_port)
        assert sched[sched.index("--healthz-port") + 1] != place[place.index("--healthz-port") + 1]
        assert sched[sched.index("--etcd-data-dir") + 1].startswith(str(tmp_path / "run"))
        # restart keeps ports and flags
        sidecar.restart()
        again = json.loads((bin_dir / "daprd.argv.json").read_text().splitlines()[1])
        assert again == daprd_args
    finally:
        sidecar.stop()
    assert not any(p.alive for p in [sidecar.process, *sidecar.helpers])


def test_daprd_without_placement_is_a_clear_error(tmp_path: Path, ports: PortBlock, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dapr_home(tmp_path / "home", names=("daprd",))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    with pytest.raises(SidecarNotFound, match="not scheduler, placement"):
        Sidecar("app3", [tmp_path], ports, tmp_path / "run", runtime="daprd")


def test_app_process_gets_the_sidecar_ports(tmp_path: Path, ports: PortBlock) -> None:
    sidecar = Sidecar("app4", [tmp_path], ports, tmp_path / "run", runtime="local")
    out = tmp_path / "env.json"
    app = sidecar.app_process("envdump", [sys.executable, "-c", f"import json, os; json.dump(dict(os.environ), open({str(out)!r}, 'w'))"])
    app.start()
    app._proc.wait(20)  # type: ignore[union-attr]
    env = json.loads(out.read_text())
    assert env["DAPR_GRPC_PORT"] == str(sidecar.grpc_port) and env["DAPR_HTTP_PORT"] == str(sidecar.http_port)
    assert os.getpgid(0) != app.pid


def test_daprd_gets_file_based_name_resolution_and_keeps_the_callers_config(tmp_path: Path, ports: PortBlock, monkeypatch: pytest.MonkeyPatch) -> None:
    """daprd's self-hosted default, mDNS, multicasts on the network; the launcher swaps in
    SQLite name resolution, merged into the caller's Configuration without losing anything."""
    import yaml

    make_dapr_home(tmp_path / "home")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    bare = Sidecar("app5", [tmp_path], ports, tmp_path / "run5", runtime="daprd")
    argv = bare.argv()
    config = yaml.safe_load(Path(argv[argv.index("--config") + 1]).read_text())
    assert config["kind"] == "Configuration"
    assert config["spec"]["nameResolution"] == {
        "component": "sqlite", "version": "v1", "configuration": {"connectionString": str(tmp_path / "run5" / "name-resolution.db")}}
    assert "--config" not in bare.daprd_flags()

    mine = tmp_path / "config.yaml"
    mine.write_text("apiVersion: dapr.io/v1alpha1\nkind: Configuration\nmetadata: {name: mine}\nspec:\n  secrets: {scopes: [{storeName: s, defaultAccess: deny}]}\n")
    custom = Sidecar("app6", [tmp_path], ports, tmp_path / "run6", runtime="daprd", config=mine)
    argv = custom.argv()
    assert argv.count("--config") == 1
    merged = yaml.safe_load(Path(argv[argv.index("--config") + 1]).read_text())
    assert merged["metadata"]["name"] == "mine" and merged["spec"]["secrets"]["scopes"][0]["defaultAccess"] == "deny"
    assert merged["spec"]["nameResolution"]["component"] == "sqlite"
    assert custom.daprd_flags()[custom.daprd_flags().index("--config") + 1] == str(mine)  # the local sidecar gets the original


def test_start_stack_that_cannot_start_a_sidecar_leaves_no_redis_behind(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """No daprd although the notebook asked for it: the error says so and the Redis started just
    before is stopped (it used to outlive the failed cell)."""
    from cookbook import processes, services, sidecar  # noqa: PLC0415

    monkeypatch.setattr(sidecar, "find_daprd", lambda env=None: None)
    before = set(map(id, processes.live_processes()))
    with pytest.raises(sidecar.SidecarNotFound):
        services.start_stack(30, "x", "01-redis-state-store", tmp_path, runtime="daprd")  # block 23000, no notebook owns it
    assert [p for p in processes.live_processes() if id(p) not in before] == []


def test_sidecars_on_one_control_plane_share_placement_scheduler_and_name_resolution(
        tmp_path: Path, ports: PortBlock, monkeypatch: pytest.MonkeyPatch) -> None:
    """Cross-app workflows need every daprd on ONE placement and ONE scheduler: two sidecars on a
    ControlPlane start one pair between them, get its addresses and one SQLite name file."""
    import yaml

    bin_dir = make_dapr_home(tmp_path / "home")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("DAPR_RUNTIME", raising=False)
    plane = sidecar_module.ControlPlane(ports, tmp_path / "run")
    first, second = plane.sidecar("app-a", [tmp_path]), plane.sidecar("app-b", [tmp_path])
    try:
        assert first.helpers == [] and second.helpers == []
        first.start(timeout=30)
        second.start(timeout=30)
        assert len((bin_dir / "placement.argv.json").read_text().splitlines()) == 1
        assert len((bin_dir / "scheduler.argv.json").read_text().splitlines()) == 1
        place = json.loads((bin_dir / "placement.argv.json").read_text())
        runs = [json.loads(line) for line in (bin_dir / "daprd.argv.json").read_text().splitlines()]
        assert [r[r.index("--app-id") + 1] for r in runs] == ["app-a", "app-b"]
        for argv in runs:
            assert argv[argv.index("--placement-host-address") + 1] == f"127.0.0.1:{place[place.index('--port') + 1]}"
            assert argv[argv.index("--scheduler-host-address") + 1] == f"127.0.0.1:{plane.scheduler_port}"
            config = yaml.safe_load(Path(argv[argv.index("--config") + 1]).read_text())
            assert config["spec"]["nameResolution"]["configuration"]["connectionString"] == str(plane.name_db)
        used = [first.http_port, first.grpc_port, second.http_port, second.grpc_port, plane.placement_port, plane.scheduler_port]
        assert len(set(used)) == len(used) and all(ports.base <= p < ports.base + ports.size for p in used)
        first.stop()  # one app stopped: the shared pair keeps serving the other
        assert all(h.alive for h in plane.helpers) and second.process.alive
    finally:
        first.stop()
        second.stop()
        plane.stop()
    assert not any(p.alive for p in [first.process, second.process, *plane.helpers])


def test_local_control_plane_starts_nothing_and_switches_actors_on(tmp_path: Path, ports: PortBlock) -> None:
    plane = sidecar_module.ControlPlane(ports, tmp_path / "run", runtime="local")
    assert plane.helpers == [] and plane.start() == {}
    side = plane.sidecar("app-l", [tmp_path])
    flags = side.daprd_flags()
    assert flags[flags.index("--placement-host-address") + 1] == f"127.0.0.1:{plane.placement_port}"
    assert side.run_dir == tmp_path / "run" / "app-l"


def test_a_sidecar_cannot_mix_runtimes_with_its_control_plane(tmp_path: Path, ports: PortBlock, monkeypatch: pytest.MonkeyPatch) -> None:
    make_dapr_home(tmp_path / "home")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    plane = sidecar_module.ControlPlane(ports, tmp_path / "run", runtime="local")
    with pytest.raises(ValueError, match="would run daprd on a local control plane"):
        Sidecar("x", [tmp_path], ports, tmp_path / "x", runtime="daprd", control_plane=plane)
