"""A notebook open in JupyterLab, seen through the page: what the browser test reads and clicks.

Everything here reads what Lab shows (prompts, toolbar, rendered Markdown and diagrams) except
``model()``: on the page an error output and a stderr stream are both drawn as
"application/vnd.jupyter.stderr", so the output types come from the notebook model Lab holds
(``window.jupyterapp``, there because the test starts Lab with ``expose_app_in_browser``).
Class names are those of the pinned JupyterLab (4.6).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import unquote, urlparse

from playwright.sync_api import Page

PANEL = ".jp-NotebookPanel:not(.lm-mod-hidden)"

# True once the notebook's kernel is connected and idle, or Lab opened a dialog (e.g. "Select Kernel").
KERNEL_SETTLED = """(panel) => {
  if (document.querySelector('.jp-Dialog')) return true;
  const node = document.querySelector(panel);
  const name = node?.querySelector('.jp-Toolbar-kernelName')?.textContent.trim();
  const status = node?.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
  return !!name && name !== 'No Kernel' && status === 'idle';
}"""

# True once Run All has stopped: the kernel is idle, no cell waits ("[*]") and at least one ran.
# After an error Lab stops the run and the cells below it keep an empty prompt: the test then
# reports the error at once instead of waiting for counts that will never come.
RUN_STOPPED = """(panel) => {
  const node = document.querySelector(panel);
  if (!node) return false;
  const status = node.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
  const prompts = [...node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
  return status === 'idle' && !prompts.includes('[*]:') && prompts.some(t => /^\\[\\d+\\]:$/.test(t));
}"""

# True once every Mermaid block has become a figure, or a warning (Mermaid could not parse it).
MERMAID_SETTLED = """([panel, expected]) => {
  const node = document.querySelector(panel);
  const done = [...node.querySelectorAll('.jp-RenderedMermaid')].filter(
    m => m.classList.contains('jp-mod-warning') || [...m.querySelectorAll('figure img')].some(i => i.complete));
  return done.length >= expected;
}"""

_STATE = """(panel) => {
  const node = document.querySelector(panel);
  if (!node) return 'no notebook open';
  const name = node.querySelector('.jp-Toolbar-kernelName')?.textContent.trim();
  const status = node.querySelector('.jp-Notebook-ExecutionIndicator')?.dataset.status;
  const prompts = [...node.querySelectorAll('.jp-CodeCell .jp-InputPrompt')].map(p => p.textContent.trim());
  return `kernel ${name} (${status}); prompts ${prompts.join(' ')}`;
}"""


def state(page: Page) -> str:
    """Kernel, its status and every code cell's prompt, for failure messages."""
    return page.evaluate(_STATE, PANEL)


def open_from_file_browser(page: Page, name: str) -> None:
    """Double-click ``name`` in the file browser, as a learner on the start page would."""
    page.locator(".jp-DirListing-content").get_by_text(name, exact=True).dblclick()


def kernel_shown(page: Page) -> str:
    return page.locator(f"{PANEL} .jp-Toolbar-kernelName").inner_text().strip()


def prompts(page: Page) -> list[str]:
    return [p.strip() for p in page.locator(f"{PANEL} .jp-CodeCell .jp-InputPrompt").all_inner_texts()]


def run_all_from_menu(page: Page) -> None:
    """Run > Run All Cells in the menu bar."""
    page.get_by_role("menuitem", name="Run", exact=True).click()
    page.locator(".lm-Menu-item", has=page.locator(".lm-Menu-itemLabel", has_text=re.compile(r"^Run All Cells$"))).click()


def model(page: Page) -> dict:
    """The notebook as Lab holds it (nbformat JSON)."""
    return page.evaluate("() => window.jupyterapp.shell.currentWidget.content.model.toJSON()")


def mermaid_warnings(page: Page) -> list[str]:
    return page.locator(f"{PANEL} .jp-RenderedMermaid.jp-mod-warning").all_inner_texts()


def mermaid_figures(page: Page) -> list[dict]:
    """Each drawn diagram: the SVG its picture shows and the picture's drawn width."""
    return page.locator(f"{PANEL} .jp-RenderedMermaid figure img").evaluate_all(
        "imgs => imgs.map(i => ({svg: decodeURIComponent(i.src.split(',')[1] || ''), width: i.naturalWidth}))"
    )


def repository_links(page: Page, port: int) -> list[str]:
    """Paths (from Lab's root) of the links in the rendered Markdown that point at files: Lab
    rewrites a relative link to ``/files/<path>``; links to headings stay in the notebook."""
    hrefs = page.eval_on_selector_all(f"{PANEL} .jp-RenderedMarkdown a[href]", "as => as.map(a => a.href)")
    paths = []
    for href in hrefs:
        url = urlparse(href)
        if url.netloc == f"127.0.0.1:{port}" and url.path.startswith("/files/"):
            paths.append(unquote(url.path[len("/files/"):]))
    return paths


def screenshots(page: Page, out: Path, stem: str) -> list[Path]:
    """The whole notebook, one screenshot per screenful, top to bottom (down to the last cell,
    not Lab's empty "scroll past end" space); earlier screenshots of this notebook are removed."""
    for old in out.glob(f"{stem}-*.png"):
        old.unlink()
    scroller = page.locator(f"{PANEL} .jp-WindowedPanel-outer")
    if scroller.count() == 0:
        path = out / f"{stem}-01.png"
        page.screenshot(path=path)
        return [path]
    bottom, step = scroller.evaluate(
        """e => {
          const cells = e.querySelectorAll('.jp-Cell');
          const last = cells.length ? cells[cells.length - 1].getBoundingClientRect().bottom : 0;
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
