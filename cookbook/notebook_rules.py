"""The rules every cookbook notebook follows, as a checker the tests run over ``notebooks/``.

Why each rule: papermill needs exactly one ``parameters`` cell; papermill fails cells tagged
``raises-exception`` (so expected errors are caught and asserted in code); CI has only the
``python3`` kernel; stored outputs make diffs unreadable; a notebook that starts services must
stop them in a cleanup cell; ``results.json`` feeds the run-all summary. The anatomy rules
(../shared/DESIGN.md): "What you'll see" and a Mermaid diagram at the top, parameters validated in
the very next cell before anything starts, a "Copy into your app" section, and no path that
depends on the working directory (notebooks run from Lab, from the repository root, from anywhere).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

STARTS_SERVICES = ("RedisServer(", "Sidecar(", "start_services(", "app_process(", "start_stack(")
# Relative paths resolved from the cwd: they break when papermill runs from the repository root.
CWD_PATHS = ('"../', "'../", 'Path("apps', "Path('apps", 'Path("notebooks', '"./')


def _source(cell: Any) -> str:
    return "".join(cell.get("source", "")) if isinstance(cell.get("source"), list) else cell.get("source", "")


def check_notebook(nb: Any, name: str = "notebook") -> list[str]:
    """Rule violations of one notebook (empty list = compliant)."""
    problems: list[str] = []
    cells = nb.get("cells", [])
    if not cells or cells[0].get("cell_type") != "markdown":
        problems.append(f"{name}: the first cell must be markdown")
    tags = [cell.get("metadata", {}).get("tags", []) for cell in cells]
    if sum("parameters" in t for t in tags) != 1:
        problems.append(f"{name}: needs exactly one cell tagged 'parameters'")
    if any("raises-exception" in t for t in tags):
        problems.append(f"{name}: uses a 'raises-exception' tag (papermill fails it; catch and assert instead)")
    kernel = nb.get("metadata", {}).get("kernelspec", {}).get("name")
    if kernel != "python3":
        problems.append(f"{name}: kernelspec must be 'python3', not {kernel!r}")
    for i, cell in enumerate(cells):
        if cell.get("cell_type") == "code" and (cell.get("outputs") or cell.get("execution_count") is not None):
            problems.append(f"{name}: cell {i} has stored outputs or an execution count (strip them)")
    code = "\n".join(_source(c) for c in cells if c.get("cell_type") == "code")
    if any(marker in code for marker in STARTS_SERVICES) and not any("cleanup" in t for t in tags):
        problems.append(f"{name}: starts services but has no cell tagged 'cleanup'")
    if "write_results(" not in code:
        problems.append(f"{name}: does not write results.json (call cookbook.results.write_results)")
    problems += _anatomy(cells, tags, name)
    for marker in CWD_PATHS:
        if marker in code:
            problems.append(f"{name}: path {marker!r} depends on the working directory (use cookbook.paths)")
    return problems


def _anatomy(cells: list[Any], tags: list[list[str]], name: str) -> list[str]:
    problems = []
    markdown = [_source(c).lower() for c in cells if c.get("cell_type") == "markdown"]
    top = " ".join(markdown[:2])
    if "what you'll see" not in top and "what you will see" not in top:
        problems.append(f"{name}: no 'What you'll see' at the top")
    if "```mermaid" not in top:
        problems.append(f"{name}: no Mermaid diagram at the top")
    if not any("copy into your app" in m for m in markdown):
        problems.append(f"{name}: no 'Copy into your app' section")
    at = next((i for i, t in enumerate(tags) if "parameters" in t), None)
    if at is not None and (at + 1 >= len(cells) or "validate(" not in _source(cells[at + 1])):
        problems.append(f"{name}: the cell after 'parameters' must validate them (cookbook.params.validate)")
    return problems


def check_file(path: Path) -> list[str]:
    return check_notebook(nbformat.read(path, as_version=4), path.name)
