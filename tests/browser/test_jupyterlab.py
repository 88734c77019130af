"""Every notebook, run as a learner would: JupyterLab from `make lab`, Run All in headless Chromium.

What nbmake and papermill cannot see, and this test does: Lab opens on ``notebooks/``, picks the
notebook's kernel from the project's environment by itself (no "Select Kernel" dialog), draws the
Mermaid diagram, resolves the links in the text (Lab serves the repository root), and Run All
through the menu ends with every cell run and no error output. Screenshots of each notebook after
its run go to ``build/browser/``, with the page's console messages.

Why it runs in its own pytest invocation after the main suite (see the Makefile's ``test``): each
notebook uses its fixed port block (01: 20100-20199, ...), so this run must never overlap the
nbmake/papermill runs of the same notebook.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path

import httpx
import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser import notebook_page as nb
from tests.browser.lab import ROOT, Lab

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
# Bounds for a hung step, never speed targets.
KERNEL_TIMEOUT_MS = 120_000
RUN_TIMEOUT_MS = 420_000
MERMAID_TIMEOUT_MS = 60_000


def _mermaid_blocks(notebook: dict) -> int:
    return sum("".join(c["source"]).count("```mermaid") for c in notebook["cells"] if c["cell_type"] == "markdown")


def _wait(page: Page, predicate: str, arg: object, timeout_ms: int, what: str) -> None:
    try:
        page.wait_for_function(predicate, arg=arg, polling=500, timeout=timeout_ms)
    except PlaywrightTimeout:
        pytest.fail(f"{what} not reached in {timeout_ms // 1000}s: {nb.state(page)}")


def _check_kernel(page: Page, lab: Lab, path: Path, kernelspec: dict) -> None:
    """The kernel Lab chose on its own is the one the notebook names, from the project's env."""
    dialogs = page.locator(".jp-Dialog").all_inner_texts()
    assert dialogs == [], f"{path.name}: Lab asks instead of starting the notebook's kernel: {dialogs}"
    shown = nb.kernel_shown(page)
    assert shown == kernelspec["display_name"], f"{path.name}: Lab shows kernel {shown!r}, the notebook names {kernelspec['display_name']!r}"
    sessions = [s for s in lab.api("/api/sessions") if s["path"] == f"notebooks/{path.name}"]  # type: ignore[union-attr]
    assert [s["kernel"]["name"] for s in sessions] == [kernelspec["name"]]
    spec = lab.api("/api/kernelspecs")["kernelspecs"][kernelspec["name"]]["spec"]  # type: ignore[index]
    assert spec["display_name"] == kernelspec["display_name"]
    assert Path(spec["argv"][0]).parent == Path(sys.prefix) / "bin", f"kernel {kernelspec['name']} runs {spec['argv'][0]}, not the project's {sys.prefix}"


def _check_outputs(page: Page, path: Path, code_cells: int) -> None:
    """No error output, no traceback on stderr (warnings are fine), every code cell run once, in order."""
    cells = nb.model(page)["cells"]
    outputs = [(i, o) for i, c in enumerate(cells) for o in c.get("outputs", [])]
    errors = [f"cell {i}: {o['ename']}: {o['evalue']}" for i, o in outputs if o["output_type"] == "error"]
    assert errors == [], f"{path.name}: error outputs after Run All:\n" + "\n".join(errors)
    tracebacks = [
        f"cell {i}: {''.join(o['text'])[:400]}"
        for i, o in outputs
        if o["output_type"] == "stream" and o["name"] == "stderr" and "Traceback (most recent call last)" in "".join(o["text"])
    ]
    assert tracebacks == [], f"{path.name}: tracebacks on stderr after Run All:\n" + "\n".join(tracebacks)
    counts = [c["execution_count"] for c in cells if c["cell_type"] == "code"]
    assert counts == list(range(1, code_cells + 1)), f"{path.name}: not every cell ran once: {nb.state(page)}"
    assert nb.prompts(page) == [f"[{n}]:" for n in range(1, code_cells + 1)], nb.state(page)


def _check_diagrams(page: Page, path: Path, diagrams: int) -> None:
    """Lab turned each ```mermaid block into a figure whose picture is a drawn SVG."""
    _wait(page, nb.MERMAID_SETTLED, [nb.PANEL, diagrams], MERMAID_TIMEOUT_MS, f"{path.name}: {diagrams} Mermaid diagram(s) drawn")
    warnings = nb.mermaid_warnings(page)
    assert warnings == [], f"{path.name}: Mermaid could not draw:\n" + "\n".join(warnings)
    figures = nb.mermaid_figures(page)
    assert len(figures) == diagrams
    for figure in figures:
        assert "<svg" in figure["svg"] and figure["width"] > 0, f"{path.name}: a Mermaid figure without a drawn SVG"


def _check_links(page: Page, lab: Lab, path: Path) -> None:
    """Every link in the text to a file of the repository opens in Lab (no 404)."""
    missing = []
    for link in nb.repository_links(page, lab.port):
        try:
            lab.api(f"/api/contents/{link}?content=0")
        except httpx.HTTPError:
            missing.append(link)
    assert missing == [], f"{path.name}: links that are 404 in Lab: {missing}"


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_in_jupyterlab(lab: Lab, browser: Browser, browser_out: Path, path: Path) -> None:
    notebook = json.loads(path.read_text())
    kernelspec = notebook["metadata"]["kernelspec"]
    code_cells = sum(1 for c in notebook["cells"] if c["cell_type"] == "code")
    diagrams = _mermaid_blocks(notebook)
    assert diagrams >= 1, f"{path.name} has no ```mermaid diagram (DESIGN.md, anatomy of a notebook: a diagram at the top)"

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    console: list[str] = []  # the page's own errors and warnings, kept for whoever debugs a failure
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    try:
        # The README's start page: `make lab` serves the repository root and opens notebooks/.
        page.goto(lab.url("/"))
        page.wait_for_url(re.compile(r"/lab/tree/notebooks(\?|$)"))
        nb.open_from_file_browser(page, path.name)
        _wait(page, nb.KERNEL_SETTLED, nb.PANEL, KERNEL_TIMEOUT_MS, f"{path.name}: kernel connected and idle")
        _check_kernel(page, lab, path, kernelspec)
        assert nb.prompts(page) == ["[ ]:"] * code_cells, f"{path.name} opened with outputs already in it"

        nb.run_all_from_menu(page)
        _wait(page, nb.RUN_STOPPED, nb.PANEL, RUN_TIMEOUT_MS, f"{path.name}: Run All finished")
        _check_outputs(page, path, code_cells)
        _check_diagrams(page, path, diagrams)
        _check_links(page, lab, path)
    finally:
        try:
            nb.screenshots(page, browser_out, path.stem)
        except Exception as exc:  # noqa: BLE001 - the test's own failure is the one to report
            console.append(f"screenshots failed: {exc!r}")
        page.close()
        (browser_out / f"{path.stem}-console.log").write_text("".join(f"{line}\n" for line in console))
        # Stop this notebook's kernel now (its cleanup cell stopped Redis and the sidecar; the
        # kernel's exit stops them if it did not run) and forget the layout, so the next notebook
        # starts on a fresh page.
        lab.end_sessions()
