"""Request bodies read the way daprd reads them: Go's ``json.NewDecoder(body).Decode(&v)`` (and
``json.Unmarshal``) into the typed Go structs of its handlers.

What daprd accepts, rejects and says follows from that: the first JSON value is read and anything
after it ignored; a value of the wrong type is ``json: cannot unmarshal number into Go struct field
SetRequest.key of type string`` (the first such error, the rest of the body still decoded); field
names match case-insensitively; invalid UTF-8 and lone UTF-16 surrogates in strings become
U+FFFD; ``null`` leaves a field at its zero value; numbers in ``any`` are float64 (``1e999`` is
refused). Sources: Go 1.26 encoding/json (decode.go, stream.go) as daprd 1.18.2 is built with;
the texts were checked against a running daprd (tests/conformance/test_bad_input.py).

The fast path is Python's own parser; the Go scanner (scanner.py) runs when that fails (to name
the error as Go does) or for what Python parses differently (invalid UTF-8, nesting deeper than
Python's recursion limit but within Go's 10000).
"""

from __future__ import annotations

import codecs
import contextlib
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator

from localdapr.gojson.scanner import MAX_DEPTH, SPACE, GoJSONError, scan_value, syntax_error

_SURROGATE = re.compile("[\ud800-\udfff]")


class Num(str):
    """A JSON number kept as its literal until the Go type it lands in is known."""


def _float64(text: str) -> float | None:
    value = float(text)
    return None if value in (float("inf"), float("-inf")) else value


# ---- reading the first value --------------------------------------------------------------
def _go_replace(err: UnicodeDecodeError) -> tuple[str, int]:
    # Go's utf8.DecodeRune: every byte of an invalid sequence is one U+FFFD.
    return "\ufffd" * (err.end - err.start), err.end


codecs.register_error("localdapr-go-fffd", _go_replace)


def _reject_constant(name: str) -> Any:
    raise ValueError(name)  # NaN / Infinity: Go has no such literals


@contextlib.contextmanager
def deep_values() -> Iterator[None]:
    """Room for Go's 10000 levels while Python's (recursive) json parses or prints a value."""
    old = sys.getrecursionlimit()
    sys.setrecursionlimit(max(old, 3 * MAX_DEPTH))
    try:
        yield
    finally:
        sys.setrecursionlimit(old)


def _fix_surrogates(value: Any) -> Any:
    """Lone UTF-16 surrogates (``"\\udc80"``) become U+FFFD, as Go's unquote does (iterative)."""
    def fix(s: str) -> str:
        return _SURROGATE.sub("\ufffd", s) if _SURROGATE.search(s) else s

    if isinstance(value, str) and not isinstance(value, Num):
        return fix(value)
    root = [value]
    todo: list[Any] = [root]
    while todo:
        node = todo.pop()
        if isinstance(node, list):
            for idx, item in enumerate(node):
                if isinstance(item, str) and not isinstance(item, Num):
                    node[idx] = fix(item)
                elif isinstance(item, (list, dict)):
                    todo.append(item)
        elif isinstance(node, dict):
            for key in list(node):
                item = node[key]
                if isinstance(item, str) and not isinstance(item, Num):
                    item = fix(item)
                elif isinstance(item, (list, dict)):
                    todo.append(item)
                new_key = fix(key)
                if new_key != key:
                    del node[key]
                node[new_key] = item
    return root[0]


_DECODER = json.JSONDecoder(parse_float=Num, parse_int=Num, parse_constant=_reject_constant)


def read_first_value(raw: bytes) -> Any:
    """The first JSON value of a body as Go's ``json.NewDecoder(body).Decode`` reads it.

    Numbers come back as :class:`Num` (their literal); everything after the value is ignored."""
    try:
        text = raw.decode("utf-8")
        start = len(text) - len(text.lstrip(" \t\r\n"))
        value, end = _DECODER.raw_decode(text, start)
        if isinstance(value, (dict, list)) or end == len(text) or text[end] in " \t\r\n" or not _is_scalar_prefix(text, start, end):
            return _fix_surrogates(value)
    except (ValueError, RecursionError):
        pass
    end = scan_value(raw)  # raises Go's error when there is one
    with deep_values():
        text = raw[:end].decode("utf-8", "localdapr-go-fffd")
        value, _ = _DECODER.raw_decode(text, len(text) - len(text.lstrip(" \t\r\n")))
    return _fix_surrogates(value)


def _is_scalar_prefix(text: str, start: int, end: int) -> bool:
    """A top-level number followed by digits Python stopped before (``01``) is not Go's reading."""
    return not (text[start] in "-0123456789" and text[end] in "0123456789.eE+-")


# ---- typed decoding (encoding/json's rules for the structs daprd uses) ---------------------
@dataclass(frozen=True)
class GoType:
    """A Go type for decoding: ``kind`` is string/int/any/slice/map/struct/ptr; ``name`` its text
    in error messages (``[]string``, ``state.SetRequest``)."""

    kind: str
    name: str
    elem: "GoType | None" = None
    fields: tuple[tuple[str, str, "GoType"], ...] = ()  # (json name, Go field name, type)
    struct_name: str = ""  # the bare struct name errors show (``SetRequest``)


STRING = GoType("string", "string")
INT = GoType("int", "int")
ANY = GoType("any", "interface {}")


def slice_of(elem: GoType) -> GoType:
    return GoType("slice", "[]" + elem.name, elem)


def map_of(elem: GoType) -> GoType:
    return GoType("map", "map[string]" + elem.name, elem)


def ptr_to(elem: GoType) -> GoType:
    return GoType("ptr", elem.name, elem)


def struct(name: str, *fields: tuple[str, str, GoType]) -> GoType:
    return GoType("struct", name, fields=tuple(fields), struct_name=name.rsplit(".", 1)[-1])


@dataclass
class _Ctx:
    error: GoJSONError | None = None
    struct: str = ""
    path: list[str] = field(default_factory=list)

    def save(self, what: str, target: GoType) -> None:
        if self.error is None:
            if self.struct or self.path:
                text = f"json: cannot unmarshal {what} into Go struct field {self.struct}.{'.'.join(self.path)} of type {target.name}"
            else:
                text = f"json: cannot unmarshal {what} into Go value of type {target.name}"
            self.error = GoJSONError(text)


def _kind(value: Any) -> str:
    if isinstance(value, Num):
        return "number"
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object"


def _to_any(value: Any, ctx: _Ctx) -> Any:
    """Go's ``any``: numbers are float64 (out of range: an error naming the literal). Kept as
    Python int when integral so the stored text is what it was (encoding.py)."""
    if isinstance(value, Num):
        if _float64(value) is None:
            ctx.save(f"number {value}", GoType("float64", "float64"))
            return None
        return int(value) if re.fullmatch(r"-?\d+", value) and len(value) < 4000 else float(value)
    if isinstance(value, list):
        return [_to_any(v, ctx) for v in value]
    if isinstance(value, dict):
        return {k: _to_any(v, ctx) for k, v in value.items()}
    return value


def _decode(value: Any, target: GoType, ctx: _Ctx, current: Any) -> Any:
    if value is None:  # null: the zero value stays (pointers, maps and slices become nil)
        return None if target.kind in ("ptr", "map", "slice", "any") else current
    kind = target.kind
    if kind == "any":
        return _to_any(value, ctx)
    if kind == "ptr":
        assert target.elem is not None
        return _decode(value, target.elem, ctx, None if target.elem.kind != "string" else "")
    if kind == "string":
        if isinstance(value, str) and not isinstance(value, Num):
            return value
        ctx.save(_kind(value), target)
        return current
    if kind == "int":
        if isinstance(value, Num):
            if re.fullmatch(r"-?[0-9]{1,19}", value) and -(2**63) <= int(value) < 2**63:
                return int(value)
            ctx.save(f"number {value}", target)
            return current
        ctx.save(_kind(value), target)
        return current
    if kind == "slice":
        if not isinstance(value, list):
            ctx.save(_kind(value), target)
            return current
        assert target.elem is not None
        return [_decode(v, target.elem, ctx, zero(target.elem)) for v in value]
    if kind == "map":
        if not isinstance(value, dict):
            ctx.save(_kind(value), target)
            return current
        assert target.elem is not None
        out = dict(current or {})
        for k, v in value.items():
            out[k] = _decode(v, target.elem, ctx, zero(target.elem))
        return out
    # struct
    if not isinstance(value, dict):
        ctx.save(_kind(value), target)
        return current
    out = dict(current) if current else zero(target)
    for key, item in value.items():
        match = next((f for f in target.fields if f[0] == key), None) or next(
            (f for f in target.fields if f[0].lower() == key.lower()), None
        )
        if match is None:
            continue
        outer = ctx.struct
        ctx.struct = target.struct_name
        ctx.path.append(match[0])
        out[match[1]] = _decode(item, match[2], ctx, out.get(match[1]))
        ctx.path.pop()
        ctx.struct = outer
    return out


def zero(target: GoType) -> Any:
    if target.kind == "string":
        return ""
    if target.kind == "int":
        return 0
    if target.kind == "struct":
        return {f[1]: zero(f[2]) for f in target.fields}
    return None


def decode_body(raw: bytes, target: GoType) -> Any:
    """``json.NewDecoder(body).Decode(&v)`` with ``v`` of type ``target``: Python dicts keyed by
    the Go field names, lists, strings, ints; raises GoJSONError with Go's text."""
    value = read_first_value(raw)
    ctx = _Ctx()
    with deep_values():  # _decode recurses once per level, up to Go's 10000
        result = _decode(value, target, ctx, zero(target))
    if ctx.error is not None:
        raise ctx.error
    return result




def unmarshal_any(raw: bytes) -> Any:
    """``json.Unmarshal(raw, &v)`` with ``v any``: unlike the Decoder the whole input must be one
    value (``invalid character 'x' after top-level value``), and running out of input is
    ``unexpected end of JSON input``. Numbers become Python int/float as in decode_body."""
    try:
        end = scan_value(raw)
    except GoJSONError as exc:
        if str(exc) in ("EOF", "unexpected EOF"):
            raise GoJSONError("unexpected end of JSON input") from None
        raise
    rest = raw[end:].lstrip(SPACE)
    if rest:
        raise syntax_error(rest[0], "after top-level value")
    return decode_body(raw, ANY)
