"""Repository-wide pytest hooks: they apply to ``pytest notebooks/...`` (nbmake) as much as to
``pytest tests``, so a notebook run on its own is guarded too.

* Kernels started by nbmake/papermill record the processes they start in a pid-file folder; the
  session finalizer stops whatever is left (by those pids), e.g. when a failing notebook never
  reached its cleanup cell.
* Under pytest-xdist, every test gets a group (see :func:`xdist_group_of`).
"""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from pathlib import Path

import pytest

from cookbook import processes

# Kernels started by nbmake/papermill inherit this and record their processes here. Each xdist
# worker keeps its own folder: workers inherit the controller's environment, and a worker that
# finishes sweeps its folder, which must not hold the kernels of a worker still running.
_PIDFILES = Path(tempfile.mkdtemp(prefix="cookbook-pids-"))
if os.environ.get("PYTEST_XDIST_WORKER"):
    os.environ[processes.PIDFILE_DIR_ENV] = str(_PIDFILES)
else:
    os.environ.setdefault(processes.PIDFILE_DIR_ENV, str(_PIDFILES))

_NOTEBOOK_NUMBER = re.compile(r"(?<![0-9])(\d\d)_[a-z]")


def xdist_group_of(item: pytest.Item) -> str:
    """The worker group of a test under ``pytest -n N --dist loadgroup``.

    Everything about notebook NN (its nbmake run, its papermill cases) shares one group, because
    notebook NN always binds the same port block (20000 + 100*NN) and two of its runs at once
    would collide. Any other test goes with its module and runtime, so a module's shared stack
    (fixtures of module scope) starts once per runtime, as without xdist, while a module's daprd
    and local halves may run side by side.
    """
    path = item.path
    if path.suffix == ".ipynb":
        return f"notebook-{path.name[:2]}"
    if path.parent.name in ("notebooks", "browser") and path.parent.parent.name == "tests":
        # papermill cases and the browser test: parametrized by a notebook's name or path
        callspec = getattr(item, "callspec", None)
        names = [Path(v).name for v in (callspec.params.values() if callspec else ()) if isinstance(v, (str, Path))]
        numbers = {m.group(1) for v in names if (m := _NOTEBOOK_NUMBER.match(v))}
        if len(numbers) == 1:
            return f"notebook-{numbers.pop()}"
    callspec = getattr(item, "callspec", None)
    runtime = callspec.params.get("dapr_runtime") if callspec else None
    module = item.nodeid.split("::", 1)[0]
    return f"{module}[{runtime}]" if runtime else module


# A whole notebook run (nbmake, papermill, Run All in the browser) starts several processes and
# an agent that imports dapr-agents; on a busy 2-core machine that takes minutes. The ini's 300 s
# stays for everything else; this is a bound against a hang, never a speed target.
NOTEBOOK_RUN_TIMEOUT = 900


def _runs_a_notebook(item: pytest.Item) -> bool:
    return item.path.suffix == ".ipynb" or item.name.startswith(("test_readme_one_liner", "test_run_all_in_jupyterlab"))


def _add_groups_and_timeouts(items: list[pytest.Item]) -> None:
    for item in items:
        if item.get_closest_marker("xdist_group") is None:  # a module may ask for one group (fuzz tests)
            item.add_marker(pytest.mark.xdist_group(xdist_group_of(item)))
        if _runs_a_notebook(item) and item.get_closest_marker("timeout") is None:
            item.add_marker(pytest.mark.timeout(NOTEBOOK_RUN_TIMEOUT))


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    processes.stop_all()
    killed = processes.sweep_pidfiles(_PIDFILES)
    shutil.rmtree(_PIDFILES, ignore_errors=True)
    if killed:
        print(f"\ncookbook guard: killed leftover processes from notebooks: {', '.join(killed)}")


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Make ``--dist loadgroup`` group again under pytest 9.2.

    pytest-xdist 3.8.0 (the newest) marks an item's group by appending ``@<group>`` to
    ``item._nodeid``; pytest 9.2 computes ``nodeid`` from the structured ``item._id`` instead, so
    that suffix is lost and every test is scheduled on its own, which put two runs of one
    notebook on one port block at once. In a loadgroup worker, the suffix goes into ``_id``.
    """
    _add_groups_and_timeouts(items)
    if not getattr(config, "workerinput", None) or not getattr(config.option, "loadgroup", False):
        return
    from _pytest.nodeid import NodeId  # noqa: PLC0415 - pytest >= 9.2 only, as the problem

    for item in items:
        names = sorted({str(m.args[0] if m.args else m.kwargs.get("name", "default")) for m in item.iter_markers("xdist_group")})
        if names and "@" not in item.nodeid.rpartition("]")[2]:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(names)}")
