"""``make cookbook``: run every notebook with papermill, then a summary table and ``build/index.html``.

Each notebook gets its own output folder under ``build/notebooks/<name>/`` (the executed
notebook, its HTML rendering, ``results.json``, charts and the run's logs), passed as the
papermill parameter ``output_dir``. A line is printed as each notebook starts and ends, so a
40-second notebook is not 40 seconds of silence. The kernels' own warnings go to
``build/notebooks/kernels.log`` instead of the terminal.
"""

from __future__ import annotations

import argparse
import contextlib
import html
import os
import sys
import time
from pathlib import Path
from typing import Iterator

import papermill

from cookbook.paths import BUILD, NOTEBOOKS, ROOT
from cookbook.results import read_results


@contextlib.contextmanager
def stderr_to(path: Path) -> Iterator[None]:
    """Send this process's file descriptor 2 (inherited by the kernels papermill starts) to a file.

    Why the descriptor and not ``sys.stderr``: the noise ("Kernel is running over TCP without
    encryption", debugger warnings) is written by the kernel *process*, which inherits fd 2.
    """
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def render_html(executed: Path) -> Path | None:
    """The executed notebook as a standalone HTML page beside it (nbconvert's lab template)."""
    import nbconvert  # noqa: PLC0415 - only for the report
    import nbformat  # noqa: PLC0415

    try:
        body, _ = nbconvert.HTMLExporter(template_name="lab").from_notebook_node(nbformat.read(executed, as_version=4))
    except Exception as exc:  # noqa: BLE001 - a report problem must not hide the run's result
        print(f"    (no HTML for {executed.name}: {exc})", flush=True)
        return None
    target = executed.with_suffix(".html")
    target.write_text(body)
    return target


def run(notebooks: list[Path], build: Path, parameters: dict[str, str]) -> list[dict]:
    rows = []
    for number, nb in enumerate(notebooks, 1):
        out_dir = build / nb.stem
        out_dir.mkdir(parents=True, exist_ok=True)
        (out_dir / "results.json").unlink(missing_ok=True)
        executed = out_dir / nb.name
        print(f"[{number}/{len(notebooks)}] {nb.stem} ...", flush=True)
        started = time.monotonic()
        error = ""
        try:
            with stderr_to(build / "kernels.log"):
                papermill.execute_notebook(
                    str(nb), str(executed), parameters={"output_dir": str(out_dir), **parameters},
                    kernel_name="python3", cwd=str(nb.parent), progress_bar=False,
                )
        except Exception as exc:  # noqa: BLE001 - one failing notebook must not hide the others
            error = str(exc).strip().splitlines()[-1][:200] if str(exc).strip() else type(exc).__name__
        seconds = time.monotonic() - started
        page = render_html(executed) if executed.exists() else None
        results = read_results(out_dir / "results.json") or {}
        row = {
            "notebook": nb.stem,
            "pattern": results.get("pattern", "?"),
            "runtime": results.get("runtime", "?"),
            "passed": bool(results.get("passed")) and not error,
            "seconds": seconds,
            "timings": results.get("timings", {}),
            "error": error,
            "html": page,
        }
        rows.append(row)
        print(f"    {'PASS' if row['passed'] else 'FAIL'} in {seconds:.1f} s on {row['runtime']}"
              + (f": {error}" if error else "") + (f" -> {page.relative_to(ROOT) if page.is_relative_to(ROOT) else page}" if page else ""),
              flush=True)
    return rows


def format_table(rows: list[dict]) -> str:
    nb_w = max([len("notebook"), *(len(r["notebook"]) for r in rows)])
    pat_w = max([len("pattern"), *(len(r["pattern"]) for r in rows)])
    header = f"{'notebook':<{nb_w}} {'pattern':<{pat_w}} {'runtime':<8} {'result':<6} {'total s':>8}  key timings (s)"
    lines = [header, "-" * len(header)]
    for r in rows:
        timings = ", ".join(f"{k}={v:.2f}" for k, v in r["timings"].items())
        lines.append(
            f"{r['notebook']:<{nb_w}} {r['pattern']:<{pat_w}} {r['runtime']:<8} {'PASS' if r['passed'] else 'FAIL':<6} {r['seconds']:>8.1f}  {timings}"
        )
        if r["error"]:
            lines.append(f"    error: {r['error']}")
    return "\n".join(lines)


def write_index(rows: list[dict], target: Path) -> Path:
    """``build/index.html``: the summary table, each notebook linking to its executed HTML."""
    body = []
    for r in rows:
        link = html.escape(os.path.relpath(r["html"], target.parent)) if r.get("html") else ""
        name = f"<a href='{link}'>{html.escape(r['notebook'])}</a>" if link else html.escape(r["notebook"])
        timings = "<br>".join(f"{html.escape(k)}: {v:.2f} s" for k, v in r["timings"].items())
        result = "PASS" if r["passed"] else f"FAIL<br><small>{html.escape(r['error'])}</small>"
        colour = "#2b8a3e" if r["passed"] else "#c92a2a"
        body.append(f"<tr><td>{name}</td><td>{html.escape(r['pattern'])}</td><td>{html.escape(r['runtime'])}</td>"
                    f"<td style='color:{colour};font-weight:bold'>{result}</td><td>{r['seconds']:.1f}</td><td>{timings}</td></tr>")
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>Dapr Agents state-management cookbook: run report</title>
<style>body{{font-family:sans-serif;margin:2em}} table{{border-collapse:collapse}}
td,th{{border:1px solid #ccc;padding:.4em .7em;text-align:left;vertical-align:top}}</style></head>
<body><h1>Dapr Agents state-management cookbook</h1>
<p>Run at {time.strftime('%Y-%m-%d %H:%M:%S UTC', time.gmtime())}: {sum(r['passed'] for r in rows)} of {len(rows)} notebooks passed.
Each name opens the executed notebook.</p>
<table><thead><tr><th>notebook</th><th>pattern</th><th>sidecar runtime</th><th>result</th><th>total s</th><th>key timings</th></tr></thead>
<tbody>{''.join(body)}</tbody></table></body></html>
"""
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(page)
    return target


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("notebooks", nargs="*", type=Path, help="default: notebooks/*.ipynb")
    parser.add_argument("--build", type=Path, default=BUILD / "notebooks")
    parser.add_argument("-p", "--parameter", action="append", default=[], metavar="NAME=VALUE")
    args = parser.parse_args(argv)
    notebooks = [nb.resolve() for nb in args.notebooks] or sorted(NOTEBOOKS.glob("[0-9]*.ipynb"))
    parameters = dict(p.split("=", 1) for p in args.parameter)
    rows = run(notebooks, args.build.resolve(), parameters)
    print()
    print(format_table(rows))
    index = write_index(rows, args.build.resolve().parent / "index.html")
    print(f"\nreport: {index}  (executed notebooks and logs under {args.build})")
    return 0 if rows and all(r["passed"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
