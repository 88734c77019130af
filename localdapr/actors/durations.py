"""Due times, periods and TTLs of actor reminders and timers, read as daprd 1.18 reads them.

Accepted (daprd's ``actors/api`` parseReminderTime / NewReminderPeriod): a Go duration
(``1s``, ``500ms``, ``1h30m``), an ISO 8601 duration (``PT1S``, ``P1DT2H``), an RFC 3339 time
(due time and TTL only), and for periods ``R<n>/<ISO duration>`` (``n`` repetitions). A period
reads back as daprd's Scheduler shows it: ``@every <Go duration>`` (``@every 1h0m0s``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timezone

_GO_UNITS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "μs": 1e-6, "ms": 1e-3, "s": 1.0, "m": 60.0, "h": 3600.0}
_GO_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)")
_ISO = re.compile(r"^P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$")


class DurationError(ValueError):
    pass


def parse_go_duration(text: str) -> float:
    """Go's ``time.ParseDuration`` (seconds); ValueError for anything else."""
    s = text
    sign = 1.0
    if s[:1] in "+-":
        sign, s = (-1.0 if s[0] == "-" else 1.0), s[1:]
    if s == "0":
        return 0.0
    if not s:
        raise DurationError(f'time: invalid duration "{text}"')
    pos, total = 0, 0.0
    for m in _GO_PART.finditer(s):
        if m.start() != pos:
            raise DurationError(f'time: invalid duration "{text}"')
        total += float(m.group(1)) * _GO_UNITS[m.group(2)]
        pos = m.end()
    if pos != len(s):
        raise DurationError(f'time: invalid duration "{text}"')
    return sign * total


def parse_iso_duration(text: str) -> float:
    m = _ISO.match(text)
    if not m or text in ("P", "PT") or text.endswith("T"):
        raise DurationError(f"unsupported ISO8601 duration format {text!r}")
    y, mo, w, d, h, mi, s = m.groups()
    days = int(y or 0) * 365 + int(mo or 0) * 30 + int(w or 0) * 7 + int(d or 0)
    return days * 86400 + int(h or 0) * 3600 + int(mi or 0) * 60 + float(s or 0)


def parse_duration(text: str) -> float:
    """A Go or ISO 8601 duration, in seconds."""
    try:
        return parse_go_duration(text)
    except DurationError:
        return parse_iso_duration(text)


def parse_time(text: str, now: float) -> float:
    """A due time or TTL: a duration from ``now`` or an RFC 3339 instant (epoch seconds)."""
    try:
        return now + parse_duration(text)
    except DurationError:
        pass
    try:
        return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(timezone.utc).timestamp()
    except ValueError as exc:
        raise DurationError(f"unsupported time/duration format {text!r}") from exc


@dataclass
class Period:
    seconds: float = 0.0
    repeats: int = -1  # -1: forever (or none when seconds == 0)

    @property
    def recurring(self) -> bool:
        return self.seconds > 0


def parse_period(text: str) -> Period:
    """A period: empty (no repetition), a Go/ISO duration or ``R<n>/<ISO duration>``."""
    if not text:
        return Period()
    if text.startswith("R"):
        head, _, rest = text.partition("/")
        try:
            repeats = int(head[1:])
            seconds = parse_iso_duration(rest)
        except ValueError as exc:
            raise DurationError(f"unsupported duration format: {text}") from exc
        if repeats == 0:
            raise DurationError("has zero repetitions")
        return Period(seconds, repeats)
    try:
        return Period(parse_duration(text))
    except DurationError:
        raise DurationError(f"unsupported duration format: {text}") from None


def go_duration_string(seconds: float) -> str:
    """Go's ``time.Duration.String()``: ``1h0m0s``, ``1m30s``, ``2s``, ``1.5s``, ``500ms``."""
    ns = int(round(seconds * 1e9))
    if ns == 0:
        return "0s"
    sign = "-" if ns < 0 else ""
    ns = abs(ns)
    if ns < 1_000_000_000:
        for unit, size in (("ms", 1_000_000), ("µs", 1_000), ("ns", 1)):
            if ns >= size:
                return sign + _frac(ns, size) + unit
    h, rem = divmod(ns, 3600 * 10**9)
    m, rem = divmod(rem, 60 * 10**9)
    sec = _frac(rem, 10**9) + "s"
    if h:
        return f"{sign}{h}h{m}m{sec}"
    if m:
        return f"{sign}{m}m{sec}"
    return sign + sec


def _frac(value: int, size: int) -> str:
    whole, rest = divmod(value, size)
    if not rest:
        return str(whole)
    digits = len(str(size)) - 1
    return f"{whole}." + f"{rest:0{digits}d}".rstrip("0")
