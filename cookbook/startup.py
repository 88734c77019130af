"""Start a sidecar that is expected to refuse its configuration, and keep what it said.

A production configuration is mostly about what fails: a missing secret, a wrong password, a
Redis that wants TLS. The notebook shows daprd's own words for each, so a learner recognises
them in their logs; this helper starts the sidecar, expects it to exit, and returns its fatal
line (or None when it came up, after stopping it).
"""

from __future__ import annotations

from cookbook.logs import parse_line, strip_ansi
from cookbook.processes import ProcessFailed
from cookbook.sidecar import Sidecar


def fatal_message(sidecar: Sidecar) -> str | None:
    """The ``msg`` of the sidecar's ``level=fatal`` line, None if it never logged one."""
    text = strip_ansi(sidecar.process.log_path.read_text(errors="replace"))
    fatal = [parse_line(line) for line in text.splitlines() if "level=fatal" in line]
    return fatal[-1].get("msg") if fatal else None


def warnings(sidecar: Sidecar) -> list[str]:
    """Every warning and error the sidecar logged (``msg`` only), in order."""
    text = strip_ansi(sidecar.process.log_path.read_text(errors="replace"))
    parsed = [parse_line(line) for line in text.splitlines()]
    return [p["msg"] for p in parsed if p.get("level") in ("warning", "error") and "msg" in p]


def start_expecting_failure(sidecar: Sidecar, timeout: float = 60.0) -> str | None:
    """Start; return the fatal message if the sidecar exits, None (and stop it) if it came up."""
    try:
        sidecar.start(timeout)
    except ProcessFailed:
        sidecar.stop()
        return fatal_message(sidecar)
    sidecar.stop()
    return None
