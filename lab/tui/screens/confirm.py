"""A question before something that throws work away (reset, quit, running steps first).

``ConfirmScreen(question, choices, lang)`` dismisses with the chosen value, or None
(Esc / n). ``y`` or Enter take the first choice (the focused button).
"""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from lab.tui import applog
from lab.tui.strings import s


@applog.guarded
class ConfirmScreen(ModalScreen[str | None]):
    BINDINGS = [  # noqa: RUF012
        Binding("escape,n", "choose('')", "No"),
        Binding("y", "choose('0')", "Yes"),
    ]
    DEFAULT_CSS = """
    ConfirmScreen #dialog { width: 70; max-width: 90%; }
    ConfirmScreen #choices { height: auto; margin-top: 1; }
    ConfirmScreen Button { margin-right: 2; }
    """

    def __init__(self, question: str, choices: list[tuple[str, str]], lang: str) -> None:
        super().__init__()
        self.question = question
        self.choices = choices  # (value, label), the first is what y / Enter choose
        self.lang = lang

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(self.question, classes="dialog-title", markup=False)
            with Horizontal(id="choices"):
                for i, (_value, label) in enumerate(self.choices):
                    yield Button(
                        label, id=f"choice-{i}", variant="primary" if i == 0 else "default"
                    )
                yield Button(s("confirm.no", self.lang), id="choice-no")
            yield Static(s("confirm.keys", self.lang), classes="dialog-foot")

    def on_mount(self) -> None:
        self.query_one("#choice-0", Button).focus()

    @on(Button.Pressed)
    def pressed(self, event: Button.Pressed) -> None:
        index = (event.button.id or "").removeprefix("choice-")
        self.action_choose("" if index == "no" else index)

    def action_choose(self, index: str) -> None:
        self.dismiss(self.choices[int(index)][0] if index.isdigit() else None)


def yes(lang: str) -> list[tuple[str, str]]:
    return [("yes", s("confirm.yes", lang))]
