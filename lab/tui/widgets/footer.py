"""The footer: Textual's, its labels read from the command table in the app's language.

Bindings are made once, in English (lab/tui/commands.py); this footer asks the table
for each key's label in ``app.lang`` and is drawn again when the language changes.
Keys the table marks ``extra`` carry the class ``-extra``: on a narrow terminal the
screen's breakpoint class hides them (CSS), so the keys a step needs always fit; the
help (``?``) and the palette list every key.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.widgets import Footer

from lab.tui import commands


class LabFooter(Footer):
    SCOPED_CSS = False  # the rule reads the screen's breakpoint class
    DEFAULT_CSS = """
    .-narrow LabFooter .-extra { display: none; }
    """

    def __init__(self) -> None:
        super().__init__(compact=True)

    def on_mount(self) -> None:  # (Footer's own on_mount subscribes to the bindings)
        self.watch(self.app, "lang", self._relabel, init=False)

    def _relabel(self, _lang: str) -> None:
        self.call_after_refresh(self.recompose)

    def compose(self) -> ComposeResult:
        lang = getattr(self.app, "lang", "en")
        for key in super().compose():
            action = getattr(key, "action", None)
            if isinstance(action, str):
                label = commands.label(action, lang)
                if label is not None:
                    key.description = label
                if commands.is_extra(action):
                    key.add_class("-extra")
            yield key
