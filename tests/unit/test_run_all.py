"""``make cookbook``'s runner: each notebook's results.json becomes a row; failures are shown."""

from __future__ import annotations

from pathlib import Path

import nbformat

from cookbook.run_all import format_table, main, run, write_index

ROOT = Path(__file__).resolve().parents[2]


def _notebook(path: Path, body: str) -> Path:
    nb = nbformat.v4.new_notebook()
    params = nbformat.v4.new_code_cell('output_dir = "out"\nsteps = 1')
    params.metadata["tags"] = ["parameters"]
    nb.cells = [nbformat.v4.new_markdown_cell("# test"), params, nbformat.v4.new_code_cell(body)]
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, path)
    return path


def test_rows_come_from_results_json_and_a_failing_notebook_is_reported(tmp_path: Path) -> None:
    good = _notebook(tmp_path / "01_good.ipynb", (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from cookbook.results import write_results\n"
        "write_results(output_dir, pattern='01 A pattern with a rather long name', runtime='local', passed=True,\n"
        "              timings={'restart_to_completed': 0.25 * int(steps)})\n"
    ))
    bad = _notebook(tmp_path / "02_bad.ipynb", "assert int(steps) == 1, 'the outcome was not what the pattern promises'\n")
    rows = run([good, bad], tmp_path / "build", {"steps": "2"})

    assert [(r["notebook"], r["passed"], r["runtime"]) for r in rows] == [("01_good", True, "local"), ("02_bad", False, "?")]
    assert rows[0]["timings"] == {"restart_to_completed": 0.5}  # the parameter reached the notebook
    assert "the outcome was not what the pattern promises" in rows[1]["error"]
    table = format_table(rows)
    assert "01 A pattern with a rather long name" in table  # not truncated
    assert "restart_to_completed=0.50" in table and "FAIL" in table
    assert (tmp_path / "build" / "01_good" / "01_good.ipynb").exists()
    # each executed notebook is rendered to HTML, and the index links it with its result
    assert rows[0]["html"] == tmp_path / "build" / "01_good" / "01_good.html" and rows[0]["html"].exists()
    index = write_index(rows, tmp_path / "index.html").read_text()
    assert "href='build/01_good/01_good.html'" in index and "1 of 2 notebooks passed" in index
    assert "the outcome was not what the pattern promises" in index


def test_main_prints_progress_per_notebook_and_writes_the_report(tmp_path: Path, capsys) -> None:  # type: ignore[no-untyped-def]
    nb = _notebook(tmp_path / "01_one.ipynb", (
        f"import sys; sys.path.insert(0, {str(ROOT)!r})\n"
        "from cookbook.results import write_results\n"
        "write_results(output_dir, pattern='01 one', runtime='local', passed=True)\n"
    ))
    assert main([str(nb), "--build", str(tmp_path / "build" / "notebooks")]) == 0
    out = capsys.readouterr().out
    assert "[1/1] 01_one ..." in out and "PASS in" in out
    assert (tmp_path / "build" / "index.html").exists() and str(tmp_path / "build" / "index.html") in out
    assert "WARNING" not in out  # the kernel's warnings went to kernels.log
    assert (tmp_path / "build" / "notebooks" / "kernels.log").exists()
