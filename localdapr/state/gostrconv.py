"""Go's strconv where daprd's state path uses it, so the same text passes or fails the same way.

components-contrib's Redis store reads an ETag with ``strconv.Atoi`` and ``ttlInSeconds`` with
``strconv.ParseInt(s, 10, 0)``: an optional sign and ASCII digits within int64. Python's
``int()`` also takes surrounding spaces, ``_`` separators and non-ASCII digits, and has no range.
"""

from __future__ import annotations

import re


def go_quote(text: str) -> str:
    """strconv.Quote: printable runes kept, the rest escaped as Go does."""
    named = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\n": "\\n", "\r": "\\r", "\t": "\\t", "\v": "\\v", "\\": "\\\\", '"': '\\"'}
    out = []
    for ch in text:
        code = ord(ch)
        if ch in named:
            out.append(named[ch])
        elif ch.isprintable() and not 0xD800 <= code <= 0xDFFF:
            out.append(ch)
        elif code < 0x80:
            out.append(f"\\x{code:02x}")
        elif code < 0x10000:
            out.append(f"\\u{code:04x}")
        else:
            out.append(f"\\U{code:08x}")
    return '"' + "".join(out) + '"'


def go_parse_int(text: str, func: str = "Atoi") -> int:
    """strconv.Atoi / strconv.ParseInt(s, 10, 64): an optional sign and ASCII digits, in int64
    range; Go's error text otherwise (Python's int() would take " 1", "1_0" and "١")."""
    if not re.fullmatch(r"[+-]?[0-9]+", text):
        raise ValueError(f"strconv.{func}: parsing {go_quote(text)}: invalid syntax")
    value = int(text)
    if not -(2**63) <= value < 2**63:
        raise ValueError(f"strconv.{func}: parsing {go_quote(text)}: value out of range")
    return value
