"""A redis.asyncio client built from a component's metadata (spec C.7), checked at init.

Shared by state.redis and pubsub.redis so both read ``redisHost``/``redisPassword``/... the same
way. Init pings, like components-contrib, so an unreachable Redis or a wrong password stops the
sidecar at start-up, not at the first call, with components-contrib's message (``redis store:
error connecting to redis at <redisHost>: <go-redis error>``) plus a hint of what to check.
"""

from __future__ import annotations

import atexit
import errno
import os
import re
import shutil
import tempfile
from pathlib import Path

import redis.asyncio as aioredis
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from redis import exceptions as rexc
from redis.asyncio.retry import Retry
from redis.asyncio.sentinel import Sentinel
from redis.backoff import ExponentialBackoff

from localdapr.components.model import ComponentSpec
from localdapr.errors import ComponentError

_TRUTHY = {"y", "yes", "true", "t", "on", "1"}


def is_truthy(value: str) -> bool:
    """dapr/kit IsTruthy (spec A4.1)."""
    return value.strip().lower() in _TRUTHY


def _host_port(spec: ComponentSpec) -> tuple[str, int]:
    raw = spec.meta("redisHost").strip()
    if not raw:
        return "localhost", int(spec.meta("redisPort").strip() or 6379)  # go-redis's default address, as daprd
    if "," in raw:
        raise ComponentError("redisHost lists several hosts (cluster/sentinel), which is not supported by the local sidecar")
    port_meta = spec.meta("redisPort").strip()
    if ":" in raw:
        host, _, port = raw.rpartition(":")
        if port_meta and port_meta != port:
            raise ComponentError(f"redisPort {port_meta} does not match the port in redisHost {raw}")
    else:
        host, port = raw, port_meta or "6379"
    try:
        return host, int(port)
    except ValueError:
        raise ComponentError(f"redisHost '{raw}' has an invalid port") from None


def _duration_seconds(value: str, default: float | None) -> float | None:
    """Go durations ('5s', '500ms') or integers meaning milliseconds (spec C.7)."""
    value = value.strip()
    if not value:
        return default
    if value.lstrip("-").isdigit():
        return int(value) / 1000.0 if int(value) >= 0 else default
    for suffix, factor in (("ms", 0.001), ("s", 1.0), ("m", 60.0), ("h", 3600.0)):
        if value.endswith(suffix) and value[: -len(suffix)].replace(".", "", 1).isdigit():
            return float(value[: -len(suffix)]) * factor
    return default


def _int(spec: ComponentSpec, name: str, default: int) -> int:
    raw = spec.meta(name).strip()
    if not raw:
        return default
    try:
        return int(raw)
    except ValueError:
        raise ComponentError(f"metadata '{name}' must be an integer, not '{raw}'") from None


def _pem_files(spec: ComponentSpec) -> tuple[str, str] | None:
    """``clientCert``/``clientKey`` hold PEM text, as components-contrib reads them (Settings.
    SetCertificate: both or nothing; a bad pair is a configuration error worded as Go's
    tls.X509KeyPair). Python's ssl loads a certificate only from a file, so the pair is written
    to a private temporary folder (mode 0600), removed when the sidecar exits."""
    cert_pem, key_pem = spec.meta("clientCert"), spec.meta("clientKey")
    if not cert_pem or not key_pem:
        return None
    try:
        certs = x509.load_pem_x509_certificates(cert_pem.encode())
    except ValueError:
        raise ComponentError("redis client configuration error: tls: failed to find any PEM data in certificate input") from None
    try:
        key = serialization.load_pem_private_key(key_pem.encode(), password=None)
    except (ValueError, TypeError):
        raise ComponentError("redis client configuration error: tls: failed to find any PEM data in key input") from None
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if certs[0].public_key().public_bytes(serialization.Encoding.DER, public) != key.public_key().public_bytes(serialization.Encoding.DER, public):
        raise ComponentError("redis client configuration error: tls: private key does not match public key")
    folder = Path(tempfile.mkdtemp(prefix="localdapr-tls-"))
    atexit.register(shutil.rmtree, folder, True)
    cert_file, key_file = folder / "client.crt", folder / "client.key"
    for path, text in ((cert_file, cert_pem), (key_file, key_pem)):
        path.touch(mode=0o600)
        path.write_text(text)
    return str(cert_file), str(key_file)


def _connection_kwargs(spec: ComponentSpec) -> dict[str, object]:
    """Options shared by a plain client and one that follows a Sentinel-managed primary."""
    db_raw = spec.meta("redisDB", "0") or "0"
    try:
        db = int(db_raw)
    except ValueError:
        raise ComponentError(f"redisDB '{db_raw}' is not an integer") from None
    return {
        "db": db,
        "password": spec.meta("redisPassword") or None,
        "username": spec.meta("redisUsername") or None,
        "socket_connect_timeout": _duration_seconds(spec.meta("dialTimeout"), 5.0),
        "socket_timeout": _duration_seconds(spec.meta("readTimeout"), None),
        # go-redis style retries: redisMaxRetries (3) with 8 ms .. redisMaxRetryInterval (512 ms)
        # backoff, so a Redis restart is ridden out but a dead Redis fails start-up quickly.
        "retry": Retry(
            ExponentialBackoff(cap=_duration_seconds(spec.meta("redisMaxRetryInterval"), 0.512) or 0.512, base=0.008),
            _int(spec, "redisMaxRetries", 3),
        ),
    }


class _GoRedisSentinel(Sentinel):
    """Takes the primary's address as the Sentinels give it, even while they flag it down.

    go-redis asks ``SENTINEL get-master-addr-by-name``, which names the old primary until the
    failover is done, so daprd's writes in that window fail with the dial error of the dead
    primary; redis-py would refuse such a primary (MasterNotFoundError) instead."""

    def check_master_state(self, state: dict, service_name: str) -> bool:  # type: ignore[override]
        return bool(state)


def _sentinel_client(spec: ComponentSpec, kwargs: dict[str, object]) -> aioredis.Redis:
    """``failover: "true"``: redisHost lists Sentinels; every new connection asks them for the
    current primary of ``sentinelMasterName`` (go-redis's FailoverClient does the same), so after
    a failover the next command reaches the promoted replica."""
    addresses = []
    for raw in spec.meta("redisHost").split(","):
        host, _, port = raw.strip().rpartition(":")
        if not host or not port.isdigit():
            raise ComponentError(f"redisHost '{raw.strip()}' is not a Sentinel address host:port")
        addresses.append((host, int(port)))
    sentinel_kwargs = {
        "username": spec.meta("sentinelUsername") or None,
        "password": spec.meta("sentinelPassword") or None,
        "socket_connect_timeout": kwargs["socket_connect_timeout"],
        "socket_timeout": kwargs["socket_timeout"] or 3.0,
    }
    sentinel = _GoRedisSentinel(addresses, sentinel_kwargs=sentinel_kwargs, **kwargs)  # type: ignore[arg-type]
    return sentinel.master_for(spec.meta("sentinelMasterName"))


def build_client(spec: ComponentSpec) -> aioredis.Redis:
    if spec.meta("redisType", "node") not in ("", "node"):
        raise ComponentError(f"redisType '{spec.meta('redisType')}' is not supported by the local sidecar (only 'node')")
    tls = is_truthy(spec.meta("enableTLS", "false"))
    client_pem = _pem_files(spec) if tls else None
    kwargs = _connection_kwargs(spec)
    if is_truthy(spec.meta("failover", "false")):
        if tls:
            raise ComponentError("failover (Sentinel) together with enableTLS is not supported by the local sidecar")
        return _sentinel_client(spec, kwargs)
    host, port = _host_port(spec)
    kwargs.update(host=host, port=port)
    if tls:
        # components-contrib 1.18 verifies the server certificate (system roots, which SSL_CERT_FILE
        # can point at, and the host name) unless insecureSkipTLSVerify is true; verified on daprd
        # 1.18.2 (older Dapr never verified).
        verify = not is_truthy(spec.meta("insecureSkipTLSVerify", "false"))
        kwargs.update(connection_class=aioredis.SSLConnection, ssl_cert_reqs="required" if verify else "none", ssl_check_hostname=verify)
        if client_pem:
            kwargs.update(ssl_certfile=client_pem[0], ssl_keyfile=client_pem[1])
    # go-redis pools: poolSize connections (10 per CPU by default) and a caller that finds them all
    # busy *waits* up to poolTimeout (readTimeout + 1 s, readTimeout defaulting to 3 s) instead of
    # failing at once, as redis-py's default pool does past 100 connections. A 100-activity
    # fan-out fires 100 reminders together; they must queue, not error.
    read_timeout = kwargs["socket_timeout"]
    pool = aioredis.BlockingConnectionPool(
        max_connections=_int(spec, "poolSize", 10 * (os.cpu_count() or 1)),
        timeout=_duration_seconds(spec.meta("poolTimeout"), (read_timeout or 3.0) + 1.0),  # type: ignore[operator]
        **kwargs,  # type: ignore[arg-type]
    )
    return aioredis.Redis.from_pool(pool)  # the client owns the pool: aclose() closes it


# components-contrib's prefix per building block (state/redis, pubsub/redis, configuration/redis).
_PREFIX = {"state": "redis store", "pubsub": "redis streams", "configuration": "redis store"}


def connect_failure(spec: ComponentSpec, problem: str) -> str:
    """components-contrib's Init text for a failed PING; lock/redis words it its own way."""
    if spec.category == "lock":
        return f"error connecting to Redis: {problem}"
    return f"{_PREFIX.get(spec.category, 'redis')}: error connecting to redis at {spec.meta('redisHost')}: {problem}"


def timeout_detail(spec: ComponentSpec) -> str:
    """What daprd says when its PING outlives ``initTimeout``: the context expired mid-connect."""
    return connect_failure(spec, "context deadline exceeded")


def timeout_hint(spec: ComponentSpec) -> str:
    """The likely cause of a connect that never finishes, for the local sidecar's addition."""
    host = spec.meta("redisHost") or "localhost:6379"
    if is_truthy(spec.meta("enableTLS", "false")):
        return (
            f'enableTLS is "true" but no TLS handshake completed with {host}: most likely a plain-text (non-TLS) Redis '
            "listens there; remove enableTLS, or point redisHost at the TLS port"
        )
    return f"no answer from Redis at {host}; check redisHost (and dialTimeout)"


def go_redis_text(exc: Exception) -> str:
    """The text go-redis (daprd's client) gives for the same failure, where it is known.

    Redis's own errors keep their code (``WRONGPASS invalid username-password pair ...``), which
    redis-py strips; a refused connection reads as Go's dial error. Anything else stays as
    redis-py says it: we do not guess go-redis wording we have not seen.
    """
    text = str(exc)
    unreachable = re.fullmatch(r"No master found for '[^']*'(?: : (.*))?", text, re.S)
    if unreachable:  # go-redis's FailoverClient: no Sentinel named a primary for sentinelMasterName
        return f"redis: all sentinels specified in configuration are unreachable: {unreachable.group(1) or 'redis: nil'}"
    if "HELLO must be called with the client already authenticated" in text:
        # redis-py opens with HELLO; go-redis falls back to PING after HELLO fails, and that is
        # the answer daprd shows
        return "NOAUTH Authentication required."
    code = getattr(exc, "status_code", None)
    if code and not text.startswith(code):
        return f"{code} {text}"
    if "CERTIFICATE_VERIFY_FAILED" in text and ("local issuer" in text or "self-signed" in text or "self signed" in text):
        return "tls: failed to verify certificate: x509: certificate signed by unknown authority"
    refused = re.search(r"Connect call failed \('([^']+)', (\d+)", text)
    if text.startswith(f"Error {errno.ECONNREFUSED} ") and refused:
        host = refused.group(1)
        return f"dial tcp {f'[{host}]' if ':' in host else host}:{refused.group(2)}: connect: connection refused"
    return text


async def connect(spec: ComponentSpec) -> aioredis.Redis:
    """Build the client and PING, as components-contrib's Init does; a failure is its message."""
    client = build_client(spec)
    try:
        await client.ping()
    except (rexc.RedisError, OSError) as exc:
        await client.aclose()
        hint = ""
        if isinstance(exc, rexc.AuthenticationError):
            hint = "check metadata redisPassword, and redisUsername for an ACL user"
        elif not is_truthy(spec.meta("enableTLS", "false")) and "closed by server" in str(exc):
            # TCP connected but the server hung up on a plain-text PING: typically a TLS-only port.
            # go-redis retries that until initTimeout and reports the deadline; so do we, at once.
            raise ComponentError(timeout_detail(spec), 'if that Redis accepts only TLS, set metadata enableTLS: "true"') from exc
        elif is_truthy(spec.meta("enableTLS", "false")) and any(
                sign in str(exc) for sign in ("closed by server", "CERTIFICATE_REQUIRED", "reset by peer", "EOF occurred", "Broken pipe")):
            # The TLS 1.3 handshake finished, then the server refused the missing client
            # certificate; go-redis retries that until initTimeout and reports the deadline.
            raise ComponentError(timeout_detail(spec), "the Redis requires a client certificate: set metadata clientCert and clientKey (PEM)") from exc
        elif "CERTIFICATE_VERIFY_FAILED" in str(exc):
            hint = 'the Redis certificate is not trusted here; for a test Redis set metadata insecureSkipTLSVerify: "true"'
        raise ComponentError(connect_failure(spec, go_redis_text(exc)), hint) from exc
    return client
