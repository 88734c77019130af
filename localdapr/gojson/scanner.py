"""Go's encoding/json scanner, ported: where the first JSON value of a body ends, or the
SyntaxError text Go's Decoder gives for it (``invalid character 'x' looking for beginning of
value``, ``unexpected EOF``, ``EOF``, ``exceeded max depth`` past 10000 levels).

A port of Go 1.26 encoding/json scanner.go's state machine and stream.go's Decoder.readValue end
rules, iterative (no recursion: 100,000 levels cost nothing).
"""

from __future__ import annotations

MAX_DEPTH = 10000  # encoding/json's maxNestingDepth
SPACE = b" \t\r\n"
_HEX = frozenset(b"0123456789abcdefABCDEF")


class GoJSONError(ValueError):
    """A body Go's decoder rejects; ``str()`` is Go's error text."""


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


def syntax_error(c: int, context: str) -> GoJSONError:
    return GoJSONError(f"invalid character {_quote_char(c)} {context}")


_LITERALS = {ord("t"): b"true", ord("f"): b"false", ord("n"): b"null"}


def scan_value(raw: bytes) -> int:
    """Where the first JSON value in ``raw`` ends, or the GoJSONError Go's Decoder reports.

    A port of encoding/json's scanner state machine, iterative (no recursion, so 100,000 levels
    cost nothing), with Decoder.readValue's end rules: an object or array ends at its closing
    byte; a scalar at the next byte or at EOF (what follows is never looked at)."""
    n = len(raw)
    i = 0
    while i < n and raw[i] in SPACE:
        i += 1
    if i == n:
        raise GoJSONError("EOF")
    stack: list[str] = []  # 'k' object before key, 'v' object value, 'a' array

    def eof() -> GoJSONError:
        return GoJSONError("unexpected EOF")

    while True:
        # ---- a value begins at i (whitespace skipped) ----
        while i < n and raw[i] in SPACE:
            i += 1
        if i == n:
            raise eof()
        c = raw[i]
        if c in b"{[":
            stack.append("k" if c == ord("{") else "a")
            if len(stack) > MAX_DEPTH:
                raise syntax_error(c, "exceeded max depth")
            i += 1
            while i < n and raw[i] in SPACE:
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
                    raise syntax_error(raw[i + k], f"in literal {word.decode()} (expecting '{chr(expected)}')")
            i += len(word)
        else:
            raise syntax_error(c, "looking for beginning of value")
        if not stack:
            return i
        i = _after_value(raw, i, stack)
        if i < 0:
            return -i


def _object_key(raw: bytes, i: int, stack: list[str]) -> int:
    """At a key's opening quote (whitespace skipped): read ``"key" :``, return where the value starts."""
    n = len(raw)
    if raw[i] != ord('"'):
        raise syntax_error(raw[i], "looking for beginning of object key string")
    i = _string_end(raw, i + 1)
    while i < n and raw[i] in SPACE:
        i += 1
    if i == n:
        raise GoJSONError("unexpected EOF")
    if raw[i] != ord(":"):
        raise syntax_error(raw[i], "after object key")
    stack[-1] = "v"
    return i + 1


def _after_value(raw: bytes, i: int, stack: list[str]) -> int:
    """After a value inside a container: commas, closers; returns where the next value starts, or
    ``-end`` when the outermost container closed."""
    n = len(raw)
    while True:
        while i < n and raw[i] in SPACE:
            i += 1
        if i == n:
            raise GoJSONError("unexpected EOF")
        c = raw[i]
        top = stack[-1]
        if top == "v":
            if c == ord(","):
                i += 1
                while i < n and raw[i] in SPACE:
                    i += 1
                if i == n:
                    raise GoJSONError("unexpected EOF")
                stack[-1] = "k"
                return _object_key(raw, i, stack)
            if c != ord("}"):
                raise syntax_error(c, "after object key:value pair")
        else:
            if c == ord(","):
                return i + 1
            if c != ord("]"):
                raise syntax_error(c, "after array element")
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
            raise syntax_error(c, "in string literal")
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
                        raise syntax_error(raw[i + k], "in \\u hexadecimal character escape")
                i += 4
            elif e not in b'bfnrt\\/"':
                raise syntax_error(e, "in string escape code")
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
            raise syntax_error(c, "in numeric literal")
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
            raise syntax_error(c, "after decimal point in numeric literal")
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
            raise syntax_error(c, "in exponent of numeric literal")
        while ord("0") <= at(i) <= ord("9"):
            i += 1
    return i
