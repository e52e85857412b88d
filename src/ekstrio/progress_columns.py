"""The ETA column of the scan's progress line (:mod:`ekstrio.progress`), which imports this
module, and with it rich.progress, only when the line is shown."""

from __future__ import annotations

from rich.progress import ProgressColumn, Task
from rich.text import Text

MIN_SHARE_FOR_ETA = 0.05


class Eta(ProgressColumn):
    """``ETA m:ss`` once rich can estimate it, else nothing (no "-:--:--" placeholder)."""

    def render(self, task: Task) -> Text:
        remaining = task.time_remaining
        share = task.completed / task.total if task.total else 0.0
        if remaining is None or share < MIN_SHARE_FOR_ETA or task.finished:
            return Text("")
        minutes, seconds = divmod(int(remaining + 0.5), 60)
        hours, minutes = divmod(minutes, 60)
        clock = f"{hours}:{minutes:02d}:{seconds:02d}" if hours else f"{minutes}:{seconds:02d}"
        return Text(f"ETA {clock}", style="cyan")
