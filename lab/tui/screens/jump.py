"""Jump to a step: the outline in a small dialog; Enter picks, Esc closes."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static

from lab.lesson.model import Lesson
from lab.tui import applog
from lab.tui.strings import s
from lab.tui.widgets.outline import StepOutline


@applog.guarded
class JumpScreen(ModalScreen[int | None]):
    BINDINGS = [Binding("escape,g", "close", "Close")]  # noqa: RUF012

    def __init__(self, lesson: Lesson, statuses: dict[str, str], current: int, lang: str) -> None:
        super().__init__()
        self.lesson, self.statuses, self.current, self.lang = lesson, statuses, current, lang

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(s("jump.title", self.lang), classes="dialog-title")
            yield StepOutline(id="jump-list")

    def on_mount(self) -> None:
        outline = self.query_one(StepOutline)
        outline.show(self.lesson, self.statuses, self.current, self.lang)
        outline.focus()

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option_index)

    def action_close(self) -> None:
        self.dismiss(None)
