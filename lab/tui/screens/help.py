"""Help: what each key does, in the app's language (rows from the command table)."""

from __future__ import annotations

from rich.table import Table
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from lab.tui import applog
from lab.tui.commands import help_rows
from lab.tui.strings import s


def help_table(lang: str) -> Table:
    table = Table(box=None, show_header=False, padding=(0, 2))
    table.add_column(style="bold cyan", no_wrap=True)
    table.add_column()
    for k, what in help_rows(lang):
        table.add_row(k, what)
    return table


@applog.guarded
class HelpScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close")]  # noqa: RUF012

    def __init__(self, lang: str) -> None:
        super().__init__()
        self.lang = lang

    def compose(self) -> ComposeResult:
        with VerticalScroll(id="dialog"):
            yield Static(s("help.title", self.lang), classes="dialog-title")
            yield Static(help_table(self.lang))
            yield Static(s("help.close", self.lang), classes="dialog-foot")

    def action_close(self) -> None:
        self.dismiss(None)
