"""Notebooks run with users' own parameters, from any working directory, and reject bad ones early.

* The README's papermill one-liner runs every notebook from the repository root (outputs land in
  the repository's ``build/``) and from ``notebooks/`` (with ``output_dir`` given): on the local
  sidecar with the defaults and on daprd with other parameters. ``nbmake`` runs the defaults on
  daprd besides.
* Every parameter of every notebook has a bad value here, and the cell right after
  ``parameters`` rejects it, naming the parameter, before anything starts.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import nbformat
import papermill
import pytest

from cookbook.params import ParameterError
from cookbook.paths import BUILD, NOTEBOOKS, ROOT
from tests.notebooks import cases
from tests.runtimes import require_runtime

PAPERMILL = str(Path(sys.executable).parent / "papermill")  # the README's `.venv/bin/papermill`
NOTEBOOK_NAMES = sorted(p.stem for p in NOTEBOOKS.glob("[0-9]*.ipynb"))

# (notebook, cwd, parameters, counters expected in results.json): one module per notebook
CASES = cases.CASES
BAD_VALUES = cases.BAD_VALUES


def _one_liner(notebook: str, cwd: Path, params: dict[str, Any], out: Path) -> subprocess.CompletedProcess[str]:
    source = f"notebooks/{notebook}.ipynb" if cwd == ROOT else f"{notebook}.ipynb"
    argv = [PAPERMILL, source, str(out / f"{notebook}.ipynb"), "--log-level", "WARNING"]
    for name, value in params.items():
        argv += ["-p", name, str(value)]
    return subprocess.run(argv, cwd=cwd, capture_output=True, text=True, timeout=850,
                          env={**os.environ, "COOKBOOK_OUTPUT_DIR": ""})


@pytest.mark.parametrize("name,cwd,params,expected", CASES,
                         ids=[f"{c[0]}-{c[2]['dapr_runtime']}-from-{c[1].name}" for c in CASES])
def test_readme_one_liner_runs_from_any_cwd(tmp_path: Path, name: str, cwd: Path, params: dict, expected: dict) -> None:
    require_runtime(params["dapr_runtime"])
    if cwd == ROOT:  # no output_dir: the outputs belong in the repository's build/ folder
        results_file = BUILD / "notebooks" / name / "results.json"
    else:
        params = {**params, "output_dir": str(tmp_path / "out")}
        results_file = tmp_path / "out" / "results.json"
    results_file.unlink(missing_ok=True)
    done = _one_liner(name, cwd, params, tmp_path)
    assert done.returncode == 0, done.stderr[-3000:]
    results = json.loads(results_file.read_text())
    assert results["passed"] is True and results["runtime"] == params["dapr_runtime"]
    assert {k: results["counters"][k] for k in expected} == expected
    assert results["timings"]["sidecar_restart"] > 0
    if name in cases.CHECKS:
        cases.CHECKS[name](results, params)


def _cells(notebook: str) -> tuple[str, str]:
    """The source of the parameters cell and of the validation cell right after it."""
    nb = nbformat.read(NOTEBOOKS / f"{notebook}.ipynb", as_version=4)
    at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
    return nb.cells[at].source, nb.cells[at + 1].source


def _parameters(notebook: str) -> list[str]:
    return list(papermill.inspect_notebook(str(NOTEBOOKS / f"{notebook}.ipynb")))


@pytest.mark.parametrize("notebook", NOTEBOOK_NAMES)
def test_every_parameter_has_a_bad_value_here(notebook: str) -> None:
    module = next((m for m in cases.MODULES if m.NOTEBOOK == notebook), None)
    assert module is not None, f"add tests/notebooks/cases/nb{notebook[:2]}.py for {notebook}"
    assert set(_parameters(notebook)) <= set(module.BAD_VALUES), "add a bad value for each new parameter"
    assert {params["dapr_runtime"] for _, params, _ in module.CASES} >= {"local", "daprd"}, "one papermill case per runtime at least"


CASES_BAD = [(nb, p) for nb in NOTEBOOK_NAMES for p in _parameters(nb)]


@pytest.mark.parametrize("notebook,parameter", CASES_BAD, ids=[f"{n}-{p}" for n, p in CASES_BAD])
def test_validation_cell_names_the_bad_parameter(notebook: str, parameter: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The validation cell, run as the kernel would after papermill injected one bad value."""
    monkeypatch.delenv("COOKBOOK_OUTPUT_DIR", raising=False)
    params_src, validate_src = _cells(notebook)
    namespace: dict[str, Any] = {}
    exec(params_src, namespace)  # noqa: S102 - the notebook's own cells
    exec(validate_src, dict(namespace))  # the defaults pass
    namespace[parameter] = BAD_VALUES[parameter]
    with pytest.raises(ParameterError) as err:
        exec(validate_src, namespace)  # noqa: S102
    message = str(err.value)
    assert f"parameter {parameter}={BAD_VALUES[parameter]!r}:" in message
    assert message.count("parameter ") == 1, message  # only the bad one is reported


def test_a_real_llm_without_credentials_is_rejected_before_anything_starts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    params_src, validate_src = _cells("02_durable_agent_state")
    namespace: dict[str, Any] = {}
    exec(params_src, namespace)  # noqa: S102
    namespace["llm"] = "openai"
    with pytest.raises(ParameterError, match=r"parameter llm='openai': needs OPENAI_API_KEY"):
        exec(validate_src, namespace)  # noqa: S102


@pytest.mark.parametrize("notebook", NOTEBOOK_NAMES)
def test_papermill_stops_at_the_validation_cell(tmp_path: Path, notebook: str) -> None:
    """Through papermill from the repository root: the run fails in the validation cell, and
    nothing was started (no run folder was created)."""
    out = tmp_path / "out"
    done = _one_liner(notebook, ROOT, {"dapr_runtime": "bogus", "output_dir": str(out)}, tmp_path)
    assert done.returncode != 0
    assert "ParameterError" in done.stderr and "parameter dapr_runtime='bogus': must be one of 'auto', 'daprd', 'local'" in done.stderr
    executed = nbformat.read(tmp_path / f"{notebook}.ipynb", as_version=4)
    failed = [c for c in executed.cells if c.cell_type == "code" and any(o.get("output_type") == "error" for o in c.outputs)]
    assert len(failed) == 1 and "validate(" in failed[0].source
    assert not (out / "run").exists()
