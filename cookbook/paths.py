"""Where a notebook's files are, whatever the working directory it was started from.

Why: users run notebooks from JupyterLab (cwd = the notebook's folder), from papermill at the
repository root, from ``notebooks/`` or from anywhere else. Paths written relative to the cwd
break in all but one of those. Everything here resolves from the repository (this file's
location), and a notebook's outputs land under the repository's ``build/`` unless its
``output_dir`` parameter says otherwise.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = ROOT / "notebooks"
APPS = NOTEBOOKS / "apps"
COMPONENTS = ROOT / "components"
BUILD = ROOT / "build"


def notebook_output_dir(notebook: str, output_dir: str | Path = "") -> Path:
    """``output_dir`` when given (relative to the cwd, as a user typing it expects), else
    ``build/notebooks/<notebook>/`` in the repository."""
    folder = Path(output_dir).expanduser() if str(output_dir) else BUILD / "notebooks" / notebook
    return folder.resolve()
