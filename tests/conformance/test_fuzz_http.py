"""Seeded fuzzing of the HTTP state and workflow routes, on daprd and on the local sidecar.

A fixed-seed generator (no extra dependency, the same cases on every run and runtime) mutates
valid bodies, keys, headers and instance IDs: truncation, stray and invalid UTF-8 bytes, values of
the wrong JSON type, deep nesting, lone surrogates, separators and odd characters in keys. Whatever
the answer, it must be one daprd could give: an error status carries a JSON body with a Dapr
``errorCode`` (a bare 500 is a defect), the sidecar stays healthy, and data stored before the
run is unchanged. Exact answers for the interesting inputs are pinned in test_bad_input.py.
"""

from __future__ import annotations

import json
import os
import random
import urllib.parse
import uuid
from typing import Any, Iterator

import pytest

from tests.conformance.conftest import Dapr

SEED = 20261126

# Both runtimes' halves in one xdist worker: the local half compares its answers with daprd's,
# recorded in this process.
pytestmark = pytest.mark.xdist_group("tests/conformance/test_fuzz_http.py")

CASES = 400
S = "/v1.0/state/statestore"
WF = "/v1.0/workflows/dapr"
# Characters generated keys and IDs are drawn from: separators, escapes, quotes, non-ASCII,
# a line separator, a lone surrogate's UTF-8 look-alike. Never the seed keys' "seed" prefix.
ALPHABET = ["a", "b", "1", "|", "||", "%", " ", ".", "/", "\\", '"', "é", "\u2028", "\u0661", "{", ":", "_", "-", "\ufffd", "😀"]


def _text(rng: random.Random, n: int = 6) -> str:
    return "".join(rng.choice(ALPHABET) for _ in range(rng.randint(0, n)))


def _json_value(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1.5, 2**63, 1e300, 12345678901234567890123])
    if kind in (3, 4):
        return _text(rng)
    if kind in (5, 6):
        return [_json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))]
    return {_text(rng, 3): _json_value(rng, depth + 1) for _ in range(rng.randint(0, 3))}


def _set_item(rng: random.Random) -> dict[str, Any]:
    item: dict[str, Any] = {"key": "f" + _text(rng), "value": _json_value(rng)}
    for name, make in (("etag", lambda: rng.choice(["1", " 1", "+1", "x", "", "99999999999999999999", 1])),
                       ("metadata", lambda: rng.choice([{"ttlInSeconds": rng.choice(["100", "x", "-1"])}, {"a": 1}, "m"])),
                       ("options", lambda: rng.choice([{"concurrency": rng.choice(["first-write", "last-write", "x"])}, "o", [1]])),
                       ("contentType", lambda: rng.choice(["application/json", 1, None]))):
        if rng.random() < 0.3:
            item[name] = make()
    return item


def _template(rng: random.Random, route: str) -> Any:
    if route == "save":
        return [_set_item(rng) for _ in range(rng.randint(0, 3))]
    if route == "bulk":
        return {"keys": ["f" + _text(rng) for _ in range(rng.randint(0, 3))], "parallelism": rng.choice([0, 2, "x"])}
    return {"operations": [{"operation": rng.choice(["upsert", "delete", "merge", 5]),
                            "request": rng.choice([_set_item(rng), {"key": "f" + _text(rng)}, 7, [1], None])}
                           for _ in range(rng.randint(0, 3))]}


def _swap_types(rng: random.Random, doc: Any) -> Any:
    """Replace one node of the document by a value of another JSON type."""
    if isinstance(doc, dict) and doc and rng.random() < 0.7:
        key = rng.choice(list(doc))
        doc[key] = _swap_types(rng, doc[key])
        return doc
    if isinstance(doc, list) and doc and rng.random() < 0.7:
        i = rng.randrange(len(doc))
        doc[i] = _swap_types(rng, doc[i])
        return doc
    return _json_value(rng)


def _mutate(rng: random.Random, doc: Any) -> bytes:
    raw = json.dumps(doc, ensure_ascii=rng.random() < 0.5).encode("utf-8", "surrogatepass")
    how = rng.randrange(9)
    if how == 0 and raw:
        return raw[: rng.randrange(len(raw))]  # truncated
    if how == 1:
        pos = rng.randrange(len(raw) + 1)
        return raw[:pos] + bytes([rng.randrange(256)]) + raw[pos:]  # a stray byte
    if how == 2 and raw:
        pos = rng.randrange(len(raw))
        return raw[:pos] + bytes([rng.randrange(256)]) + raw[pos + 1:]  # a byte replaced
    if how == 3:
        return json.dumps(_swap_types(rng, doc)).encode()
    if how == 4:
        depth = rng.choice([2, 500, 9999, 10001, 50000])
        return raw.replace(b'"value": ', b'"value": ' + b"[" * depth, 1) + b"]" * depth  # deep (often unbalanced)
    if how == 5:
        return raw.replace(b'"f', rng.choice([b'"\\udc80', b'"\\ud800\\u0041', b'"\xff\xfe', b'"a||b', b'"\\u0000']), 1)
    if how == 6:
        return raw + rng.choice([b" trailing", b"{}", b"\x00", b"]"])
    if how == 7:
        return rng.choice([b"", b" ", b"null", b"[]", b"{}", b"[1,2]", b'"x"', b"\xef\xbb\xbf[]", b"NaN", b"-", b"[" * 100_000])
    return raw


def cases(seed: int = SEED, count: int = CASES) -> Iterator[tuple[str, str, bytes, dict[str, str]]]:
    """(method, path, body, headers) for ``count`` requests, the same for a given seed."""
    rng = random.Random(seed)
    for _ in range(count):
        target = rng.choice(["save", "bulk", "transaction", "get", "delete", "wf-start", "wf-get"])
        if target in ("save", "bulk", "transaction"):
            path = {"save": S, "bulk": S + "/bulk", "transaction": S + "/transaction"}[target]
            if rng.random() < 0.2:
                # TTLs long enough never to expire during the run (answers must not depend on speed).
                path += "?metadata.ttlInSeconds=" + rng.choice(["100", "x", "-1", "", "%2B100", "1e3", "99999999999999999999", "%20100"])
            yield "POST", path, _mutate(rng, _template(rng, target)), {}
        elif target in ("get", "delete"):
            key = urllib.parse.quote("f" + _text(rng), safe="")
            headers = {"If-Match": rng.choice(["1", "x", "+1", "99999999999999999999"])} if target == "delete" and rng.random() < 0.5 else {}
            yield target.upper(), f"{S}/{key}", b"", headers
        elif target == "wf-start":
            # Always an ID daprd refuses (a character outside letters, digits, '-', '_', or too
            # long): a valid one would wait for a workflow worker, which this stack has none of.
            bad = rng.choice([" ", ".", "|", "/", ":", "%", "\u2028", "😀"])
            instance = _text(rng) + bad + _text(rng) if rng.random() < 0.8 else "x" * rng.randint(65, 80)
            name = urllib.parse.quote(_text(rng, 3), safe="") or "w"
            yield "POST", f"{WF}/{name}/start?instanceID={urllib.parse.quote(instance, safe='')}", _mutate(rng, _json_value(rng)), {}
        else:
            yield "GET", f"{WF}/{urllib.parse.quote('f' + _text(rng), safe='')}", b"", {}


def test_generator_is_deterministic_and_varied() -> None:
    first, second = list(cases()), list(cases())
    assert first == second
    assert len({c[1].split("?")[0].rsplit("/", 1)[-1] if c[0] == "POST" else c[0] for c in first}) >= 5
    assert sum(1 for c in first if c[2] and b"[" * 10001 in c[2]) >= 1  # deep nesting is among them


@pytest.fixture
def seeded(dapr: Dapr) -> dict[bytes, dict[bytes, bytes]]:
    """Data written before the fuzzing (plain, with TTL, first-write): it must survive intact."""
    tag = uuid.uuid4().hex[:8]
    body = [{"key": f"seed-{tag}-plain", "value": {"n": 1, "s": "é"}},
            {"key": f"seed-{tag}-ttl", "value": [1, 2], "metadata": {"ttlInSeconds": "3600"}},
            {"key": f"seed-{tag}-fw", "value": "first", "options": {"concurrency": "first-write"}}]
    assert dapr.http.post(S, json=body).status_code == 204
    keys = [f"conf-app||seed-{tag}-{n}".encode() for n in ("plain", "ttl", "fw")]
    return {k: dapr.redis.hgetall(k) for k in keys}


# Each runtime's answers, by case: (status, errorCode, message). Pytest runs a module's daprd
# half before its local half, so the local run compares itself with daprd's answers.
ANSWERS: dict[str, list[tuple[int, str, str]]] = {}


def test_fuzz_state_and_workflow_routes(dapr: Dapr, seeded: dict[bytes, dict[bytes, bytes]]) -> None:
    bad: list[str] = []
    answers = ANSWERS.setdefault(dapr.runtime, [])
    for method, path, body, headers in cases():
        r = dapr.http.request(method, path, content=body or None, headers=headers, timeout=60)
        try:
            doc = r.json() if r.status_code >= 400 else None
        except ValueError:
            doc = None
        answers.append((r.status_code, doc.get("errorCode", "") if isinstance(doc, dict) else "", doc.get("message", "") if isinstance(doc, dict) else ""))
        if r.status_code >= 400:
            try:
                doc = r.json()
                ok = isinstance(doc, dict) and bool(doc.get("errorCode")) and isinstance(doc.get("message"), str)
            except ValueError:
                ok = False
            if not ok:
                bad.append(f"{method} {path} {body[:80]!r} -> {r.status_code} {r.text[:200]!r}")
    assert not bad, "answers without a Dapr errorCode:\n" + "\n".join(bad)
    assert dapr.http.get("/v1.0/healthz").status_code == 204
    assert {k: dapr.redis.hgetall(k) for k in seeded} == seeded
    assert 0 < dapr.redis.ttl(next(k for k in seeded if k.endswith(b"-ttl")))


def test_fuzz_answers_are_daprds(dapr: Dapr) -> None:
    """The local sidecar's answers to the fuzz cases are daprd's: status, errorCode, message.
    Runs on the local half, after the daprd half recorded its answers in this session."""
    if dapr.runtime == "daprd":
        assert len(ANSWERS.get("daprd", [])) == CASES
        return
    daprd, local = ANSWERS.get("daprd"), ANSWERS.get("local")
    if daprd is None:
        if os.environ.get("COOKBOOK_REQUIRE_DAPRD"):  # CI: both halves must have run, side by side
            pytest.fail("daprd's half of this module did not run in this session")
        pytest.skip("daprd's half of this module did not run in this session (e.g. -k local)")
    assert local is not None and len(local) == len(daprd) == CASES
    requests = list(cases())
    diffs = [f"{requests[i][0]} {requests[i][1]} {requests[i][2][:80]!r}\n  daprd {d}\n  local {l}"
             for i, (d, l) in enumerate(zip(daprd, local)) if d != l]
    assert not diffs, f"{len(diffs)} of {CASES} answers differ from daprd's:\n" + "\n".join(diffs)
