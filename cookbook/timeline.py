"""A timeline of a crash-and-recover run: what was killed or started, when, its pid, the state.

Why: "kill, restart, it worked" in one sentence hides the evidence. A learner wants to see the
order of events (killed at 1.2 s, calls refused while down, back at 2.0 s, completed at 2.6 s)
with pids and the counters that prove nothing ran twice. The same records give a table and a
chart (matplotlib: one lane per process, down time shaded).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from cookbook.display import Table


@dataclass
class Mark:
    seconds: float
    process: str
    action: str
    pid: int | None
    status: str
    counters: dict[str, Any]
    down: bool | None  # True: the process went down here; False: it came back; None: neither


@dataclass
class Timeline:
    """Records marks relative to its creation; ``table()`` and ``chart()`` show them."""

    title: str = "timeline"
    started: float = field(default_factory=time.monotonic)
    marks: list[Mark] = field(default_factory=list)

    def mark(self, process: str, action: str, *, pid: int | None = None, status: Any = "",
             down: bool | None = None, **counters: Any) -> Mark:
        status_text = getattr(status, "name", status)  # enums (WorkflowStatus) by name
        m = Mark(time.monotonic() - self.started, process, action, pid, str(status_text or ""), counters, down)
        self.marks.append(m)
        return m

    def table(self) -> Table:
        counter_names = list(dict.fromkeys(k for m in self.marks for k in m.counters))
        rows = [{"t s": f"{m.seconds:6.2f}", "process": m.process, "action": m.action, "pid": m.pid or "",
                 "status": m.status, **{k: m.counters.get(k, "") for k in counter_names}} for m in self.marks]
        return Table(rows, ["t s", "process", "action", "pid", "status", *counter_names], title=self.title)

    def downtime(self, process: str) -> list[tuple[float, float]]:
        """(went down, came back) intervals of one process, in seconds from the start."""
        spans, down_at = [], None
        for m in self.marks:
            if m.process != process:
                continue
            if m.down is True and down_at is None:
                down_at = m.seconds
            elif m.down is False and down_at is not None:
                spans.append((down_at, m.seconds))
                down_at = None
        if down_at is not None:
            spans.append((down_at, self.marks[-1].seconds))
        return spans

    def chart(self, save_to: str | Path | None = None):  # type: ignore[no-untyped-def]
        """A matplotlib figure: a lane per process, a dot per mark labelled with its action, down
        time shaded red. Saved as PNG when ``save_to`` is given (the HTML report links it)."""
        import matplotlib.pyplot as plt  # noqa: PLC0415 - only when a chart is drawn

        lanes = list(dict.fromkeys(m.process for m in self.marks))
        fig, ax = plt.subplots(figsize=(10, 1.2 + 1.1 * len(lanes)))
        for y, lane in enumerate(lanes):
            for start, end in self.downtime(lane):
                ax.barh(y, max(end - start, 0.02), left=start, height=0.5, color="#ffc9c9", edgecolor="#e03131")
            points = [m for m in self.marks if m.process == lane]
            ax.plot([m.seconds for m in points], [y] * len(points), "o", color="#1c7ed6")
            span = max((self.marks[-1].seconds if self.marks else 0), 0.01)
            level, last_x = 0, None
            for m in points:
                # labels of marks close in time go on alternating levels above and below the lane
                level = level + 1 if last_x is not None and m.seconds - last_x < span * 0.12 else 0
                last_x = m.seconds
                offset = (9, -15, 21, -27)[level % 4]
                ax.annotate(m.action, (m.seconds, y), textcoords="offset points", xytext=(0, offset), ha="center", fontsize=8)
        ax.set_yticks(range(len(lanes)), lanes)
        ax.set_ylim(-0.8, len(lanes) - 0.2)
        ax.invert_yaxis()
        ax.set_xlabel("seconds")
        ax.set_title(self.title + "  (red: process down)")
        ax.grid(axis="x", alpha=0.3)
        fig.tight_layout()
        if save_to is not None:
            Path(save_to).parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(save_to, dpi=110)
        plt.close(fig)  # shown once by the caller's display(), not again by the inline backend
        return fig

