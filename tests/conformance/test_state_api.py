"""State API conformance with daprd (spec B, C, D), one test per spec item, on real Redis."""

from __future__ import annotations

import json
import uuid

import grpc
import pytest
from dapr.clients.exceptions import DaprGrpcError
from dapr.clients.grpc._request import TransactionalStateOperation, TransactionOperationType
from dapr.clients.grpc._state import Concurrency, StateItem, StateOptions

from tests.conformance.conftest import Dapr
from tests.runtimes import local_only


def k() -> str:
    return f"k-{uuid.uuid4().hex[:8]}"


def grpc_code(exc: DaprGrpcError) -> grpc.StatusCode:
    return exc.code()


# ---- C1: layout ------------------------------------------------------------------------
def test_C1_1_hash_data_version_and_etag_is_version(dapr: Dapr) -> None:
    key = k()
    with dapr.client() as c:
        c.save_state("statestore", key, "one")
        c.save_state("statestore", key, "two")
        got = c.get_state("statestore", key)
    stored = dapr.redis.hgetall(f"conf-app||{key}")
    assert stored == {b"data": b"two", b"version": b"2"}
    assert got.etag == "2"
    resp = dapr.http.get(f"/v1.0/state/statestore/{key}")
    assert resp.status_code == 200 and resp.headers["ETag"] == "2" and resp.content == b"two"


def test_C1_3_http_values_are_json_grpc_values_verbatim(dapr: Dapr) -> None:
    a, b = k(), k()
    r = dapr.http.post("/v1.0/state/statestore", json=[{"key": a, "value": "hello"}, {"key": b, "value": {"n": 1, "é": [True, None]}}])
    assert r.status_code == 204
    assert dapr.redis.hget(f"conf-app||{a}", "data") == b'"hello"'
    assert json.loads(dapr.redis.hget(f"conf-app||{b}", "data")) == {"n": 1, "é": [True, None]}
    assert "é".encode() in dapr.redis.hget(f"conf-app||{b}", "data")  # raw UTF-8, not \u escapes
    with dapr.client() as c:
        c.save_state("statestore", a, "hi")
    assert dapr.redis.hget(f"conf-app||{a}", "data") == b"hi"


def test_C1_2_missing_key_reads_as_not_found(dapr: Dapr) -> None:
    key = k()
    with dapr.client() as c:
        got = c.get_state("statestore", key)
    assert got.data == b"" and got.etag == ""
    assert dapr.http.get(f"/v1.0/state/statestore/{key}").status_code == 204


# ---- B: key prefixing --------------------------------------------------------------------
@pytest.mark.parametrize(
    "store,expected",
    [("statestore", "conf-app||{k}"), ("byname", "byname||{k}"), ("noprefix", "{k}"), ("custom", "myshared||{k}")],
)
def test_B3_key_prefix_strategies(dapr: Dapr, store: str, expected: str) -> None:
    key = k()
    with dapr.client() as c:
        c.save_state(store, key, "v")
        assert c.get_state(store, key).data == b"v"
    assert dapr.redis.exists(expected.format(k=key)) == 1


def test_B4_key_with_separator_is_rejected(dapr: Dapr) -> None:
    r = dapr.http.post("/v1.0/state/statestore", json=[{"key": "a||b", "value": 1}])
    assert r.status_code == 400 and r.json()["errorCode"] == "ERR_MALFORMED_REQUEST"
    assert "can't contain '||'" in r.json()["message"]
    with dapr.client() as c, pytest.raises(DaprGrpcError) as err:
        c.save_state("statestore", "a||b", "v")
    assert grpc_code(err.value) == grpc.StatusCode.INVALID_ARGUMENT
    assert err.value.error_code() == "DAPR_STATE_ILLEGAL_KEY"
    assert err.value.status_details().resource_info["resource_name"] == "statestore"
    assert err.value.status_details().bad_request["field_violations"][0]["field"] == "a||b"
    assert dapr.redis.keys("*a||b*") == []


def test_B5_bulk_get_returns_user_keys(dapr: Dapr) -> None:
    a, missing = k(), k()
    with dapr.client() as c:
        c.save_state("byname", a, "x")
        items = c.get_bulk_state("byname", [a, missing]).items
    assert [i.key for i in items] == [a, missing]
    assert items[0].data == b"x" and items[1].data == b"" and items[1].etag == ""


# ---- C2: etags and concurrency -------------------------------------------------------------
def test_C2_1_non_numeric_etag_is_invalid(dapr: Dapr) -> None:
    r = dapr.http.post("/v1.0/state/statestore", json=[{"key": k(), "value": 1, "etag": "abc"}])
    assert r.status_code == 400 and r.json()["errorCode"] == "ERR_STATE_SAVE"
    assert 'invalid etag value: strconv.Atoi: parsing "abc"' in r.json()["message"]


def test_C2_3_etag_rules(dapr: Dapr) -> None:
    key = k()
    with dapr.client() as c:
        c.save_state("statestore", key, "created", etag="7")  # etag on a missing key succeeds
        assert c.get_state("statestore", key).etag == "1"
        c.save_state("statestore", key, "matched", etag="1")
        with pytest.raises(DaprGrpcError) as err:
            c.save_state("statestore", key, "stale", etag="1")
        assert grpc_code(err.value) == grpc.StatusCode.ABORTED
        c.save_state("statestore", key, "lw", etag="1", options=StateOptions(concurrency=Concurrency.last_write))
        assert c.get_state("statestore", key).data == b"lw"
    r = dapr.http.post("/v1.0/state/statestore", json=[{"key": key, "value": 1, "etag": "1"}])
    assert r.status_code == 409 and r.json()["errorCode"] == "ERR_STATE_SAVE"


def test_C2_4_first_write_is_sticky(dapr: Dapr) -> None:
    key = k()
    fw = StateOptions(concurrency=Concurrency.first_write)
    with dapr.client() as c:
        c.save_state("statestore", key, "first", options=fw)
        assert dapr.redis.hget(f"conf-app||{key}", "first-write") == b"0"
        with pytest.raises(DaprGrpcError):
            c.save_state("statestore", key, "again", options=fw)
        with pytest.raises(DaprGrpcError):  # marked keys refuse last-write too
            c.save_state("statestore", key, "lw", options=StateOptions(concurrency=Concurrency.last_write))
        c.save_state("statestore", key, "with-etag", etag="1", options=fw)
        assert c.get_state("statestore", key).data == b"with-etag"


def test_C2_5_first_write_conflict_without_etag_is_internal(dapr: Dapr) -> None:
    key = k()
    body = [{"key": key, "value": 1, "options": {"concurrency": "first-write"}}]
    assert dapr.http.post("/v1.0/state/statestore", json=body).status_code == 204
    r = dapr.http.post("/v1.0/state/statestore", json=body)
    assert r.status_code == 500 and r.json()["errorCode"] == "ERR_STATE_SAVE"
    with dapr.client() as c, pytest.raises(DaprGrpcError) as err:
        c.save_state("statestore", key, "x", options=StateOptions(concurrency=Concurrency.first_write))
    assert grpc_code(err.value) == grpc.StatusCode.INTERNAL


def test_C2_6_unknown_concurrency_is_rejected(dapr: Dapr) -> None:
    r = dapr.http.post("/v1.0/state/statestore", json=[{"key": k(), "value": 1, "options": {"concurrency": "sometimes"}}])
    assert r.status_code == 500 and "unrecognized concurrency model 'sometimes'" in r.json()["message"]


# ---- C3: TTL -----------------------------------------------------------------------------
def test_C3_ttl_expire_survives_overwrite_and_minus_one_persists(dapr: Dapr) -> None:
    key = k()
    skey = f"conf-app||{key}"
    with dapr.client() as c:
        c.save_state("statestore", key, "v", state_metadata={"ttlInSeconds": "60"})
        assert 0 < dapr.redis.ttl(skey) <= 60
        c.save_state("statestore", key, "v2")
        assert 0 < dapr.redis.ttl(skey) <= 60
        c.save_state("statestore", key, "v3", state_metadata={"ttlInSeconds": "-1"})
        assert dapr.redis.ttl(skey) == -1
    r = dapr.http.post("/v1.0/state/statestore?metadata.ttlInSeconds=abc", json=[{"key": key, "value": 1}])
    assert r.status_code == 500 and "failed to parse ttl from metadata" in r.json()["message"]


def test_C3_1_component_default_ttl(dapr: Dapr) -> None:
    key = k()
    with dapr.client() as c:
        c.save_state("ttlstore", key, "v")
    assert 0 < dapr.redis.ttl(f"ttlstore||{key}") <= 100


def test_C3_4_expired_key_reads_as_missing(dapr: Dapr) -> None:
    key = k()
    with dapr.client() as c:
        c.save_state("statestore", key, "v", state_metadata={"ttlInSeconds": "60"})
        dapr.redis.pexpire(f"conf-app||{key}", 1)
        dapr.redis.get("sync")  # give Redis a round trip; the key is expired lazily on access
        import time

        deadline = time.monotonic() + 5
        while dapr.redis.exists(f"conf-app||{key}") and time.monotonic() < deadline:
            time.sleep(0.01)
        assert c.get_state("statestore", key).data == b""


# ---- C4: delete --------------------------------------------------------------------------
def test_C4_delete_rules(dapr: Dapr) -> None:
    key = k()
    with dapr.client() as c:
        c.save_state("statestore", key, "v")
        r = dapr.http.delete(f"/v1.0/state/statestore/{key}", headers={"If-Match": "9"})
        assert r.status_code == 409 and r.json()["errorCode"] == "ERR_STATE_DELETE"
        with pytest.raises(DaprGrpcError) as err:
            c.delete_state("statestore", key, etag="9")
        assert grpc_code(err.value) == grpc.StatusCode.ABORTED
        c.delete_state("statestore", key, etag="1")
        assert dapr.redis.exists(f"conf-app||{key}") == 0
        c.delete_state("statestore", key)  # missing key: fine
    assert dapr.http.delete(f"/v1.0/state/statestore/{k()}").status_code == 204


# ---- C5: bulk and transactions -------------------------------------------------------------
def test_C5_2_bulk_save_is_not_atomic(dapr: Dapr) -> None:
    a, b = k(), k()
    with dapr.client() as c:
        c.save_state("statestore", a, "v")
        with pytest.raises(DaprGrpcError) as err:
            c.save_bulk_state("statestore", [StateItem(a, "bad", etag="5"), StateItem(b, "good")])
        assert grpc_code(err.value) == grpc.StatusCode.ABORTED
        assert c.get_state("statestore", b).data == b"good"
        assert c.get_state("statestore", a).data == b"v"


def test_C5_3_transaction_has_no_rollback(dapr: Dapr) -> None:
    a, b = k(), k()
    with dapr.client() as c:
        c.save_state("statestore", a, "orig")
        with pytest.raises(DaprGrpcError) as err:
            c.execute_state_transaction(
                "statestore",
                [
                    TransactionalStateOperation(key=a, data="changed", etag="9"),
                    TransactionalStateOperation(key=b, data="written"),
                ],
            )
        assert grpc_code(err.value) == grpc.StatusCode.INTERNAL
        assert "error while executing state transaction" in str(err.value)
        assert c.get_state("statestore", a).data == b"orig"
        assert c.get_state("statestore", b).data == b"written"
        c.execute_state_transaction("statestore", [TransactionalStateOperation(key=b, operation_type=TransactionOperationType.delete)])
        assert c.get_state("statestore", b).data == b""
    r = dapr.http.post("/v1.0/state/statestore/transaction", json={"operations": [{"operation": "merge", "request": {"key": a}}]})
    assert r.status_code == 400 and r.json()["errorCode"] == "ERR_NOT_SUPPORTED_STATE_OPERATION"


# ---- C7: component metadata --------------------------------------------------------------
@pytest.mark.parametrize("store", ["statestore", "smallpool"])
def test_C7_pool_callers_wait_for_a_free_connection(dapr: Dapr, store: str) -> None:
    """go-redis semantics: more concurrent commands than ``poolSize`` queue (up to poolTimeout).

    A bulk get reads its keys concurrently; 300 keys is more than the default pool (10 per CPU)
    and far more than ``poolSize: "2"``; every key must still come back, none as an error.
    """
    keys = [k() for _ in range(300)]
    with dapr.client() as c:
        c.save_bulk_state(store, [StateItem(key, f"v{i}") for i, key in enumerate(keys)])
        items = c.get_bulk_state(store, keys, parallelism=1).items
    assert [(i.key, i.data, i.error) for i in items] == [(key, f"v{n}".encode(), "") for n, key in enumerate(keys)]


# ---- D: API surface ----------------------------------------------------------------------
def test_D1_unknown_and_out_of_scope_store_is_not_found(dapr: Dapr) -> None:
    for store in ("nosuchstore", "otherapp"):
        r = dapr.http.get(f"/v1.0/state/{store}/x")
        body = r.json()
        assert r.status_code == 400 and body["errorCode"] == "ERR_STATE_STORE_NOT_FOUND"
        assert body["message"] == f"state store {store} is not found"
        assert body["details"][0]["reason"] == "DAPR_STATE_NOT_FOUND"
        assert body["details"][0]["metadata"] == {"appID": "conf-app"}
    with dapr.client() as c, pytest.raises(DaprGrpcError) as err:
        c.get_state("otherapp", "x")
    assert grpc_code(err.value) == grpc.StatusCode.INVALID_ARGUMENT


def test_D2_2_save_requires_array_and_key(dapr: Dapr) -> None:
    assert dapr.http.post("/v1.0/state/statestore", json={"key": "x"}).json()["errorCode"] == "ERR_MALFORMED_REQUEST"
    r = dapr.http.post("/v1.0/state/statestore", json=[{"value": 1}])
    assert r.status_code == 400 and r.json()["message"] == '"key" is a required field'
    assert dapr.http.post("/v1.0/state/statestore", json=[]).status_code == 204


def test_D2_4_http_bulk_get_keeps_order_and_marks_missing(dapr: Dapr) -> None:
    a, missing = k(), k()
    dapr.http.post("/v1.0/state/statestore", json=[{"key": a, "value": {"x": 1}}])
    r = dapr.http.post("/v1.0/state/statestore/bulk", json={"keys": [missing, a]})
    assert r.status_code == 200
    assert r.json() == [{"key": missing}, {"key": a, "data": {"x": 1}, "etag": "1"}]


# ---- E: health and metadata ------------------------------------------------------------------
def test_E1_E2_health_endpoints(dapr: Dapr) -> None:
    assert dapr.http.get("/v1.0/healthz").status_code == 204
    assert dapr.http.get("/v1.0/healthz/outbound").status_code == 204
    r = dapr.http.get("/v1.0/healthz?appid=someone-else")
    assert r.status_code == 500 and r.json()["errorCode"] == "ERR_HEALTH_APPID_NOT_MATCH"


def test_E3_metadata_lists_components_with_capabilities(dapr: Dapr) -> None:
    doc = dapr.http.get("/v1.0/metadata").json()
    assert doc["id"] == "conf-app"
    comps = {c["name"]: c for c in doc["components"]}
    assert "otherapp" not in comps  # scoped to another app (spec A2.6)
    assert comps["statestore"]["capabilities"] == ["ETAG", "TRANSACTIONAL", "TTL", "KEYS_LIKE", "ACTOR"]
    assert comps["statestore"]["type"] == "state.redis" and comps["statestore"]["version"] == "v1"
    assert doc["extended"]["daprRuntimeVersion"] == doc["runtimeVersion"]
    assert dapr.http.put("/v1.0/metadata/team", content=b"pizza").status_code == 204
    with dapr.client() as c:
        meta = c.get_metadata()
    assert meta.application_id == "conf-app"
    assert meta.extended_metadata["team"] == "pizza"
    assert {comp.name for comp in meta.registered_components} == set(comps)


@local_only("checks the local sidecar's own \"not supported\" answer")
def test_unimplemented_calls_say_so(dapr: Dapr) -> None:
    r = dapr.http.post("/v1.0/invoke/other/method/x")
    assert r.status_code == 501 and "not supported by the local sidecar" in r.json()["message"]
    with dapr.client() as c, pytest.raises(Exception) as err:
        c.invoke_binding("b", "create", "x")
    assert "not supported by the local sidecar" in str(err.value)
