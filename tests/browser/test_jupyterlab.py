"""Every notebook, run as a learner would: JupyterLab from `make lab`, Run All in headless Chromium.

What nbmake and papermill cannot see, and this test does: the Lab start page is ``notebooks/``,
Lab picks the project's kernel for the notebook by itself (no "Select Kernel" dialog), the Mermaid
diagram renders to a picture, and the run ends with every cell executed and no error output on
the page. Screenshots of each notebook after its run go to ``build/browser/``.

Why it runs in its own pytest invocation after the main suite (see the Makefile's ``test``): each
notebook uses its fixed port block (01: 20100-20199, ...), so this run must never overlap the
nbmake/papermill runs of the same notebook.
"""

from __future__ import annotations

import json
import re
import sys
from pathlib import Path
from urllib.parse import unquote, urlparse

import pytest
from playwright.sync_api import Browser, Page
from playwright.sync_api import TimeoutError as PlaywrightTimeout

from tests.browser.lab import ROOT, Lab

NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))
RUN_TIMEOUT_MS = 420_000  # a bound for a hung run, never a speed target
PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# True once the notebook's kernel is connected and idle, or Lab opened a dialog (e.g. "Select Kernel").
_KERNEL_SETTLED = """(panel) => {
  if (document.querySelector('.jp-Dialog')) return true;
  const node = document.querySelector(panel);
  const name = node?.querySelector('.jp-Toolbar-kernelName')?.textContent.trim();
  const status = node?.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
  return !!name && name !== 'No Kernel' && status === 'idle';
}"""

# True once Run All has stopped: the kernel is idle, no cell waits ("[*]") and at least one ran.
# After an error Lab stops the run and the cells below it keep an empty prompt: the test then
# reports the error at once instead of waiting for counts that will never come.
_RUN_STOPPED = """(panel) => {
  const node = document.querySelector(panel);
  if (!node) return false;
  const status = node.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
  const prompts = [...node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
  return status === 'idle' && !prompts.includes('[*]:') && prompts.some(t => /^\\[\\d+\\]:$/.test(t));
}"""

# True once every Mermaid block has become a figure (or a warning, which the test then reports).
_MERMAID_SETTLED = """([panel, expected]) => {
  const node = document.querySelector(panel);
  const done = [...node.querySelectorAll('.jp-RenderedMermaid')].filter(
    m => m.classList.contains('jp-mod-warning') || [...m.querySelectorAll('figure img')].some(i => i.complete));
  return done.length >= expected;
}"""

# The notebook as Lab holds it (window.jupyterapp, from --LabApp.expose_app_in_browser): on the
# page an error output and a stderr stream are both drawn as "application/vnd.jupyter.stderr".
_NOTEBOOK_MODEL = "() => window.jupyterapp.shell.currentWidget.content.model.toJSON()"


def _mermaid_blocks(notebook: dict) -> int:
    return sum("".join(c["source"]).count("```mermaid") for c in notebook["cells"] if c["cell_type"] == "markdown")


def _code_cells(notebook: dict) -> int:
    return sum(1 for c in notebook["cells"] if c["cell_type"] == "code")


def _state(page: Page) -> str:
    """What the page shows now: kernel status and each code cell's prompt, for failure messages."""
    return page.evaluate(
        """(panel) => {
          const node = document.querySelector(panel);
          if (!node) return 'no notebook panel open';
          const status = node.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
          const prompts = [...node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
          const name = node.querySelector('.jp-Toolbar-kernelName')?.textContent.trim();
          return `kernel ${name} ${status}; prompts ${prompts.join(' ')}`;
        }""",
        PANEL,
    )


def _screenshots(page: Page, out: Path, stem: str) -> list[Path]:
    """The whole notebook, one screenshot per screenful, top to bottom."""
    for old in out.glob(f"{stem}-*.png"):
        old.unlink()
    scroller = page.locator(f"{PANEL} .jp-WindowedPanel-outer")
    # Down to the last cell's bottom: Lab's "scroll past end" space below it is left out.
    bottom, step = scroller.evaluate(
        """e => {
          const cells = e.querySelectorAll('.jp-Cell');
          const last = cells[cells.length - 1].getBoundingClientRect().bottom;
          return [last - e.getBoundingClientRect().top + e.scrollTop, e.clientHeight];
        }"""
    )
    shots = []
    for i, top in enumerate(range(0, max(int(bottom), 1), max(int(step) - 40, 1))):
        scroller.evaluate("(e, y) => e.scrollTo(0, y)", top)
        path = out / f"{stem}-{i + 1:02d}.png"
        page.screenshot(path=path)
        shots.append(path)
    return shots


def _relative_links(page: Page, lab: Lab) -> list[str]:
    """Paths (from the repository root) of the links in the notebook's rendered Markdown that point
    into the repository; Lab rewrites a relative link to ``/files/<path>`` of its root."""
    hrefs = page.eval_on_selector_all(f"{PANEL} .jp-RenderedMarkdown a[href]", "as => as.map(a => a.href)")
    paths = []
    for href in hrefs:
        url = urlparse(href)
        if url.netloc == f"127.0.0.1:{lab.port}" and url.path.startswith("/files/"):
            paths.append(unquote(url.path[len("/files/"):]))
    return paths


@pytest.mark.timeout(600)
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_run_all_in_jupyterlab(lab: Lab, browser: Browser, browser_out: Path, path: Path) -> None:
    notebook = json.loads(path.read_text())
    kernelspec = notebook["metadata"]["kernelspec"]
    code_cells = _code_cells(notebook)
    diagrams = _mermaid_blocks(notebook)
    assert diagrams >= 1, f"{path.name} has no ```mermaid diagram (DESIGN.md, anatomy of a notebook: a diagram at the top)"

    page = browser.new_page(viewport={"width": 1400, "height": 1600})
    console: list[str] = []  # the page's own errors and warnings, kept for whoever debugs a failure
    page.on("console", lambda m: console.append(f"{m.type}: {m.text}") if m.type in ("error", "warning") else None)
    page.on("pageerror", lambda e: console.append(f"pageerror: {e}"))
    try:
        # The README's start page: `make lab` opens the repository root with notebooks/ in view.
        page.goto(lab.url("/"))
        page.wait_for_url(re.compile(r"/lab/tree/notebooks(\?|$)"))
        listing = page.locator(".jp-DirListing-content")
        listing.get_by_text(path.name, exact=True).dblclick()

        panel = page.locator(PANEL)
        try:
            page.wait_for_function(_KERNEL_SETTLED, arg=PANEL, polling=250, timeout=120_000)
        except PlaywrightTimeout:
            pytest.fail(f"{path.name}: no kernel connected in 120s: {_state(page)}")
        dialogs = page.locator(".jp-Dialog").all_inner_texts()
        assert dialogs == [], f"{path.name}: Lab asks instead of starting the notebook's kernel: {dialogs}"

        # The kernel Lab chose on its own is the one the notebook names, from the project's env.
        shown = panel.locator(".jp-Toolbar-kernelName").inner_text().strip()
        assert shown == kernelspec["display_name"], f"Lab shows kernel {shown!r}, the notebook asks for {kernelspec['display_name']!r}"
        sessions = [s for s in lab.api("/api/sessions") if s["path"] == f"notebooks/{path.name}"]  # type: ignore[union-attr]
        assert [s["kernel"]["name"] for s in sessions] == [kernelspec["name"]]
        spec = lab.api("/api/kernelspecs")["kernelspecs"][kernelspec["name"]]["spec"]  # type: ignore[index]
        assert spec["display_name"] == kernelspec["display_name"]
        assert Path(spec["argv"][0]).parent == Path(sys.prefix) / "bin", f"kernel {kernelspec['name']} runs {spec['argv'][0]}, not the project's env {sys.prefix}"

        prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        assert [p.strip() for p in prompts] == ["[ ]:"] * code_cells, "the notebook opened with outputs already in it"

        # Run > Run All Cells, as in the menu bar.
        page.get_by_role("menuitem", name="Run", exact=True).click()
        page.locator(".lm-Menu-item", has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))).click()
        try:
            page.wait_for_function(_RUN_STOPPED, arg=PANEL, polling=500, timeout=RUN_TIMEOUT_MS)
        except PlaywrightTimeout:
            pytest.fail(f"{path.name}: Run All did not finish in {RUN_TIMEOUT_MS // 1000}s: {_state(page)}")

        model = page.evaluate(_NOTEBOOK_MODEL)
        code = [c for c in model["cells"] if c["cell_type"] == "code"]
        errors = [
            f"cell {i}: {o['ename']}: {o['evalue']}"
            for i, c in enumerate(model["cells"])
            for o in c.get("outputs", [])
            if o["output_type"] == "error"
        ]
        tracebacks = [
            f"cell {i}: {''.join(o['text'])[:300]}"
            for i, c in enumerate(model["cells"])
            for o in c.get("outputs", [])
            if o["output_type"] == "stream" and o["name"] == "stderr" and "Traceback (most recent call last)" in "".join(o["text"])
        ]
        assert errors == [], f"{path.name}: error outputs after Run All:\n" + "\n".join(errors)
        assert tracebacks == [], f"{path.name}: tracebacks on stderr after Run All:\n" + "\n".join(tracebacks)
        # A fresh kernel ran each code cell once, top to bottom, and the page shows it.
        assert [c["execution_count"] for c in code] == list(range(1, code_cells + 1)), f"{path.name}: not every cell ran: {_state(page)}"
        prompts = panel.locator(".jp-CodeCell .jp-InputPrompt").all_inner_texts()
        assert [p.strip() for p in prompts] == [f"[{n}]:" for n in range(1, code_cells + 1)], _state(page)

        # The diagram: Lab turns each ```mermaid block into a figure with an SVG picture.
        try:
            page.wait_for_function(_MERMAID_SETTLED, arg=[PANEL, diagrams], polling=250, timeout=60_000)
        except PlaywrightTimeout:
            pytest.fail(f"{path.name}: the Mermaid diagram was not rendered in 60s")
        warnings = panel.locator(".jp-RenderedMermaid.jp-mod-warning").all_inner_texts()
        assert warnings == [], f"{path.name}: Mermaid could not draw:\n" + "\n".join(warnings)
        figures = panel.locator(".jp-RenderedMermaid figure img").evaluate_all(
            "imgs => imgs.map(i => ({svg: decodeURIComponent(i.src.split(',')[1] || ''), width: i.naturalWidth}))"
        )
        assert len(figures) == diagrams
        for figure in figures:
            assert "<svg" in figure["svg"] and figure["width"] > 0, f"{path.name}: a Mermaid figure without a drawn SVG"

        # Links in the text resolve in Lab (it serves the repository root).
        missing = []
        for link in _relative_links(page, lab):
            try:
                lab.api(f"/api/contents/{link}?content=0")
            except Exception:  # noqa: BLE001 - any failure means the link is dead in Lab
                missing.append(link)
        assert missing == [], f"{path.name}: links that are 404 in Lab: {missing}"

        _screenshots(page, browser_out, path.stem)
    except BaseException:
        page.screenshot(path=browser_out / f"{path.stem}-failed.png")
        raise
    finally:
        page.close()
        (browser_out / f"{path.stem}-console.log").write_text("".join(f"{line}\n" for line in console))
        # Stop this notebook's kernel now (its cleanup cell already stopped Redis and the sidecar)
        # and forget the layout, so the next notebook starts in a fresh Lab page.
        lab.remember_descendants()
        for session in lab.api("/api/sessions"):  # type: ignore[union-attr]
            lab.delete(f"/api/sessions/{session['id']}")
        lab.delete("/lab/api/workspaces/default")
