"""The step outline: every step of the lesson with its state (done, current, failed)."""

from __future__ import annotations

from rich.text import Text
from textual.widgets import OptionList
from textual.widgets.option_list import Option

from lab.lesson.model import Lesson

MARKS = {
    "passed": ("✓", "success"),
    "failed": ("✗", "error"),
    "skipped": ("–", "warning"),
    "cancelled": ("⊘", "warning"),
    "timeout": ("✗", "error"),
    "running": ("◌", "accent"),
    "": ("·", "dim"),
}
_STYLE = {
    "success": "bold green",
    "error": "bold red",
    "warning": "yellow",
    "accent": "bold cyan",
    "dim": "dim",
}


def step_label(number: int, title: str, status: str, current: bool) -> Text:
    mark, kind = MARKS.get(status, MARKS[""])
    text = Text()
    text.append("▶ " if current else "  ", style="bold")
    text.append(f"{mark} ", style=_STYLE[kind])
    text.append(f"{number}. ", style="dim")
    text.append(title, style="bold" if current else "")
    return text


class StepOutline(OptionList):
    """Selecting a step (Enter or click) jumps to it."""

    def show(self, lesson: Lesson, statuses: dict[str, str], current: int, lang: str) -> None:
        options = [
            Option(
                step_label(i + 1, st.title_in(lang), statuses.get(st.id, ""), i == current),
                id=st.id,
            )
            for i, st in enumerate(lesson.steps)
        ]
        self.clear_options()
        self.add_options(options)
        if lesson.steps:
            self.highlighted = current
