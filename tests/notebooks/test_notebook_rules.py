"""Every committed notebook follows the cookbook's rules; the checker itself catches bad ones."""

from __future__ import annotations

from pathlib import Path

import nbformat
import pytest

from cookbook.notebook_rules import check_file, check_notebook

ROOT = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_follows_the_rules(path: Path) -> None:
    assert check_file(path) == []


def _good() -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3 (Dapr Agents cookbook)", "language": "python"}
    params = nbformat.v4.new_code_cell("output_dir = '.'")
    params.metadata["tags"] = ["parameters"]
    cleanup = nbformat.v4.new_code_cell("stop_all()")
    cleanup.metadata["tags"] = ["cleanup"]
    nb.cells = [
        nbformat.v4.new_markdown_cell("# Title\n```mermaid\nflowchart LR\n A --> B\n```\n## What you'll see\nA table."),
        params,
        nbformat.v4.new_code_cell("params.validate(output_dir=(output_dir, params.path_like()))"),
        nbformat.v4.new_code_cell("redis = RedisServer(port=1)\nwrite_results(output_dir, pattern='p', runtime='local', passed=True)"),
        nbformat.v4.new_markdown_cell("## Copy into your app\n```yaml\n```"),
        cleanup,
    ]
    return nb


def test_checker_accepts_a_compliant_notebook() -> None:
    assert check_notebook(_good()) == []


@pytest.mark.parametrize(
    "break_it,expected",
    [
        (lambda nb: nb.cells.insert(0, nbformat.v4.new_code_cell("x = 1")), "first cell must be markdown"),
        (lambda nb: nb.cells[1].metadata.update(tags=[]), "exactly one cell tagged 'parameters'"),
        (lambda nb: nb.cells[2].metadata.update(tags=["parameters"]), "exactly one cell tagged 'parameters'"),
        (lambda nb: nb.cells[3].metadata.update(tags=["raises-exception"]), "raises-exception"),
        (lambda nb: nb.metadata["kernelspec"].update(name=".venv"), "kernelspec must be 'python3'"),
        (lambda nb: nb.cells[3].update(execution_count=3), "stored outputs"),
        (lambda nb: nb.cells.pop(5), "no cell tagged 'cleanup'"),
        (lambda nb: nb.cells[3].update(source="redis = RedisServer(port=1)"), "does not write results.json"),
        (lambda nb: nb.cells[0].update(source="# Title\n```mermaid\nflowchart LR\n```"), "no 'What you'll see' at the top"),
        (lambda nb: nb.cells[0].update(source="# Title\n## What you'll see\nA table."), "no Mermaid diagram at the top"),
        (lambda nb: nb.cells.pop(4), "no 'Copy into your app' section"),
        (lambda nb: nb.cells.pop(2), "the cell after 'parameters' must validate them"),
        (lambda nb: nb.cells[3].update(source=nb.cells[3].source + "\nopen('../build/x')"), "depends on the working directory"),
        (lambda nb: nb.cells[3].update(source=nb.cells[3].source + "\nPath(\"apps/agent.py\")"), "depends on the working directory"),
    ],
)
def test_checker_rejects_each_broken_rule(break_it, expected: str) -> None:  # type: ignore[no-untyped-def]
    nb = _good()
    break_it(nb)
    problems = check_notebook(nb)
    assert any(expected in p for p in problems), problems
