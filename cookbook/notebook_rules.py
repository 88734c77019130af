"""The rules every cookbook notebook follows, as a checker the tests run over ``notebooks/``.

Why each rule: papermill needs exactly one ``parameters`` cell; papermill fails cells tagged
``raises-exception`` (so expected errors are caught and asserted in code); CI has only the
``python3`` kernel; stored outputs make diffs unreadable; a notebook that starts services must
stop them in a cleanup cell; ``results.json`` feeds the run-all summary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import nbformat

STARTS_SERVICES = ("RedisServer(", "Sidecar(", "start_services(", "app_process(")


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
    return problems


def check_file(path: Path) -> list[str]:
    return check_notebook(nbformat.read(path, as_version=4), path.name)
