"""What a production configuration meets (notebook 11): secrets, client certificates, Sentinel.

Each behaviour here was first seen on daprd 1.18 and the local sidecar answers the same:

* the Redis password from a secret store: the seed's ``secretKeyRef`` without ``auth.secretStore``
  (self-hosted daprd has no default store: warning, then NOAUTH), a store that is not loaded (the
  component is parked: the state API answers "not configured"), a secret that is not in the file
  ("Error getting secret", then NOAUTH);
* TLS with client certificates (``clientCert``/``clientKey`` hold PEM text): accepted, missing
  (the server drops the handshake: daprd retries until initTimeout), malformed or mismatched
  (Go's ``tls.X509KeyPair`` errors, as a "redis client configuration error");
* ``failover: "true"``: ``redisHost`` lists Sentinels; after the primary is killed, writes fail
  with the dial error until the Sentinels promote the replica, then succeed on it, and what was
  replicated before the crash is still there;
* ``redisType: cluster``: on daprd a state transaction across hash slots is accepted and not
  atomic (a failed write leaves the others written); the local sidecar refuses clusters.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest
import redis

from cookbook.ports import PortBlock
from cookbook.processes import wait_until
from cookbook.redis_server import RedisServer
from cookbook.sentinel import SentinelGroup
from tests.conformance.test_startup import flags, init_failure, sidecar_log
from tests.runtimes import run_sidecar_to_exit


def state_yaml(name: str, metadata: dict[str, str], *, refs: dict[str, str] | None = None, secret_store: str | None = None) -> str:
    """A component whose values are JSON strings (valid YAML), so PEM text keeps its newlines."""
    items = "".join(f"\n  - name: {k}\n    value: {json.dumps(v)}" for k, v in metadata.items())
    items += "".join(f"\n  - name: {k}\n    secretKeyRef:\n      name: {v}\n      key: {v}" for k, v in (refs or {}).items())
    auth = f"auth:\n  secretStore: {secret_store}\n" if secret_store else ""
    return (f"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
            f"spec:\n  type: state.redis\n  version: v1\n  metadata:{items}\n{auth}")


def secret_store_yaml(name: str, secrets_file: Path) -> str:
    return (f"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: {name}\n"
            f"spec:\n  type: secretstores.local.file\n  version: v1\n  metadata:\n  - name: secretsFile\n    value: {secrets_file}\n")


def save(sidecar, key: str, value: object) -> httpx.Response:  # type: ignore[no-untyped-def]
    return httpx.post(f"http://127.0.0.1:{sidecar.http_port}/v1.0/state/statestore", json=[{"key": key, "value": value}], timeout=30)


# ---- secrets ------------------------------------------------------------------------------

@pytest.fixture
def password_redis(ports: PortBlock, tmp_path: Path):  # type: ignore[no-untyped-def]
    server = RedisServer(port=ports.take(), workdir=tmp_path / "redis", password="s3cret").start()
    yield server
    server.stop()


def _secret_case(tmp_path: Path, server: RedisServer, secret: str, store: str | None) -> Path:
    res = tmp_path / "res"
    res.mkdir(parents=True)
    secrets = tmp_path / "secrets.json"
    secrets.write_text(json.dumps({"redis-password": "s3cret"}))
    (res / "secrets.yaml").write_text(secret_store_yaml("localsecrets", secrets))
    (res / "state.yaml").write_text(state_yaml("statestore", {"redisHost": server.address}, refs={"redisPassword": secret}, secret_store=store))
    return res


@pytest.mark.parametrize("secret,store,warning", [
    ("redis-password", None, "Component statestore references a secret store that isn't loaded: "),  # the seed's YAML
    ("no-such-secret", "localsecrets", "Error getting secret: secret no-such-secret not found"),
], ids=["seed-without-auth-secretStore", "secret-not-in-the-file"])
def test_unresolved_password_secret_is_a_warning_then_noauth(ports: PortBlock, tmp_path: Path, password_redis: RedisServer,
                                                             dapr_runtime: str, secret: str, store: str | None, warning: str) -> None:
    out = run_sidecar_to_exit(dapr_runtime, flags(ports, "sec-app", _secret_case(tmp_path, password_redis, secret, store)))
    assert out.returncode == 1
    assert warning in out.stderr
    detail = f"redis store: error connecting to redis at {password_redis.address}: NOAUTH Authentication required."
    assert init_failure("statestore", "state.redis", detail) in out.stderr


def test_password_from_the_secret_store_and_a_store_that_is_not_loaded(tmp_path: Path, password_redis: RedisServer, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    good = sidecar_factory("sec-app", _secret_case(tmp_path / "good", password_redis, "redis-password", "localsecrets"), actors=False)
    assert save(good, "k", 1).status_code == 204
    assert password_redis.client().hget("sec-app||k", "version") == b"1"
    # auth.secretStore names a store that never loads: daprd parks the component and runs on
    parked = sidecar_factory("parked-app", _secret_case(tmp_path / "parked", password_redis, "redis-password", "nosuchstore"), actors=False)
    answer = save(parked, "k", 1)
    assert (answer.status_code, answer.json()["errorCode"], answer.json()["message"]) == (
        500, "ERR_STATE_STORE_NOT_CONFIGURED", "state store statestore is not configured")
    assert "Component statestore references a secret store that isn't loaded: nosuchstore" in sidecar_log(parked)


# ---- client certificates ----------------------------------------------------------------------

@pytest.fixture
def mtls_redis(ports: PortBlock, tmp_path: Path):  # type: ignore[no-untyped-def]
    server = RedisServer(port=ports.take(), workdir=tmp_path / "redis", tls=True, tls_client_auth=True, tls_backend_port=ports.take()).start()
    yield server
    server.stop()


def test_client_certificate_is_presented_and_the_server_certificate_verified(tmp_path: Path, mtls_redis: RedisServer, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    """No insecureSkipTLSVerify: the CA is trusted through SSL_CERT_FILE (Go and OpenSSL read it)."""
    files = mtls_redis.tls_files
    assert files is not None
    res = tmp_path / "res"
    res.mkdir()
    (res / "s.yaml").write_text(state_yaml("statestore", {
        "redisHost": mtls_redis.address, "enableTLS": "true",
        "clientCert": files.client_cert.read_text(), "clientKey": files.client_key.read_text()}))
    sidecar = sidecar_factory("mtls-app", res, actors=False, env={"SSL_CERT_FILE": str(files.ca_cert)})
    assert save(sidecar, "k", "over mTLS").status_code == 204
    assert mtls_redis.client().hget("mtls-app||k", "data") == b'"over mTLS"'


def test_client_certificate_errors(ports: PortBlock, tmp_path: Path, mtls_redis: RedisServer, dapr_runtime: str) -> None:
    files = mtls_redis.tls_files
    assert files is not None
    base = {"redisHost": mtls_redis.address, "enableTLS": "true", "insecureSkipTLSVerify": "true"}
    cases = {
        # the server ends the handshake for want of a certificate; go-redis retries until initTimeout
        "missing": ({}, f"redis store: error connecting to redis at {mtls_redis.address}: context deadline exceeded"),
        "not-pem": ({"clientCert": "not a certificate", "clientKey": "not a key"},
                    "redis client configuration error: tls: failed to find any PEM data in certificate input"),
        "wrong-key": ({"clientCert": files.client_cert.read_text(), "clientKey": files.key.read_text()},
                      "redis client configuration error: tls: private key does not match public key"),
    }
    for case, (extra, detail) in cases.items():
        res = tmp_path / case
        res.mkdir()
        (res / "s.yaml").write_text(state_yaml("statestore", {**base, **extra}))
        out = run_sidecar_to_exit(dapr_runtime, flags(ports, "mtls-app", res))
        assert out.returncode == 1, case
        assert init_failure("statestore", "state.redis", detail) in out.stderr, (case, out.stderr[-2000:])


# ---- Sentinel failover ----------------------------------------------------------------------

def test_failover_follows_the_promoted_replica_and_keeps_replicated_data(ports: PortBlock, tmp_path: Path, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    group = SentinelGroup(ports.take_many(5), tmp_path / "ha").start()
    try:
        res = tmp_path / "res"
        res.mkdir()
        (res / "s.yaml").write_text(state_yaml("statestore", {"redisHost": group.sentinel_hosts, "failover": "true", "sentinelMasterName": group.master_name}))
        sidecar = sidecar_factory("ha-app", res, actors=False)
        assert save(sidecar, "before", "replicated").status_code == 204
        old = group.primary
        with old.client() as c:  # acknowledged by the replica before the crash
            assert c.execute_command("WAIT", 1, 5000) == 1
        group.kill_primary()
        refused = save(sidecar, "during", 1)  # the Sentinels still name the dead primary
        assert refused.status_code == 500 and refused.json()["errorCode"] == "ERR_STATE_SAVE"
        assert refused.json()["message"] == (f"failed saving state in state store statestore: failed to set key ha-app||during: "
                                             f"dial tcp {old.address}: connect: connection refused")
        group.wait_failover(old.port)
        wait_until(lambda: save(sidecar, "after", 2).status_code == 204, timeout=30, what="a write on the promoted replica")
        new = group.primary
        assert new.port != old.port
        with new.client() as c:
            assert (c.hget("ha-app||before", "data"), c.hget("ha-app||after", "data")) == (b'"replicated"', b"2")
        got = httpx.get(f"http://127.0.0.1:{sidecar.http_port}/v1.0/state/statestore/before", timeout=30)
        assert (got.status_code, got.json()) == (200, "replicated")
    finally:
        group.stop()


def test_failover_without_a_master_name_fails_at_start(ports: PortBlock, tmp_path: Path, dapr_runtime: str) -> None:
    group = SentinelGroup(ports.take_many(3), tmp_path / "ha", replicas=1, sentinels=1, quorum=1).start()
    try:
        res = tmp_path / "res"
        res.mkdir()
        (res / "s.yaml").write_text(state_yaml("statestore", {"redisHost": group.sentinel_hosts, "failover": "true"}))
        out = run_sidecar_to_exit(dapr_runtime, flags(ports, "ha-app", res))
    finally:
        group.stop()
    assert out.returncode == 1
    # go-redis asks each Sentinel for the primary of "": every one answers nil
    detail = f"redis store: error connecting to redis at {group.sentinel_hosts}: redis: all sentinels specified in configuration are unreachable: redis: nil"
    assert init_failure("statestore", "state.redis", detail) in out.stderr, out.stderr[-1500:]


# ---- Redis Cluster ----------------------------------------------------------------------------

# Redis 6.2 puts a node's cluster bus on its port + 10000 (``cluster-port`` came in 7.0): nodes
# on 22000-22767 have their bus on 32000-32767, below the ephemeral range and above the test
# port range, so neither an outgoing connection nor another test can hold it.
CLUSTER_PORTS = range(22000, 22768)


def _start_cluster(tmp_path: Path, servers: list[RedisServer], masters: int = 3) -> None:
    """``masters`` cluster-mode servers sharing the 16384 slots, joined with CLUSTER MEET;
    appended to ``servers`` as they start, so the caller stops whatever did start."""
    from cookbook.ports import is_port_free  # noqa: PLC0415

    free = (p for p in CLUSTER_PORTS if is_port_free(p) and is_port_free(p + 10000))
    for _ in range(masters):
        port = next(free)
        server = RedisServer(port=port, workdir=tmp_path / f"node-{port}", extra_args=[
            "--cluster-enabled", "yes", "--cluster-config-file", str(tmp_path / f"node-{port}" / "nodes.conf")])
        servers.append(server)
        server.start()
    share = 16384 // masters
    for i, server in enumerate(servers):
        last = 16383 if i == masters - 1 else (i + 1) * share - 1
        with server.client() as c:
            c.execute_command("CLUSTER", "ADDSLOTS", *range(i * share, last + 1))
            if i:
                c.execute_command("CLUSTER", "MEET", "127.0.0.1", servers[0].port)

    def formed() -> bool:
        return all(s.client().cluster("info")["cluster_state"] == "ok" for s in servers)

    wait_until(formed, timeout=30, what="the Redis Cluster to form")


def test_cluster_transactions_are_not_atomic_across_hash_slots(ports: PortBlock, tmp_path: Path, dapr_runtime: str, sidecar_factory) -> None:  # type: ignore[no-untyped-def]
    """``redisType: cluster`` on daprd: go-redis splits a transaction by hash slot and runs one
    MULTI per node, so a state transaction whose keys live on different nodes is accepted, and
    one whose second write fails keeps its first write: no atomicity across slots (what the
    workflow engine's multi-key saves would need). The local sidecar does not implement
    clusters and says so at start-up."""
    res = tmp_path / "res"
    res.mkdir()
    if dapr_runtime == "local":  # refused before any connection: no cluster needed
        (res / "s.yaml").write_text(state_yaml("statestore", {"redisHost": "127.0.0.1:1,127.0.0.1:2", "redisType": "cluster"}))
        out = run_sidecar_to_exit(dapr_runtime, flags(ports, "cl-app", res))
        assert out.returncode == 1
        assert "redisType 'cluster' is not supported by the local sidecar (only 'node')" in out.stderr
        return
    servers: list[RedisServer] = []
    try:
        _start_cluster(tmp_path, servers)
        (res / "s.yaml").write_text(state_yaml("statestore", {"redisHost": ",".join(s.address for s in servers), "redisType": "cluster"}))
        sidecar = sidecar_factory("cl-app", res, actors=False)
        base = f"http://127.0.0.1:{sidecar.http_port}/v1.0/state/statestore/transaction"
        cluster = redis.RedisCluster(host="127.0.0.1", port=servers[0].port)
        slots = {cluster.keyslot(f"cl-app||{k}") // (16384 // 3) for k in "abc"}
        assert len(slots) == 3, "the three keys live on three different nodes"
        upserts = [{"operation": "upsert", "request": {"key": k, "value": v}} for k, v in (("a", 1), ("b", 2), ("c", 3))]
        assert httpx.post(base, json={"operations": upserts}, timeout=30).status_code == 204
        half = httpx.post(base, json={"operations": [
            {"operation": "upsert", "request": {"key": "a", "value": 10}},
            {"operation": "upsert", "request": {"key": "b", "value": 20, "etag": "999"}}]}, timeout=30)
        assert (half.status_code, half.json()["errorCode"]) == (500, "ERR_STATE_TRANSACTION")
        assert "failed to set key cl-app||b" in half.json()["message"]
        assert (cluster.hget("cl-app||a", "data"), cluster.hget("cl-app||b", "data")) == (b"10", b"2")  # a changed, b did not
        cluster.close()
    finally:
        for server in servers:
            server.stop()
