"""A Redis high-availability group on loopback: a primary, replicas and Sentinels.

What users move to when one Redis is not enough, and what Dapr's Redis components follow with
``failover: "true"`` + ``sentinelMasterName`` (the component's ``redisHost`` then lists the
Sentinels, not a Redis). Everything comes from the one ``redis-server`` binary the cookbook
already uses: replicas are ``--replicaof``, Sentinels are ``redis-server <conf> --sentinel``.

Why a config file per Sentinel: a Sentinel must be able to rewrite its own file (it records the
replicas, the other Sentinels and the current epoch there), and it refuses to start without one.

Timing knobs are shortened for a demo (``down-after-milliseconds`` 1000, ``failover-timeout``
5000); production keeps the defaults (30 s / 3 min) or tunes them knowingly: a shorter
down-after means faster failover and more false alarms under load.
"""

from __future__ import annotations

import os
import signal
import time
from dataclasses import dataclass, field
from pathlib import Path

import redis

from cookbook.processes import ManagedProcess, wait_until
from cookbook.redis_server import RedisServer, find_redis_server


def _quoted(value: str) -> str:
    """A value as redis.conf reads it: double-quoted, with backslash escapes."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


@dataclass
class SentinelGroup:
    """``primary`` + ``replicas`` + ``sentinels`` Sentinels watching the master ``master_name``."""

    ports: list[int]  # 1 + replicas + sentinels ports, in that order
    workdir: Path
    master_name: str = "mymaster"
    replicas: int = 1
    sentinels: int = 3
    quorum: int = 2
    password: str | None = None
    appendonly: bool = True
    down_after_ms: int = 1000
    failover_timeout_ms: int = 5000
    servers: list[RedisServer] = field(default_factory=list, init=False)
    sentinel_procs: list[ManagedProcess] = field(default_factory=list, init=False)

    def __post_init__(self) -> None:
        if len(self.ports) != 1 + self.replicas + self.sentinels:
            raise ValueError(f"need {1 + self.replicas + self.sentinels} ports, got {len(self.ports)}")
        self.workdir = Path(self.workdir)

    # ---- addresses ----------------------------------------------------------------------
    @property
    def sentinel_ports(self) -> list[int]:
        return self.ports[1 + self.replicas:]

    @property
    def sentinel_hosts(self) -> str:
        """What the component's ``redisHost`` holds in failover mode: the Sentinels, comma-separated."""
        return ",".join(f"127.0.0.1:{p}" for p in self.sentinel_ports)

    def sentinel_client(self, index: int = 0) -> redis.Redis:
        return redis.Redis(port=self.sentinel_ports[index], socket_timeout=2, decode_responses=True)

    def master_address(self) -> tuple[str, int]:
        """Who the Sentinels say is primary now."""
        host, port = self.sentinel_client().sentinel_get_master_addr_by_name(self.master_name)
        return host, int(port)

    def server_at(self, port: int) -> RedisServer:
        return next(s for s in self.servers if s.port == port)

    @property
    def primary(self) -> RedisServer:
        return self.server_at(self.master_address()[1])

    # ---- lifecycle ----------------------------------------------------------------------
    def start(self, timeout: float = 30.0) -> "SentinelGroup":
        primary_port = self.ports[0]
        auth = ["--masterauth", self.password] if self.password else []
        self.servers.append(RedisServer(port=primary_port, workdir=self.workdir / f"redis-{primary_port}",
                                        password=self.password, appendonly=self.appendonly, extra_args=auth).start(timeout))
        for port in self.ports[1:1 + self.replicas]:
            replica = RedisServer(port=port, workdir=self.workdir / f"redis-{port}", password=self.password,
                                  appendonly=self.appendonly, extra_args=["--replicaof", "127.0.0.1", str(primary_port), *auth])
            self.servers.append(replica.start(timeout))
        wait_until(self._replicas_in_sync, timeout, what="replicas in sync with the primary")
        binary = find_redis_server()
        for port in self.sentinel_ports:
            conf = self.workdir / f"sentinel-{port}" / "sentinel.conf"
            conf.parent.mkdir(parents=True, exist_ok=True)
            lines = [
                f"port {port}", "bind 127.0.0.1", "protected-mode no", f"dir {conf.parent}",
                f"sentinel monitor {self.master_name} 127.0.0.1 {primary_port} {self.quorum}",
                f"sentinel down-after-milliseconds {self.master_name} {self.down_after_ms}",
                f"sentinel failover-timeout {self.master_name} {self.failover_timeout_ms}",
                f"sentinel parallel-syncs {self.master_name} 1",
            ]
            if self.password:
                lines.append(f"sentinel auth-pass {self.master_name} {_quoted(self.password)}")
            conf.write_text("\n".join(lines) + "\n")
            proc = ManagedProcess(f"sentinel:{port}", [binary, str(conf), "--sentinel"], conf.parent / "sentinel.log",
                                  ready=lambda p=port: self._sentinel_ready(p), ports=[port])
            self.sentinel_procs.append(proc)
            proc.start_and_wait(timeout)
        # Each Sentinel must have found the replica and the other Sentinels (hello messages every
        # 2 s) before a failover can reach quorum; a failover started earlier would stall.
        wait_until(self._sentinels_know_each_other, timeout, what="Sentinels to discover each other and the replicas")
        return self

    def _replicas_in_sync(self) -> bool:
        with self.servers[0].client(socket_timeout=1) as c:
            info = c.info("replication")
        return int(info.get("connected_slaves", 0)) == self.replicas and all(
            info.get(f"slave{i}", {}).get("state") == "online" for i in range(self.replicas))

    def _sentinel_ready(self, port: int) -> bool:
        with redis.Redis(port=port, socket_timeout=0.5, socket_connect_timeout=0.5) as c:
            return bool(c.ping())

    def _sentinels_know_each_other(self) -> bool:
        for port in self.sentinel_ports:
            with redis.Redis(port=port, socket_timeout=1, decode_responses=True) as c:
                master = c.sentinel_master(self.master_name)
                if int(master["num-other-sentinels"]) != self.sentinels - 1 or int(master["num-slaves"]) != self.replicas:
                    return False
        return True

    def kill_primary(self) -> RedisServer:
        """SIGKILL the current primary: its un-replicated writes are gone with it."""
        server = self.primary
        server.kill()
        return server

    def wait_failover(self, old_port: int, timeout: float = 30.0) -> float:
        """Seconds until the Sentinels name a new primary that accepts writes."""
        started = time.monotonic()

        def promoted() -> bool:
            try:
                _, port = self.master_address()
            except redis.RedisError:
                return False
            if port == old_port:
                return False
            with self.server_at(port).client(socket_timeout=1) as c:
                return c.info("replication")["role"] == "master"

        wait_until(promoted, timeout, what=f"Sentinels to promote a replica of {self.master_name}")
        return time.monotonic() - started

    def stop(self) -> None:
        for proc in reversed(self.sentinel_procs):
            proc.terminate()
        for server in reversed(self.servers):
            server.stop()

    def log_tail(self, index: int = 0, lines: int = 20) -> str:
        return self.sentinel_procs[index].log_tail(lines)

    # ---- an asynchronous replica's window -----------------------------------------------
    def replica(self) -> RedisServer:
        """The first server that is not the primary now."""
        primary_port = self.master_address()[1]
        return next(s for s in self.servers if s.port != primary_port)

    def freeze(self, server: RedisServer) -> None:
        """SIGSTOP (by the pid we started): the replica stops reading its replication stream, as
        a replica behind a slow network or a long fork would; :meth:`thaw` lets it go on."""
        assert server.pid is not None
        os.kill(server.pid, signal.SIGSTOP)

    def thaw(self, server: RedisServer) -> None:
        assert server.pid is not None
        os.kill(server.pid, signal.SIGCONT)

    def cut_replication(self) -> int:
        """Close the primary's links to its replicas (they reconnect on their own unless frozen):
        what the primary writes from now on exists only on the primary until a replica catches up."""
        with self.primary.client(socket_timeout=2) as c:
            return int(c.execute_command("CLIENT", "KILL", "TYPE", "replica"))
