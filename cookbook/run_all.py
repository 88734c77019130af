"""``make cookbook``: run every notebook with papermill and print a summary table.

Each notebook gets its own output folder under ``build/notebooks/<name>/`` (the executed
notebook and its ``results.json``), passed as the papermill parameter ``output_dir``.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import papermill

from cookbook.results import read_results

ROOT = Path(__file__).resolve().parents[1]


def run(notebooks: list[Path], build: Path, parameters: dict[str, str]) -> list[dict]:
    rows = []
    for nb in notebooks:
        out_dir = build / nb.stem
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").unlink(missing_ok=True)
        started = time.monotonic()
        error = ""
        try:
            papermill.execute_notebook(
                str(nb), str(out_dir / nb.name), parameters={"output_dir": str(out_dir), **parameters},
                kernel_name="python3", cwd=str(nb.parent), progress_bar=False,
            )
        except Exception as exc:  # noqa: BLE001 - one failing notebook must not hide the others
            error = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        results = read_results(out_dir / "results.json") or {}
        rows.append(
            {
                "notebook": nb.stem,
                "pattern": results.get("pattern", "?"),
                "runtime": results.get("runtime", "?"),
                "passed": bool(results.get("passed")) and not error,
                "seconds": time.monotonic() - started,
                "timings": results.get("timings", {}),
                "error": error,
            }
        )
    return rows


def format_table(rows: list[dict]) -> str:
    nb_w = max([len("notebook"), *(len(r["notebook"]) for r in rows)])
    pat_w = max([len("pattern"), *(len(r["pattern"]) for r in rows)])
    header = f"{'notebook':<{nb_w}} {'pattern':<{pat_w}} {'runtime':<8} {'result':<6} {'total s':>8}  key timings (s)"
    lines = [header, "-" * len(header)]
    for r in rows:
        timings = ", ".join(f"{k}={v}" for k, v in r["timings"].items())
        lines.append(
            f"{r['notebook']:<{nb_w}} {r['pattern']:<{pat_w}} {r['runtime']:<8} {'PASS' if r['passed'] else 'FAIL':<6} {r['seconds']:>8.1f}  {timings}"
        )
        if r["error"]:
            lines.append(f"    error: {r['error']}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--build", type=Path, default=ROOT / "build" / "notebooks")
    parser.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    notebooks = args.notebooks or sorted((ROOT / "notebooks").glob("[0-9]*.ipynb"))
    parameters = dict(p.split("=", 1) for p in args.parameter)
    rows = run(notebooks, args.build, parameters)
    print(format_table(rows))
    return 0 if rows and all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
