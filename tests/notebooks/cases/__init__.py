"""Each notebook's papermill cases, one module per notebook (``nbNN.py``), so notebooks added in
parallel never edit the same list.

A module defines:

* ``NOTEBOOK``: the notebook's stem, e.g. ``"01_redis_state_store"``;
* ``CASES``: ``[(cwd, parameters, counters)]``: the README one-liner is run from ``cwd``
  (``ROOT`` or ``NOTEBOOKS``) with ``parameters`` (which must name ``dapr_runtime``), and
  ``results.json`` must hold exactly these ``counters``; give at least one case per runtime;
* ``BAD_VALUES``: one value per parameter of the notebook that its validation cell must refuse
  (a parameter several notebooks share must be refused by each with the same bad value);
* optionally ``check(results: dict, parameters: dict) -> None``: further assertions on
  ``results.json``.
"""

from __future__ import annotations

import importlib
import pkgutil
from pathlib import Path
from types import ModuleType
from typing import Any

MODULES: list[ModuleType] = [
    importlib.import_module(f"{__name__}.{info.name}")
    for info in sorted(pkgutil.iter_modules([str(Path(__file__).parent)]), key=lambda i: i.name)
    if info.name.startswith("nb")
]

CASES: list[tuple[str, Path, dict[str, Any], dict[str, Any]]] = [
    (m.NOTEBOOK, cwd, params, counters) for m in MODULES for cwd, params, counters in m.CASES
]
CHECKS = {m.NOTEBOOK: m.check for m in MODULES if hasattr(m, "check")}


def _bad_values() -> dict[str, Any]:
    merged: dict[str, Any] = {}
    for module in MODULES:
        for name, value in module.BAD_VALUES.items():
            if name in merged and merged[name] != value:
                raise ValueError(f"{module.__name__}: bad value for {name!r} differs from another notebook's")
            merged[name] = value
    return merged


BAD_VALUES = _bad_values()
