"""What bench_state.py and bench_workflow.py share: the --runtime choice, timing, the table.

Why a module of its own: both scripts compare the same runtimes side by side in one run and
print the same kind of table, and a copy in each would drift.
"""

from __future__ import annotations

import argparse
import signal
import sys
import time
from pathlib import Path
from typing import Callable, Mapping, Sequence

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # the scripts run as ``python bench/x.py``; tests/ is not installed
    sys.path.insert(0, str(ROOT))

from cookbook.sidecar import find_daprd  # noqa: E402
from tests.runtimes import HOW_TO_GET_DAPRD, RUNTIMES  # noqa: E402

DASH = "—"


def add_runtime_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--runtime", choices=("daprd", "local", "both"), default="both",
                        help="which sidecar(s) to measure; 'both' runs daprd then localdapr in the same run")


def runtimes_to_run(choice: str) -> list[str]:
    """The runtimes to measure, daprd first. A missing daprd is skipped with how to get it, not
    an error: the local half still says something on a machine without Go."""
    wanted = list(RUNTIMES) if choice == "both" else [choice]
    if "daprd" in wanted and find_daprd() is None:
        print(f"daprd skipped: {HOW_TO_GET_DAPRD}", flush=True)
        wanted = ["local"]
    return wanted


def stop_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit so the scripts' ``finally`` blocks stop every process they
    started (the children run in their own sessions, so nothing else would reach them)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(128 + signal.SIGTERM))


def measure(op: Callable[[int], object], n: int, warmup: int = 200) -> dict[str, float]:
    """p50/p99 in µs and ops/s of ``op(i)`` called ``n`` times in a row, after a warm-up (the
    first calls pay for connection set-up and lazy imports, which is not what we measure)."""
    for i in range(min(warmup, n)):
        op(i)
    samples: list[float] = []
    started = time.perf_counter()
    for i in range(n):
        t0 = time.perf_counter()
        op(i)
        samples.append(time.perf_counter() - t0)
    total = time.perf_counter() - started
    samples.sort()
    return {"p50": percentile(samples, 0.50) * 1e6, "p99": percentile(samples, 0.99) * 1e6, "ops": n / total}


def percentile(sorted_samples: Sequence[float], q: float) -> float:
    """Nearest-rank percentile of already sorted samples (no interpolation: n is in thousands)."""
    return sorted_samples[min(len(sorted_samples) - 1, int(len(sorted_samples) * q))]


def print_table(title: str, columns: Sequence[str], rows: Sequence[tuple[str, Mapping[str, str]]]) -> None:
    """One row per figure, one column per runtime (and direct Redis); a missing cell is a dash,
    e.g. a runtime that was skipped or a figure that has no direct-Redis counterpart."""
    width = max(len(label) for label, _ in rows)
    widths = [max(len(c), *(len(cells.get(c, DASH)) for _, cells in rows)) for c in columns]
    print(f"\n{title}")
    print(f"{'figure':<{width}}  " + "  ".join(f"{c:>{w}}" for c, w in zip(columns, widths)))
    print("-" * width + "  " + "  ".join("-" * w for w in widths))
    for label, cells in rows:
        print(f"{label:<{width}}  " + "  ".join(f"{cells.get(c, DASH):>{w}}" for c, w in zip(columns, widths)))
