"""Malformed requests on the HTTP state and workflow routes: daprd 1.18.2's exact answers.

Every expected (status, body) below was captured by sending the same request to daprd (and is
explained by its source: pkg/api/http/http.go decodes with Go's encoding/json Decoder and, for
transaction operations, mapstructure; components-contrib's Redis store reads ETags with
strconv.Atoi; pkg/api/universal/workflow.go validates instance IDs). The local sidecar must
answer the same, byte for byte (localdapr/gojson/).
"""

from __future__ import annotations

import json
import uuid

import pytest

from tests.conformance.conftest import Dapr

S = "/v1.0/state/statestore"
BODY = "failed deserializing HTTP body: "


def malformed(message: str) -> dict[str, str]:
    return {"errorCode": "ERR_MALFORMED_REQUEST", "message": message}


def post(dapr: Dapr, path: str, body: bytes) -> tuple[int, object]:
    r = dapr.http.post(path, content=body)
    return r.status_code, (r.json() if r.content else None)


BULK_GET = [
    (b'{"keys":"abc"}', 400, malformed(BODY + "json: cannot unmarshal string into Go struct field BulkGetRequest.keys of type []string")),
    (b'{"keys":123}', 400, malformed(BODY + "json: cannot unmarshal number into Go struct field BulkGetRequest.keys of type []string")),
    (b'{"keys":[1,2]}', 400, malformed(BODY + "json: cannot unmarshal number into Go struct field BulkGetRequest.keys of type string")),
    (b'{"keys":{"a":1}}', 400, malformed(BODY + "json: cannot unmarshal object into Go struct field BulkGetRequest.keys of type []string")),
    (b"[1,2]", 400, malformed(BODY + "json: cannot unmarshal array into Go value of type http.BulkGetRequest")),
    (b'"x"', 400, malformed(BODY + "json: cannot unmarshal string into Go value of type http.BulkGetRequest")),
    (b"", 400, malformed(BODY + "EOF")),
    (b'{"keys":["a"]', 400, malformed(BODY + "unexpected EOF")),
    (b'{"keys":["a"],"parallelism":"x"}', 400, malformed(BODY + "json: cannot unmarshal string into Go struct field BulkGetRequest.parallelism of type int")),
    (b'{"keys":["a"],"metadata":{"a":1}}', 400, malformed(BODY + "json: cannot unmarshal number into Go struct field BulkGetRequest.metadata of type string")),
    (b'{"keys":["a"],"parallelism":9223372036854775808}', 400,
     malformed(BODY + "json: cannot unmarshal number 9223372036854775808 into Go struct field BulkGetRequest.parallelism of type int")),
    (b'{"keys":["a"],"parallelism":1.5}', 400, malformed(BODY + "json: cannot unmarshal number 1.5 into Go struct field BulkGetRequest.parallelism of type int")),
    (b"null", 200, []),
    (b'{"keys":["a",null]}', 200, [{"key": "a"}, {"key": ""}]),
    (b'{"Keys":["a"]} trailing bytes are never read', 200, [{"key": "a"}]),
    (b'{"keys":["\\udc80"]}', 200, [{"key": "\ufffd"}]),
]


@pytest.mark.parametrize("body,status,expected", BULK_GET, ids=[repr(b[0][:30]) for b in BULK_GET])
def test_bulk_get_bodies(dapr: Dapr, body: bytes, status: int, expected: object) -> None:
    assert post(dapr, S + "/bulk", body) == (status, expected)


SAVE = [
    (b"[1,2]", 400, malformed("json: cannot unmarshal number into Go value of type state.SetRequest")),
    (b'{"key":"x"}', 400, malformed("json: cannot unmarshal object into Go value of type []state.SetRequest")),
    (b'[{"key":123,"value":1}]', 400, malformed("json: cannot unmarshal number into Go struct field SetRequest.key of type string")),
    (b'[{"key":"k","value":1,"etag":1}]', 400, malformed("json: cannot unmarshal number into Go struct field SetRequest.etag of type string")),
    (b'[{"key":"k","value":1,"metadata":{"a":1}}]', 400, malformed("json: cannot unmarshal number into Go struct field SetRequest.metadata of type string")),
    (b'[{"key":"k","value":1,"options":"x"}]', 400,
     malformed("json: cannot unmarshal string into Go struct field SetRequest.options of type state.SetStateOption")),
    (b'[{"key":"k","value":1,"options":{"concurrency":1}}]', 400,
     malformed("json: cannot unmarshal number into Go struct field SetStateOption.options.Concurrency of type string")),
    (b'[{"key":"k","value":1,"contentType":1}]', 400, malformed("json: cannot unmarshal number into Go struct field SetRequest.contentType of type string")),
    (b'[{"key":1},{"key":"k","value":1}]', 400, malformed("json: cannot unmarshal number into Go struct field SetRequest.key of type string")),
    (b"[null]", 400, malformed('"key" is a required field')),
    (b'[{"key":"k","value":NaN}]', 400, malformed("invalid character 'N' looking for beginning of value")),
    (b'[{"key":"k","value":1e999}]', 400, malformed("json: cannot unmarshal number 1e999 into Go struct field SetRequest.value of type float64")),
    (b"\xef\xbb\xbf[]", 400, malformed("invalid character '\u00ef' looking for beginning of value")),
    (b'[{"key":"x","value":tru}]', 400, malformed("invalid character '}' in literal true (expecting 'e')")),
    (b'[{"key":"x","value":"a\nb"}]', 400, malformed("invalid character '\\n' in string literal")),
    (b'[{"key":"x","value":"\\u12g4"}]', 400, malformed("invalid character 'g' in \\u hexadecimal character escape")),
    (b'[{"key":"x","value":1.}]', 400, malformed("invalid character '}' after decimal point in numeric literal")),
    (b'[{"key":"x","value":01}]', 400, malformed("invalid character '1' after object key:value pair")),
    (b'[{"key":"x",}]', 400, malformed("invalid character '}' looking for beginning of object key string")),
    (b"[1 2]", 400, malformed("invalid character '2' after array element")),
    (b'[{"key":"x","value":\x80}]', 400, malformed("invalid character '\\u0080' looking for beginning of value")),
    (b"   ", 400, malformed("EOF")),
    (b"[]x", 204, None),
]


@pytest.mark.parametrize("body,status,expected", SAVE, ids=[repr(b[0][:30]) for b in SAVE])
def test_save_bodies(dapr: Dapr, body: bytes, status: int, expected: object) -> None:
    assert post(dapr, S, body) == (status, expected)


def _op(request: str) -> bytes:
    return b'{"operations":[{"operation":"upsert","request":' + request.encode() + b"}]}"


TRANSACTION = [
    (b'{"operations":{"a":1}}', 400, malformed(
        BODY + "json: cannot unmarshal object into Go struct field stateTransactionRequestBody.operations of type []http.stateTransactionRequestBodyOperation")),
    (b'{"operations":[1,2]}', 400, malformed(
        BODY + "json: cannot unmarshal number into Go struct field stateTransactionRequestBody.operations of type http.stateTransactionRequestBodyOperation")),
    (b"[1,2]", 400, malformed(BODY + "json: cannot unmarshal array into Go value of type http.stateTransactionRequestBody")),
    (b'{"operations":[{"operation":5,"request":{}}]}', 400, malformed(
        BODY + "json: cannot unmarshal number into Go struct field stateTransactionRequestBodyOperation.operations.operation of type string")),
    (b'{"metadata":{"a":1},"operations":[]}', 400, malformed(
        BODY + "json: cannot unmarshal number into Go struct field stateTransactionRequestBody.metadata of type string")),
    (_op("5"), 400, malformed(BODY + "'' expected a map, got 'float64'")),
    (_op("[1]"), 400, malformed(BODY + "'' expected a map, got 'slice'")),
    (_op('{"key":123,"value":1}'), 400, malformed(
        BODY + "1 error(s) decoding:\n\n* 'Key' expected type 'string', got unconvertible type 'float64', value: '123'")),
    (_op('{"key":"t","value":1,"metadata":"x"}'), 400, malformed(BODY + "1 error(s) decoding:\n\n* 'Metadata' expected a map, got 'string'")),
    (_op('{"key":"t","value":1,"options":{"concurrency":5}}'), 400, malformed(
        BODY + "1 error(s) decoding:\n\n* 'Options.Concurrency' expected type 'string', got unconvertible type 'float64', value: '5'")),
    (_op('{"key":"t","value":1,"etag":5,"metadata":{"a":1}}'), 400, malformed(
        BODY + "2 error(s) decoding:\n\n* 'ETag' expected type 'string', got unconvertible type 'float64', value: '5'\n"
        "* 'Metadata[a]' expected type 'string', got unconvertible type 'float64', value: '1'")),
    (b'{"operations":[{"operation":"delete","request":{"key":["a"]}}]}', 400, malformed(
        BODY + "1 error(s) decoding:\n\n* 'Key' expected type 'string', got unconvertible type '[]interface {}', value: '[a]'")),
    (b'{"operations":[{"operation":"delete","request":{"key":"t","etag":true}}]}', 400, malformed(
        BODY + "1 error(s) decoding:\n\n* 'ETag' expected type 'string', got unconvertible type 'bool', value: 'true'")),
    (b"", 400, malformed(BODY + "EOF")),
    (b"{}", 204, None),
    (b'{"operations":null}', 204, None),
    (_op('{"key":"t","value":1,"etag":" 1"}'), 500, {
        "errorCode": "ERR_STATE_TRANSACTION",
        "message": 'error while executing state transaction: invalid etag value: strconv.Atoi: parsing " 1": invalid syntax'}),
    (_op('{"key":"t","value":1,"metadata":{"ttlInSeconds":"x"}}'), 500, {
        "errorCode": "ERR_STATE_TRANSACTION",
        "message": 'error while executing state transaction: failed to parse ttl from metadata: strconv.ParseInt: parsing "x": invalid syntax'}),
]


@pytest.mark.parametrize("body,status,expected", TRANSACTION, ids=[repr(b[0][:40]) for b in TRANSACTION])
def test_transaction_bodies(dapr: Dapr, body: bytes, status: int, expected: object) -> None:
    assert post(dapr, S + "/transaction", body) == (status, expected)


def test_transaction_does_not_check_options_or_apply_body_metadata_to_operations(dapr: Dapr) -> None:
    """contrib's Multi skips CheckRequestOptions; daprd gives the body's metadata to Multi only."""
    key = f"tx-{uuid.uuid4().hex[:8]}"
    body = {"metadata": {"ttlInSeconds": "100"},
            "operations": [{"operation": "upsert", "request": {"key": key, "value": 1, "options": {"concurrency": "sometimes"}}}]}
    assert post(dapr, S + "/transaction", json.dumps(body).encode()) == (204, None)
    assert dapr.redis.ttl(f"conf-app||{key}") == -1


@pytest.mark.parametrize("route", [S, S + "/bulk", S + "/transaction"])
def test_nesting_past_10000_levels_is_rejected(dapr: Dapr, route: str) -> None:
    depth = 100_000
    nested = b"[" * depth + b"]" * depth
    body = {S: b'[{"key":"deep","value":' + nested + b"}]", S + "/bulk": b'{"keys":' + nested + b"}",
            S + "/transaction": b'{"operations":' + nested + b"}"}[route]
    prefix = "" if route == S else BODY
    assert post(dapr, route, body) == (400, malformed(prefix + "invalid character '[' exceeded max depth"))
    assert dapr.http.get("/v1.0/healthz").status_code == 204


def test_nesting_within_10000_levels_is_stored(dapr: Dapr) -> None:
    depth = 5000
    key = f"deep-{uuid.uuid4().hex[:8]}"
    assert post(dapr, S, b'[{"key":"' + key.encode() + b'","value":' + b"[" * depth + b"]" * depth + b"}]") == (204, None)
    assert dapr.redis.hget(f"conf-app||{key}", "data") == b"[" * depth + b"]" * depth


def test_invalid_utf16_and_utf8_become_replacement_characters(dapr: Dapr) -> None:
    key = f"u-{uuid.uuid4().hex[:8]}"
    body = b'[{"key":"' + key.encode() + b'\\udc80","value":"\\ud800"},{"key":"' + key.encode() + b'\xff","value":"\xfe"}]'
    assert post(dapr, S, body) == (204, None)
    assert dapr.redis.hget(f"conf-app||{key}\ufffd".encode(), "data") == '"\ufffd"'.encode()


def test_bulk_get_response_is_go_encoded(dapr: Dapr) -> None:
    key = f"h-{uuid.uuid4().hex[:6]}<&>\u2028"
    assert post(dapr, S, json.dumps([{"key": key, "value": "<&>"}]).encode()) == (204, None)
    r = dapr.http.post(S + "/bulk", content=json.dumps({"keys": [key]}).encode())
    escaped = key.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026").replace("\u2028", "\\u2028")
    assert r.content == f'[{{"key":"{escaped}","data":"\\u003c\\u0026\\u003e","etag":"1"}}]\n'.encode()


NO_ROUTE = {"errorCode": "ERR_DIRECT_INVOKE", "message": "failed getting app id either from the URL path or the header dapr-app-id"}


@pytest.mark.parametrize("method,path", [
    ("GET", S + "/"), ("DELETE", S + "/"), ("GET", S), ("DELETE", S), ("PATCH", S), ("POST", S + "/k"), ("PUT", S + "/k"),
    ("PATCH", S + "/k"), ("GET", "/v1.0/state"), ("POST", "/v1.0/workflows/dapr//start"), ("POST", "/v1.0/workflows/dapr/i/raiseEvent/"),
    ("POST", "/v1.0/workflows/dapr/i/terminate/extra"), ("GET", "/v1.0/workflows/dapr/i/purge"), ("PUT", "/v1.0/workflows/dapr/w/start"),
    ("DELETE", "/v1.0-beta1/workflows/dapr/i"), ("GET", S + "/a/b"), ("DELETE", S + "/a/b"), ("POST", "/v1.0/workflows/dapr/a%2Fterminate"),
])
def test_paths_that_match_no_route(dapr: Dapr, method: str, path: str) -> None:
    """Under the state and workflow prefixes, what matches no daprd route reaches its
    service-invocation fallback."""
    r = dapr.http.request(method, path, content=b"[]" if method in ("POST", "PUT", "PATCH") else None)
    assert (r.status_code, r.json()) == (404, NO_ROUTE)


def test_path_segments_are_routed_raw(dapr: Dapr) -> None:
    """daprd's router splits the escaped path: ``%2F`` stays inside one segment (decoded in the
    parameter), a literal '/' makes another segment (see test_paths_that_match_no_route)."""
    key = f"s/{uuid.uuid4().hex[:6]}"
    assert post(dapr, S, json.dumps([{"key": key, "value": 1}]).encode()) == (204, None)
    quoted = key.replace("/", "%2F")
    r = dapr.http.get(f"{S}/{quoted}")
    assert (r.status_code, r.content) == (200, b"1")
    r = dapr.http.get(f"/v1.0/state/state%2Fstore/{quoted}")
    assert (r.status_code, r.json()["message"]) == (400, "state store state/store is not found")
    r = dapr.http.get("/v1.0/workflows/dapr/x%2Fpurge", timeout=60)
    assert (r.status_code, r.json()) == (404, {
        "errorCode": "ERR_INSTANCE_ID_NOT_FOUND", "message": "unable to find workflow with the provided instance ID: x/purge"})
    assert dapr.http.delete(f"{S}/{quoted}").status_code == 204
    assert dapr.redis.exists(f"conf-app||{key}") == 0


def _illegal(field: str | None) -> dict[str, object]:
    text = "api error: code = InvalidArgument desc = input key/keyPrefix 'a||b' can't contain '||'"
    violation = {"description": text} if field is None else {"field": field, "description": text}
    return {"errorCode": "ERR_MALFORMED_REQUEST", "message": text, "details": [
        {"@type": "type.googleapis.com/google.rpc.BadRequest", "field_violations": [violation]},
        {"@type": "type.googleapis.com/google.rpc.ResourceInfo", "resource_type": "state", "resource_name": "statestore", "owner": "", "description": ""},
        {"@type": "type.googleapis.com/google.rpc.ErrorInfo", "reason": "DAPR_STATE_ILLEGAL_KEY", "domain": "dapr.io", "metadata": None},
    ]}


@pytest.mark.parametrize("method,path,body,field", [
    ("GET", S + "/a%7C%7Cb", None, "a||b"), ("DELETE", S + "/a%7C%7Cb", None, "a||b"),
    ("POST", S, b'[{"key":"a||b","value":1},{"value":2}]', "a||b"),  # checked in order: before the missing key
    ("POST", S + "/bulk", b'{"keys":["ok","a||b"]}', "a||b"),
    ("POST", S + "/transaction", b'{"operations":[{"operation":"upsert","request":{"key":"a||b"}},{"operation":"delete","request":5}]}', None),
])
def test_key_with_separator_over_http(dapr: Dapr, method: str, path: str, body: bytes | None, field: str | None) -> None:
    """daprd's HTTP handlers wrap the key error once more ("api error: ..."); a transaction names
    no field (the key was already cleared). Details in dapr/kit's order, nil metadata as null."""
    r = dapr.http.request(method, path, content=body)
    assert (r.status_code, r.json()) == (400, _illegal(field))


# ---- ETags: strconv.Atoi ------------------------------------------------------------------
def _invalid_etag(text: str, why: str) -> dict[str, str]:
    return {"errorCode": "ERR_STATE_SAVE",
            "message": f"failed saving state in state store statestore: invalid etag value: strconv.Atoi: parsing {json.dumps(text, ensure_ascii=False)}: {why}"}


ETAGS = [  # (etag sent against version 1, answer): Atoi's "+1" is 1; " 1", "1_0", "١" are not numbers
    ("+1", 204, None),
    ("-0", 204, None),  # 0: no ETag at all
    ("", 204, None),
    (" 1", 400, _invalid_etag(" 1", "invalid syntax")),
    ("1 ", 400, _invalid_etag("1 ", "invalid syntax")),
    ("1_0", 400, _invalid_etag("1_0", "invalid syntax")),
    ("\u0661", 400, _invalid_etag("\u0661", "invalid syntax")),
    ("0x1", 400, _invalid_etag("0x1", "invalid syntax")),
    ("12345678901234567890123", 400, _invalid_etag("12345678901234567890123", "value out of range")),
    ("9223372036854775808", 400, _invalid_etag("9223372036854775808", "value out of range")),
]


@pytest.mark.parametrize("etag,status,expected", ETAGS, ids=[repr(e[0]) for e in ETAGS])
def test_etag_is_read_with_atoi(dapr: Dapr, etag: str, status: int, expected: object) -> None:
    key = f"e-{uuid.uuid4().hex[:8]}"
    assert post(dapr, S, json.dumps([{"key": key, "value": 1}]).encode()) == (204, None)
    assert post(dapr, S, json.dumps([{"key": key, "value": 2, "etag": etag}], ensure_ascii=False).encode()) == (status, expected)
    assert dapr.redis.hget(f"conf-app||{key}", "data") == (b"2" if status == 204 else b"1")


@pytest.mark.parametrize("etag", ["01", "9223372036854775807"])
def test_etag_in_range_but_different_is_a_conflict(dapr: Dapr, etag: str) -> None:
    key = f"e-{uuid.uuid4().hex[:8]}"
    post(dapr, S, json.dumps([{"key": key, "value": 1}, ]).encode())
    post(dapr, S, json.dumps([{"key": key, "value": 1}, ]).encode())  # version 2: "01" reads as 1, a mismatch
    status, body = post(dapr, S, json.dumps([{"key": key, "value": 3, "etag": etag}]).encode())
    assert status == 409 and body["errorCode"] == "ERR_STATE_SAVE"  # type: ignore[index]
    assert body["message"].startswith("failed saving state in state store statestore: possible etag mismatch")  # type: ignore[index]


# ---- workflow start: instance ID --------------------------------------------------------
WF = "/v1.0/workflows/dapr/anything/start?instanceID="


def _bad_id(instance_id: str) -> dict[str, str]:
    return {"errorCode": "ERR_INSTANCE_ID_INVALID",
            "message": f"workflow instance ID '{instance_id}' is invalid: only alphanumeric and underscore characters are allowed"}


@pytest.mark.parametrize("query,instance_id", [("a%20b", "a b"), ("a.b", "a.b"), ("a||b", "a||b"), ("a%2Fb", "a/b"), ("%E2%9C%93", "\u2713")])
def test_workflow_start_rejects_invalid_instance_ids(dapr: Dapr, query: str, instance_id: str) -> None:
    r = dapr.http.post(WF + query, content=b'"in"')
    assert (r.status_code, r.json()) == (400, _bad_id(instance_id))


@pytest.mark.parametrize("instance_id", ["x" * 65, "\u00e9" * 33])  # 66 bytes: Go counts bytes
def test_workflow_start_rejects_long_instance_ids(dapr: Dapr, instance_id: str) -> None:
    r = dapr.http.post(WF + instance_id, content=b'"in"')
    assert (r.status_code, r.json()) == (400, {
        "errorCode": "ERR_INSTANCE_ID_TOO_LONG", "message": "workflow instance ID exceeds the max length of 64 characters"})


@pytest.mark.parametrize("prefix", ["/v1.0/workflows/other", "/v1.0-alpha1/workflows/dapr", "/v1.0-beta1/workflows/x"])
def test_workflow_routes_take_any_component_and_version(dapr: Dapr, prefix: str) -> None:
    r = dapr.http.get(f"{prefix}/no-such-instance-{uuid.uuid4().hex[:6]}", timeout=60)
    assert r.status_code == 404 and r.json()["errorCode"] == "ERR_INSTANCE_ID_NOT_FOUND"


# ---- store errors: contrib's Lua scripts, so Redis names them as it does for daprd --------
SET_FAILED = "ERR Error running script (call to f_d908b9553add63a82e03589b5c6d01a7654ef0f2): @user_script:14: user_script:14: failed to set key conf-app||{k}"
DELETE_FAILED = "ERR Error running script (call to f_2446db0de2c963f100727b388f03ead01d18c265): @user_script:6: user_script:6: failed to delete conf-app||{k}"
MISMATCH = "possible etag mismatch. error from state store: "


def test_store_error_texts(dapr: Dapr) -> None:
    key, other = f"c-{uuid.uuid4().hex[:8]}", f"c-{uuid.uuid4().hex[:8]}"
    assert post(dapr, S, json.dumps([{"key": key, "value": 1}]).encode()) == (204, None)
    save = "failed saving state in state store statestore: "
    assert post(dapr, S, json.dumps([{"key": key, "value": 2, "etag": "5"}]).encode()) == (
        409, {"errorCode": "ERR_STATE_SAVE", "message": save + MISMATCH + SET_FAILED.format(k=key)})
    # Two items, one failing: the bulk path wraps the joined errors in one more ETag error.
    assert post(dapr, S, json.dumps([{"key": key, "value": 2, "etag": "5"}, {"key": other, "value": 1}]).encode()) == (
        409, {"errorCode": "ERR_STATE_SAVE", "message": save + MISMATCH + MISMATCH + SET_FAILED.format(k=key)})
    r = dapr.http.delete(f"{S}/{key}", headers={"If-Match": "5"})
    assert (r.status_code, r.json()) == (409, {"errorCode": "ERR_STATE_DELETE",
                                               "message": f"failed deleting state with key {key}: " + MISMATCH + DELETE_FAILED.format(k=key)})
    for op, failed in (("upsert", SET_FAILED), ("delete", DELETE_FAILED)):
        body = {"operations": [{"operation": op, "request": {"key": key, "value": 1, "etag": "5"}}]}
        assert post(dapr, S + "/transaction", json.dumps(body).encode()) == (
            500, {"errorCode": "ERR_STATE_TRANSACTION", "message": "error while executing state transaction: " + failed.format(k=key)})
    first = [{"key": other + "f", "value": 1, "options": {"concurrency": "first-write"}}]
    assert post(dapr, S, json.dumps(first).encode()) == (204, None)
    assert post(dapr, S, json.dumps(first).encode()) == (500, {"errorCode": "ERR_STATE_SAVE", "message": (
        save + f"failed to set key conf-app||{other}f: " + SET_FAILED.format(k=other + "f"))})
    assert dapr.redis.hget(f"conf-app||{key}", "data") == b"1"


# ---- gRPC SaveState: JSON values and the order of checks -----------------------------------
def _grpc_save(dapr: Dapr, *items: tuple[str, bytes, dict[str, str], str | None]) -> tuple[object, str]:
    import grpc
    from dapr.proto.common.v1 import common_pb2
    from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2

    states = [common_pb2.StateItem(key=key, value=value, metadata=meta, etag=common_pb2.Etag(value=etag) if etag is not None else None)
              for key, value, meta, etag in items]
    with grpc.insecure_channel(f"127.0.0.1:{dapr.sidecar.grpc_port}") as channel:
        try:
            dapr_pb2_grpc.DaprStub(channel).SaveState(state_pb2.SaveStateRequest(store_name="statestore", states=states), timeout=30)
        except grpc.RpcError as err:
            return err.code(), err.details()
    return grpc.StatusCode.OK, ""


JSON_META = {"contentType": "application/json"}


@pytest.mark.parametrize("value,message", [
    (b"x", "invalid character 'x' looking for beginning of value"),
    (b"1 2", "invalid character '2' after top-level value"),
    (b"", "unexpected end of JSON input"),
    (b'{"a":', "unexpected end of JSON input"),
    (b"[1e999]", "json: cannot unmarshal number 1e999 into Go value of type float64"),
])
def test_grpc_json_value_that_is_not_json(dapr: Dapr, value: bytes, message: str) -> None:
    """daprd json.Unmarshals a contentType=application/json value and returns its error bare
    (gRPC UNKNOWN); no item of the request is written."""
    import grpc

    good = f"g-{uuid.uuid4().hex[:8]}"
    assert _grpc_save(dapr, (good, b"1", {}, None), ("bad", value, JSON_META, None)) == (grpc.StatusCode.UNKNOWN, message)
    assert dapr.redis.exists(f"conf-app||{good}") == 0


def test_grpc_save_checks_items_in_order(dapr: Dapr) -> None:
    import grpc

    assert _grpc_save(dapr, ("k", b"x", JSON_META, None), ("", b"1", {}, None)) == (
        grpc.StatusCode.UNKNOWN, "invalid character 'x' looking for beginning of value")
    assert _grpc_save(dapr, ("", b"1", {}, None), ("k", b"x", JSON_META, None)) == (grpc.StatusCode.INVALID_ARGUMENT, "state key cannot be empty")
    assert _grpc_save(dapr, ("a||b", b"1", {}, None), ("", b"1", {}, None)) == (
        grpc.StatusCode.INVALID_ARGUMENT, "input key/keyPrefix 'a||b' can't contain '||'")
    key = f"j-{uuid.uuid4().hex[:8]}"
    assert _grpc_save(dapr, (key, b' {"b": [1, "\\udc80"]} ', JSON_META, None)) == (grpc.StatusCode.OK, "")
    assert json.loads(dapr.redis.hget(f"conf-app||{key}", "data")) == {"b": [1, "\ufffd"]}
    assert _grpc_save(dapr, (key, b"2", {}, " 1")) == (
        grpc.StatusCode.INVALID_ARGUMENT, 'failed saving state in state store statestore: invalid etag value: strconv.Atoi: parsing " 1": invalid syntax')


def _details(err) -> list[tuple[str, ...]]:  # type: ignore[no-untyped-def]
    from google.rpc import error_details_pb2
    from grpc_status import rpc_status

    out: list[tuple[str, ...]] = []
    for detail in rpc_status.from_call(err).details:
        for kind in (error_details_pb2.ErrorInfo, error_details_pb2.ResourceInfo, error_details_pb2.BadRequest):
            if detail.Is(kind.DESCRIPTOR):
                message = kind()
                detail.Unpack(message)
                out.append((kind.__name__, getattr(message, "reason", "") or getattr(message, "resource_name", "")))
    return out


def test_grpc_state_errors_carry_daprds_details(dapr: Dapr) -> None:
    """apierrors.Basic is one ErrorInfo (reason = the error code), no ResourceInfo; a key with
    '||' is checked before a transaction's operation type and carries the InvalidKeyName details."""
    import grpc
    from dapr.proto.common.v1 import common_pb2
    from dapr.proto.runtime.v1 import dapr_pb2_grpc, state_pb2

    key = f"d-{uuid.uuid4().hex[:8]}"
    etag = common_pb2.Etag(value="9")
    with grpc.insecure_channel(f"127.0.0.1:{dapr.sidecar.grpc_port}") as channel:
        stub = dapr_pb2_grpc.DaprStub(channel)
        stub.SaveState(state_pb2.SaveStateRequest(store_name="statestore", states=[common_pb2.StateItem(key=key, value=b"1")]))

        def tx(op: str, item_key: str) -> state_pb2.ExecuteStateTransactionRequest:
            return state_pb2.ExecuteStateTransactionRequest(storeName="statestore", operations=[
                state_pb2.TransactionalStateOperation(operationType=op, request=common_pb2.StateItem(key=item_key))])

        calls = [
            (lambda: stub.SaveState(state_pb2.SaveStateRequest(store_name="statestore", states=[common_pb2.StateItem(key=key, value=b"2", etag=etag)])),
             grpc.StatusCode.ABORTED, [("ErrorInfo", "ERR_STATE_SAVE")]),
            (lambda: stub.SaveState(state_pb2.SaveStateRequest(store_name="statestore", states=[common_pb2.StateItem(key="", value=b"2")])),
             grpc.StatusCode.INVALID_ARGUMENT, [("ErrorInfo", "ERR_STATE_SAVE")]),
            (lambda: stub.DeleteState(state_pb2.DeleteStateRequest(store_name="statestore", key=key, etag=etag)),
             grpc.StatusCode.ABORTED, [("ErrorInfo", "ERR_STATE_DELETE")]),
            (lambda: stub.DeleteBulkState(state_pb2.DeleteBulkStateRequest(store_name="statestore", states=[common_pb2.StateItem(key=key, etag=etag)])),
             grpc.StatusCode.ABORTED, [("ErrorInfo", "ERR_STATE_BULK_DELETE")]),
            (lambda: stub.ExecuteStateTransaction(tx("merge", "x")), grpc.StatusCode.UNIMPLEMENTED, [("ErrorInfo", "ERR_NOT_SUPPORTED_STATE_OPERATION")]),
            (lambda: stub.ExecuteStateTransaction(tx("merge", "a||b")), grpc.StatusCode.INVALID_ARGUMENT,
             [("BadRequest", ""), ("ResourceInfo", "statestore"), ("ErrorInfo", "DAPR_STATE_ILLEGAL_KEY")]),
        ]
        for call, code, details in calls:
            with pytest.raises(grpc.RpcError) as err:
                call()
            assert (err.value.code(), _details(err.value)) == (code, details)
    assert dapr.redis.hget(f"conf-app||{key}", "data") == b"1"


SET_JSON_FAILED = ("ERR Error running script (call to f_c5d8cabb8162d7f0980fe627a55d83f54c800e66): @user_script:4: @user_script: 4: "
                   "Unknown Redis command called from Lua script")
DELETE_JSON_FAILED = ("ERR Error running script (call to f_a158ecb7b5f4706cf797f7fc9e58b698645915b0): @user_script:4: @user_script: 4: "
                      "Unknown Redis command called from Lua script")


@pytest.mark.parametrize("op,failed", [("upsert", SET_JSON_FAILED), ("delete", DELETE_JSON_FAILED)])
def test_transaction_with_json_content_type_needs_redisjson(dapr: Dapr, op: str, failed: str) -> None:
    """contrib's Multi takes an operation's ``contentType: application/json`` as "store a RedisJSON
    document" without checking the server has RedisJSON (Set checks): on plain Redis it fails."""
    key = f"rj-{uuid.uuid4().hex[:8]}"
    body = {"operations": [{"operation": op, "request": {"key": key, "value": {"a": 1}}}]}
    assert post(dapr, S + "/transaction?metadata.contentType=application/json", json.dumps(body).encode()) == (
        500, {"errorCode": "ERR_STATE_TRANSACTION", "message": "error while executing state transaction: " + failed})
    body["operations"][0]["request"]["metadata"] = {"contentType": "application/json"}  # type: ignore[index]
    assert post(dapr, S + "/transaction", json.dumps(body).encode())[0] == 500
    assert post(dapr, S, json.dumps([{"key": key, "value": {"a": 1}, "metadata": {"contentType": "application/json"}}]).encode()) == (204, None)
    assert dapr.redis.hget(f"conf-app||{key}", "data") == b'{"a":1}'


def test_bulk_save_with_several_failures(dapr: Dapr) -> None:
    """daprd joins the failed items' errors; when some are ETag errors, errors.As finds one:
    HTTP answers with that one alone (its status and text), gRPC with its code and all the text."""
    import grpc

    a, b = f"m-{uuid.uuid4().hex[:8]}", f"m-{uuid.uuid4().hex[:8]}"
    assert post(dapr, S, json.dumps([{"key": a, "value": 1}, {"key": b, "value": 1}]).encode()) == (204, None)
    save = "failed saving state in state store statestore: "
    ttl = 'failed to parse ttl from metadata: strconv.ParseInt: parsing "x": invalid syntax'
    mixed = [{"key": a, "value": 2, "metadata": {"ttlInSeconds": "x"}}, {"key": b, "value": 2, "etag": "9"}]
    assert post(dapr, S, json.dumps(mixed).encode()) == (409, {"errorCode": "ERR_STATE_SAVE", "message": save + MISMATCH + SET_FAILED.format(k=b)})
    code, text = _grpc_save(dapr, (a, b"2", {"ttlInSeconds": "x"}, None), (b, b"2", {}, "9"))
    assert code == grpc.StatusCode.ABORTED and text.startswith(save)
    assert sorted(text[len(save):].split("\n")) == sorted([ttl, MISMATCH + SET_FAILED.format(k=b)])
    assert post(dapr, S, json.dumps([mixed[0], {"key": b, "value": 2}]).encode()) == (500, {"errorCode": "ERR_STATE_SAVE", "message": save + ttl})
    assert dapr.redis.hget(f"conf-app||{a}", "data") == b"1"  # the ttl item fails before writing
