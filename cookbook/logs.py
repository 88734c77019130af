"""The few log lines that prove what happened, out of a sidecar's or an app's log file.

Why: the best evidence of a recovery is the sidecar saying so ("execution failed with a
recoverable error and will be retried later"), but it sits in a log of hundreds of lines with
ANSI colour codes. :func:`log_excerpt` strips the codes, parses daprd's logfmt lines
(``time=... level=... msg="..."``; other lines are kept whole) and keeps the lines matching the
patterns a notebook names, as a table of time, level and message.
"""

from __future__ import annotations

import re
import shlex
from pathlib import Path
from typing import Sequence

from cookbook.display import Table

ANSI = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]")
START_MARKER = "===== start "  # written by cookbook.processes before each (re)start
# Python's logging as the durabletask worker and dapr-agents print it: "2026-11-26 14:16:04.704 name LEVEL: msg"
PY_LOG = re.compile(r"^\d{4}-\d\d-\d\d[ T](\d\d:\d\d:\d\d[.,]\d{3})\S*\s+(?:\S+\s+)?(DEBUG|INFO|WARNING|ERROR|CRITICAL):?\s+(.*)$")


def strip_ansi(text: str) -> str:
    return ANSI.sub("", text)


def parse_line(line: str) -> dict[str, str]:
    """``{"time", "level", "msg"}`` from a logfmt line; the whole line as ``msg`` otherwise."""
    if line.startswith("time="):
        try:
            fields = dict(part.split("=", 1) for part in shlex.split(line) if "=" in part)
        except ValueError:  # an unbalanced quote: keep the raw line
            fields = {}
        if "msg" in fields:
            stamp = fields.get("time", "")
            return {"time": stamp[11:23] if len(stamp) >= 23 else stamp, "level": fields.get("level", ""), "msg": fields["msg"]}
    if match := PY_LOG.match(line):
        return {"time": match[1].replace(",", "."), "level": match[2].lower(), "msg": match[3]}
    if line.startswith(START_MARKER):
        return {"time": "", "level": "", "msg": "▶ (re)started: " + line[len(START_MARKER):].split(":", 1)[0]}
    return {"time": "", "level": "", "msg": line}


def log_excerpt(path: str | Path, patterns: Sequence[str], *, title: str = "", max_lines: int = 20,
                starts: bool = True, after: str | None = None) -> Table:
    """Lines of ``path`` matching any regex in ``patterns`` (case-insensitive), in order; with
    ``starts`` the restart markers are kept too so the reader sees which run said what; with
    ``after`` (a regex) only from the first line matching it (e.g. the start of the second run)."""
    wanted = re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)
    rows = []
    lines = strip_ansi(Path(path).read_text(errors="replace")).splitlines()
    if after is not None:
        first = next((i for i, line in enumerate(lines) if re.search(after, line, re.IGNORECASE)), len(lines))
        lines = lines[first:]
    for raw in lines:
        if (starts and raw.startswith(START_MARKER)) or (not raw.startswith(START_MARKER) and wanted.search(raw)):
            rows.append(parse_line(raw))
    if len(rows) > max_lines:
        rows = rows[:max_lines - 1] + [{"time": "", "level": "", "msg": f"… {len(rows) - max_lines + 1} more matching lines in {Path(path).name}"}]
    return Table(rows, ["time", "level", "msg"], title=title or f"{Path(path).name}: lines matching {', '.join(patterns)}", max_cell=220)
