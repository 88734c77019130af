"""Request bodies read the way daprd reads them: Go's ``encoding/json`` Decoder, then mapstructure.

Why not plain ``json.loads``: daprd's HTTP state handlers decode into typed Go structs, and what
they accept, reject and say follows from that: the first JSON value is read and anything after it
ignored; syntax errors are the Go scanner's (``invalid character 'x' looking for beginning of
value``, ``unexpected EOF``, ``EOF``, ``exceeded max depth`` past 10000 levels); a value of the
wrong type is ``json: cannot unmarshal number into Go struct field SetRequest.key of type string``
(the first such error, the rest of the body still decoded); field names match case-insensitively;
invalid UTF-8 and lone UTF-16 surrogates in strings become U+FFFD; ``null`` leaves a field at its
zero value. Transaction operations are then decoded from ``any`` by mapstructure, with its own
texts (``1 error(s) decoding: ...``). Sources: Go 1.26 ``encoding/json`` (scanner.go, decode.go,
stream.go) and mitchellh/mapstructure v1.5.1 as daprd 1.18.2 vendors them; the texts were checked
against a running daprd (tests/conformance/test_bad_input.py).

The fast path is Python's own parser; the Go scanner port below only runs when that fails (to
name the error as Go does) or for what Python parses differently (invalid UTF-8, nesting deeper
than Python's recursion limit but within Go's 10000).
"""

from __future__ import annotations

import codecs
import contextlib
import decimal
import json
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Iterator

MAX_DEPTH = 10000  # encoding/json's maxNestingDepth
_SPACE = b" \t\r\n"
_HEX = frozenset(b"0123456789abcdefABCDEF")
_SURROGATE = re.compile("[\ud800-\udfff]")


class GoJSONError(ValueError):
    """A body daprd's decoder rejects; ``str()`` is Go's error text."""


# ---- numbers ------------------------------------------------------------------------------
class Num(str):
    """A JSON number kept as its literal until the Go type it lands in is known."""


def _float64(text: str) -> float | None:
    value = float(text)
    return None if value in (float("inf"), float("-inf")) else value


def go_value_text(value: Any) -> str:
    """Go's ``fmt`` ``%v`` for what ``encoding/json`` puts in an ``any`` (mapstructure's messages)."""
    if value is None:
        return "<nil>"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return _go_float(float(value))
    if isinstance(value, list):
        return "[" + " ".join(go_value_text(v) for v in value) + "]"
    if isinstance(value, dict):
        return "map[" + " ".join(f"{k}:{go_value_text(value[k])}" for k in sorted(value)) + "]"
    return str(value)


def _go_float(f: float) -> str:
    """Go's ``%v`` of a float64: strconv 'g' with the shortest digits, which switches to the
    exponent form when the exponent is < -4 or >= 6 (``1.23456789e+08``, ``1e+20``, ``123``)."""
    if f == 0:
        return "0"
    sign, digits, exponent = decimal.Decimal(repr(f)).normalize().as_tuple()
    ds = "".join(map(str, digits))
    dp = len(ds) + int(exponent)
    exp = dp - 1
    prefix = "-" if sign else ""
    if exp < -4 or exp >= 6:
        mant = ds[0] + ("." + ds[1:] if len(ds) > 1 else "")
        return f"{prefix}{mant}e{'-' if exp < 0 else '+'}{abs(exp):02d}"
    if dp <= 0:
        return f"{prefix}0.{'0' * -dp}{ds}"
    if dp >= len(ds):
        return prefix + ds + "0" * (dp - len(ds))
    return f"{prefix}{ds[:dp]}.{ds[dp:]}"


# ---- the Go scanner -----------------------------------------------------------------------
def _quote_char(c: int) -> str:
    """encoding/json's quoteChar: the byte as a rune, Go-quoted."""
    if c == ord("'"):
        return "'\\''"
    if c == ord('"'):
        return "'\"'"
    ch = chr(c)
    if ch == "\\":
        return "'\\\\'"
    if ch.isprintable():
        return f"'{ch}'"
    named = {7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v"}
    if c in named:
        return f"'{named[c]}'"
    if c < 0x80:
        return f"'\\x{c:02x}'"
    return f"'\\u{c:04x}'"


def _error(c: int, context: str) -> GoJSONError:
    return GoJSONError(f"invalid character {_quote_char(c)} {context}")


_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


def scan_value(raw: bytes) -> int:
    """Where the first JSON value in ``raw`` ends, or the GoJSONError Go's Decoder reports.

    A port of encoding/json's scanner state machine, iterative (no recursion, so 100,000 levels
    cost nothing), with Decoder.readValue's end rules: an object or array ends at its closing
    byte; a scalar at the next byte or at EOF (what follows is never looked at)."""
    n = len(raw)
    i = 0
    while i < n and raw[i] in _SPACE:
        i += 1
    if i == n:
        raise GoJSONError("EOF")
    stack: list[str] = []  # 'k' object before key, 'v' object value, 'a' array

    def eof() -> GoJSONError:
        return GoJSONError("unexpected EOF")

    while True:
        # ---- a value begins at i (whitespace skipped) ----
        while i < n and raw[i] in _SPACE:
            i += 1
        if i == n:
            raise eof()
        c = raw[i]
        if c in b"{[":
            stack.append("k" if c == ord("{") else "a")
            if len(stack) > MAX_DEPTH:
                raise _error(c, "exceeded max depth")
            i += 1
            while i < n and raw[i] in _SPACE:
                i += 1
            if i == n:
                raise eof()
            close = ord("}") if c == ord("{") else ord("]")
            if raw[i] == close:
                stack.pop()
                i += 1
                if not stack:
                    return i
                i = _after_value(raw, i, stack)
                if i < 0:
                    return -i
                continue
            if c == ord("{"):
                i = _object_key(raw, i, stack)
            continue
        if c == ord('"'):
            i = _string_end(raw, i + 1)
        elif c == ord("-") or ord("0") <= c <= ord("9"):
            i = _number_end(raw, i)
        elif c in _LITERALS:
            word = _LITERALS[c]
            for k, expected in enumerate(word[1:], start=1):
                if i + k >= n:
                    raise eof()
                if raw[i + k] != expected:
                    raise _error(raw[i + k], f"in literal {word.decode()} (expecting '{chr(expected)}')")
            i += len(word)
        else:
            raise _error(c, "looking for beginning of value")
        if not stack:
            return i
        i = _after_value(raw, i, stack)
        if i < 0:
            return -i


def _object_key(raw: bytes, i: int, stack: list[str]) -> int:
    """At a key's opening quote (whitespace skipped): read ``"key" :``, return where the value starts."""
    n = len(raw)
    if raw[i] != ord('"'):
        raise _error(raw[i], "looking for beginning of object key string")
    i = _string_end(raw, i + 1)
    while i < n and raw[i] in _SPACE:
        i += 1
    if i == n:
        raise GoJSONError("unexpected EOF")
    if raw[i] != ord(":"):
        raise _error(raw[i], "after object key")
    stack[-1] = "v"
    return i + 1


def _after_value(raw: bytes, i: int, stack: list[str]) -> int:
    """After a value inside a container: commas, closers; returns where the next value starts, or
    ``-end`` when the outermost container closed."""
    n = len(raw)
    while True:
        while i < n and raw[i] in _SPACE:
            i += 1
        if i == n:
            raise GoJSONError("unexpected EOF")
        c = raw[i]
        top = stack[-1]
        if top == "v":
            if c == ord(","):
                i += 1
                while i < n and raw[i] in _SPACE:
                    i += 1
                if i == n:
                    raise GoJSONError("unexpected EOF")
                stack[-1] = "k"
                return _object_key(raw, i, stack)
            if c != ord("}"):
                raise _error(c, "after object key:value pair")
        else:
            if c == ord(","):
                return i + 1
            if c != ord("]"):
                raise _error(c, "after array element")
        stack.pop()
        i += 1
        if not stack:
            return -i


def _string_end(raw: bytes, i: int) -> int:
    """Just past the closing quote of a string whose body starts at ``i``."""
    n = len(raw)
    while True:
        if i >= n:
            raise GoJSONError("unexpected EOF")
        c = raw[i]
        if c == ord('"'):
            return i + 1
        if c < 0x20:
            raise _error(c, "in string literal")
        if c == ord("\\"):
            i += 1
            if i >= n:
                raise GoJSONError("unexpected EOF")
            e = raw[i]
            if e == ord("u"):
                for k in range(1, 5):
                    if i + k >= n:
                        raise GoJSONError("unexpected EOF")
                    if raw[i + k] not in _HEX:
                        raise _error(raw[i + k], "in \\u hexadecimal character escape")
                i += 4
            elif e not in b'bfnrt\\/"':
                raise _error(e, "in string escape code")
        i += 1


def _number_end(raw: bytes, i: int) -> int:
    n = len(raw)

    def at(k: int) -> int:
        return raw[k] if k < n else -1  # -1: EOF, which ends a top-level number (space fed)

    if raw[i] == ord("-"):
        i += 1
        c = at(i)
        if c == -1:
            raise GoJSONError("unexpected EOF")
        if not ord("0") <= c <= ord("9"):
            raise _error(c, "in numeric literal")
    if raw[i] == ord("0"):
        i += 1
    else:
        while ord("0") <= at(i) <= ord("9"):
            i += 1
    if at(i) == ord("."):
        i += 1
        c = at(i)
        if c == -1:
            raise GoJSONError("unexpected EOF")
        if not ord("0") <= c <= ord("9"):
            raise _error(c, "after decimal point in numeric literal")
        while ord("0") <= at(i) <= ord("9"):
            i += 1
    if at(i) in (ord("e"), ord("E")):
        i += 1
        if at(i) in (ord("+"), ord("-")):
            i += 1
        c = at(i)
        if c == -1:
            raise GoJSONError("unexpected EOF")
        if not ord("0") <= c <= ord("9"):
            raise _error(c, "in exponent of numeric literal")
        while ord("0") <= at(i) <= ord("9"):
            i += 1
    return i


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
        return [_decode(v, target.elem, ctx, _zero(target.elem)) for v in value]
    if kind == "map":
        if not isinstance(value, dict):
            ctx.save(_kind(value), target)
            return current
        assert target.elem is not None
        out = dict(current or {})
        for k, v in value.items():
            out[k] = _decode(v, target.elem, ctx, _zero(target.elem))
        return out
    # struct
    if not isinstance(value, dict):
        ctx.save(_kind(value), target)
        return current
    out = dict(current) if current else _zero(target)
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


def _zero(target: GoType) -> Any:
    if target.kind == "string":
        return ""
    if target.kind == "int":
        return 0
    if target.kind == "struct":
        return {f[1]: _zero(f[2]) for f in target.fields}
    return None


def decode_body(raw: bytes, target: GoType) -> Any:
    """``json.NewDecoder(body).Decode(&v)`` with ``v`` of type ``target``: Python dicts keyed by
    the Go field names, lists, strings, ints; raises GoJSONError with Go's text."""
    value = read_first_value(raw)
    ctx = _Ctx()
    with deep_values():  # _decode recurses once per level, up to Go's 10000
        result = _decode(value, target, ctx, _zero(target))
    if ctx.error is not None:
        raise ctx.error
    return result


# ---- mapstructure (transaction operations' ``request``) -----------------------------------
def _go_type_of(value: Any) -> str:
    if isinstance(value, bool):
        return "bool"
    if isinstance(value, (int, float)):
        return "float64"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "[]interface {}"
    return "map[string]interface {}"


def _go_kind_of(value: Any) -> str:
    return {"[]interface {}": "slice", "map[string]interface {}": "map"}.get(_go_type_of(value), _go_type_of(value))


def mapstructure_decode(value: Any, target: GoType) -> dict[str, Any]:
    """``mapstructure.Decode(value, &target)`` for a struct of strings, string pointers, string
    maps, ``any`` and nested structs (daprd's state.SetRequest / DeleteRequest)."""
    if value is None:
        return _zero(target)
    if not isinstance(value, dict):
        raise GoJSONError(f"'' expected a map, got '{_go_kind_of(value)}'")
    errors: list[str] = []
    out = _ms_struct("", value, target, errors)
    if errors:
        points = sorted(f"* {e}" for e in errors)
        raise GoJSONError(f"{len(errors)} error(s) decoding:\n\n" + "\n".join(points))
    return out


def _ms_struct(name: str, value: dict[str, Any], target: GoType, errors: list[str]) -> dict[str, Any]:
    out = _zero(target)
    for _json_name, go_name, ftype in target.fields:
        if go_name in value:
            item = value[go_name]
        else:
            key = next((k for k in value if k.lower() == go_name.lower()), None)
            if key is None:
                continue
            item = value[key]
        fname = f"{name}.{go_name}" if name else go_name
        out[go_name] = _ms_value(fname, item, ftype, errors, out[go_name])
    return out


def _ms_value(name: str, item: Any, target: GoType, errors: list[str], current: Any) -> Any:
    if item is None:
        return current
    kind = target.kind
    if kind == "any":
        return item
    if kind == "ptr":
        assert target.elem is not None
        return _ms_value(name, item, target.elem, errors, "")
    if kind == "string":
        if isinstance(item, str):
            return item
        errors.append(f"'{name}' expected type 'string', got unconvertible type '{_go_type_of(item)}', value: '{go_value_text(item)}'")
        return current
    if kind == "map":
        if not isinstance(item, dict):
            errors.append(f"'{name}' expected a map, got '{_go_kind_of(item)}'")
            return current
        assert target.elem is not None
        return {k: _ms_value(f"{name}[{k}]", v, target.elem, errors, "") for k, v in sorted(item.items())}
    if kind == "struct":
        if not isinstance(item, dict):
            errors.append(f"'{name}' expected a map, got '{_go_kind_of(item)}'")
            return current
        return _ms_struct(name, item, target, errors)
    raise AssertionError(f"mapstructure target kind {kind} not modelled")



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
    rest = raw[end:].lstrip(_SPACE)
    if rest:
        raise _error(rest[0], "after top-level value")
    return decode_body(raw, ANY)
