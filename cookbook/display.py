"""Render evidence in a notebook: HTML tables (with a plain-text twin), code and YAML listings.

Why HTML: fixed-width text tables wrap in JupyterLab and in nbconvert's HTML, and columns of
long Redis keys become unreadable. Why a text twin: papermill/nbmake logs and terminals show
``text/plain``, so every object here renders in both (IPython picks the richest the front end
supports). Written by hand rather than with pandas: a few dozen lines, no extra dependency, and
cells keep their full text (pandas truncates and escapes differently per front end).
"""

from __future__ import annotations

import html
import re
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from IPython.display import Code, Markdown, display

__all__ = ["Table", "natural_key", "show_code", "show", "note", "Markdown"]


def natural_key(text: str) -> list[Any]:
    """Sort key that puts ``order-2`` before ``order-10`` (text sort gives 1, 10, 2)."""
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", text)]


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.2f}"
    return str(value)


class Table:
    """Rows of dicts shown as an HTML table in Lab, as aligned text elsewhere.

    ``title`` is a caption; ``highlight`` names columns whose cells are marked (e.g. what
    changed between a before and an after column).
    """

    def __init__(self, rows: Iterable[Mapping[str, Any]], columns: Sequence[str] | None = None, *,
                 title: str = "", highlight: Iterable[str] = (), max_cell: int = 160) -> None:
        self.rows = [dict(r) for r in rows]
        self.columns = list(columns) if columns else list(dict.fromkeys(k for r in self.rows for k in r))
        self.title = title
        self.highlight = set(highlight)
        self.max_cell = max_cell

    def __len__(self) -> int:
        return len(self.rows)

    def _short(self, text: str) -> str:
        return text if len(text) <= self.max_cell else text[: self.max_cell - 1] + "…"

    def _repr_html_(self) -> str:
        head = "".join(f"<th style='text-align:left'>{html.escape(c)}</th>" for c in self.columns)
        body = []
        for row in self.rows:
            cells = []
            for c in self.columns:
                text = html.escape(self._short(_cell(row.get(c))))
                style = "text-align:left;font-family:monospace;white-space:pre-wrap;word-break:break-all"
                if c in self.highlight and row.get(c) not in (None, ""):
                    style += ";background:#fff3bf"
                cells.append(f"<td style='{style}'>{text}</td>")
            body.append("<tr>" + "".join(cells) + "</tr>")
        caption = f"<caption style='caption-side:top;text-align:left;font-weight:bold'>{html.escape(self.title)}</caption>" if self.title else ""
        return f"<table>{caption}<thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"

    def __str__(self) -> str:
        cells = [[self._short(_cell(r.get(c))) for c in self.columns] for r in self.rows]
        widths = [max([len(c), *(len(row[i]) for row in cells)]) for i, c in enumerate(self.columns)]
        lines = [self.title] if self.title else []
        lines.append("  ".join(c.ljust(w) for c, w in zip(self.columns, widths)).rstrip())
        lines.append("  ".join("-" * w for w in widths))
        lines += ["  ".join(v.ljust(w) for v, w in zip(row, widths)).rstrip() for row in cells]
        return "\n".join(lines)

    __repr__ = __str__

    def column(self, name: str) -> list[Any]:
        return [r.get(name) for r in self.rows]


def show(*objects: Any) -> None:
    """Display each object (tables, Markdown, Code, figures) one after the other."""
    for obj in objects:
        display(obj)


def note(markdown: str) -> None:
    """One rendered Markdown line from code (e.g. a result that explains itself)."""
    display(Markdown(markdown))


_LANGUAGES = {".py": "python", ".yaml": "yaml", ".yml": "yaml", ".json": "json", ".toml": "toml"}


def show_code(path: str | Path, *, lines: tuple[int, int] | None = None, title: str | None = None) -> Code:
    """A file (or a range of its lines, 1-based inclusive) with syntax colouring, headed by its
    path relative to the repository so the learner knows what to open or copy."""
    from cookbook.paths import ROOT  # noqa: PLC0415

    file = Path(path)
    text = file.read_text()
    if lines:
        text = "\n".join(text.splitlines()[lines[0] - 1 : lines[1]])
    try:
        shown = file.resolve().relative_to(ROOT)
    except ValueError:
        shown = file
    note(f"**{title or shown}**" + (f" (lines {lines[0]}–{lines[1]})" if lines else ""))
    return Code(text, language=_LANGUAGES.get(file.suffix, "text"))
