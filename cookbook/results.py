"""``results.json``: what each notebook run measured, read by ``make cookbook``'s summary."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any


def write_results(
    output_dir: str | Path,
    *,
    pattern: str,
    runtime: str,
    passed: bool,
    timings: dict[str, float] | None = None,
    counters: dict[str, Any] | None = None,
    keys: dict[str, Any] | None = None,
) -> Path:
    folder = Path(output_dir)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / "results.json"
    doc = {
        "pattern": pattern,
        "runtime": runtime,
        "passed": passed,
        "timings": {k: round(float(v), 3) for k, v in (timings or {}).items()},
        "counters": counters or {},
        "keys": keys or {},
        "written_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    path.write_text(json.dumps(doc, indent=2, default=str))
    return path


def read_results(path: Path) -> dict[str, Any] | None:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
