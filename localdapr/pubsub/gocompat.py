"""Go standard-library behaviours daprd's pub/sub output depends on, byte for byte.

daprd builds every CloudEvent with Go's ``encoding/json``: map keys sorted, ``<``, ``>``, ``&``,
U+2028 and U+2029 escaped, and numbers decoded with ``UseNumber`` so their literal text
(``1e5``, ``1.50``, 20-digit integers) is written back unchanged. Python's ``json`` does none of
that, so an event written by the local sidecar would differ from daprd's in the stream.
Also here: ``strconv.ParseBool`` (the ``rawPayload`` flag), ``time.ParseDuration`` (``ttl``) and
``time.Format(time.RFC3339)`` (the ``time`` attribute).
"""

from __future__ import annotations

import base64
import json
import re
from datetime import datetime, timezone
from typing import Any


class GoNumber:
    """A JSON number kept as its literal text, like Go's ``json.Number`` (not a ``str``: code
    that asks "is this attribute a string?" must say no, as Go's type switches do)."""

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def __eq__(self, other: object) -> bool:
        return isinstance(other, GoNumber) and other.text == self.text

    def __hash__(self) -> int:
        return hash(self.text)

    def __repr__(self) -> str:
        return f"GoNumber({self.text})"


def _no_constant(name: str) -> Any:
    raise ValueError(f"invalid JSON value {name}")  # Go rejects NaN / Infinity


_DECODER = json.JSONDecoder(parse_float=GoNumber, parse_int=GoNumber, parse_constant=_no_constant)


def loads_first(data: bytes) -> Any:
    """Decode the first JSON value of ``data`` as Go's ``json.Decoder.Decode`` does (trailing
    bytes after it are ignored; invalid UTF-8 becomes U+FFFD). Raises ValueError when there is
    no valid value (empty input included)."""
    text = data.decode("utf-8", errors="replace")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    if start == len(text):
        raise ValueError("EOF")
    value, _ = _DECODER.raw_decode(text, start)
    return value


def loads_strict(data: bytes) -> Any:
    """Decode exactly one JSON value, as Go's ``json.Unmarshal`` does (trailing data = error)."""
    text = data.decode("utf-8", errors="replace")
    return _DECODER.decode(text)


_ESCAPES = {'"': '\\"', "\\": "\\\\", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\b": "\\b", "\f": "\\f",
            "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029"}
_NEEDS_ESCAPE = re.compile('["\\\\\x00-\x1f<>&\u2028\u2029]')


def _string(value: str) -> str:
    return '"' + _NEEDS_ESCAPE.sub(lambda m: _ESCAPES.get(m.group(), f"\\u{ord(m.group()):04x}"), value) + '"'


def dumps(value: Any) -> str:
    """Serialise like Go's ``json.Marshal`` of decoded JSON (``map[string]any`` and friends)."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, GoNumber):
        return value.text
    if isinstance(value, str):
        return _string(value)
    if isinstance(value, (int, float)):
        return json.dumps(value)
    if isinstance(value, dict):
        return "{" + ",".join(_string(str(k)) + ":" + dumps(value[k]) for k in sorted(value, key=str)) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ",".join(dumps(v) for v in value) + "]"
    if isinstance(value, (bytes, bytearray)):
        return _string(base64.b64encode(bytes(value)).decode())  # Go's []byte
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps_bytes(value: Any) -> bytes:
    return dumps(value).encode()


def plain(value: Any) -> Any:
    """Decoded JSON with GoNumber literals turned into Python numbers (for protobuf Structs)."""
    if isinstance(value, GoNumber):
        return float(value.text)
    if isinstance(value, dict):
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    return value


_TRUE = {"1", "t", "T", "TRUE", "true", "True"}
_FALSE = {"0", "f", "F", "FALSE", "false", "False"}


def parse_bool(text: str) -> bool:
    """``strconv.ParseBool``: ValueError for anything else (``"yes"`` included)."""
    if text in _TRUE:
        return True
    if text in _FALSE:
        return False
    raise ValueError(text)


_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")


def parse_duration(text: str) -> float:
    """``time.ParseDuration`` in seconds (``"1h30m"``, ``"-2.5s"``, ``"0"``); ValueError otherwise."""
    sign, rest = (-1.0, text[1:]) if text.startswith("-") else (1.0, text[1:] if text.startswith("+") else text)
    if rest == "0":
        return 0.0
    if not rest:
        raise ValueError(text)
    total, pos = 0.0, 0
    while pos < len(rest):
        match = _DURATION_PART.match(rest, pos)
        if match is None:
            raise ValueError(text)
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    return sign * total


def rfc3339(moment: datetime | None = None) -> str:
    """``t.Format(time.RFC3339)``: seconds precision, ``Z`` for UTC, else ``+hh:mm``."""
    text = (moment or datetime.now().astimezone()).isoformat(timespec="seconds")
    return text[:-6] + "Z" if text.endswith("+00:00") else text


def rfc3339_utc(moment: datetime) -> str:
    return moment.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def float64_text(value: float) -> str:
    """How Go's ``json.Marshal`` writes a ``float64``: the shortest digits that round-trip, in
    plain notation when 1e-6 <= |x| < 1e21, else as ``1e+21`` / ``1e-7``."""
    if value != value or value in (float("inf"), float("-inf")):
        raise ValueError(f"json: unsupported value: {value}")
    if value == 0:
        return "-0" if str(value).startswith("-") else "0"
    text = repr(float(value))
    if 1e-6 <= abs(value) < 1e21:
        if "e" in text or "E" in text:
            from decimal import Decimal

            text = format(Decimal(text), "f")
        if "." in text:
            text = text.rstrip("0").rstrip(".")
        return text
    mantissa, exp = text.split("e")
    mantissa = mantissa.rstrip("0").rstrip(".") if "." in mantissa else mantissa
    sign = "-" if exp.startswith("-") else "+"
    return f"{mantissa}e{sign}{exp.lstrip('+-').lstrip('0') or '0'}"


def float64_tree(value: Any) -> Any:
    """JSON decoded by Go into ``any`` without ``UseNumber``: every number becomes a float64
    (so ``1.50`` is written back as ``1.5`` and ``1e5`` as ``100000``)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if isinstance(value, (int, float)):
        return GoNumber(float64_text(float(value)))
    if isinstance(value, GoNumber):
        return GoNumber(float64_text(float(value.text)))
    if isinstance(value, dict):
        return {k: float64_tree(v) for k, v in value.items()}
    if isinstance(value, list):
        return [float64_tree(v) for v in value]
    return value
