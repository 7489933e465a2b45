"""Predict, then run: the step's multiple-choice question, asked before it runs.

``PredictScreen(params, lang)`` (a ```predict fence's parameters) dismisses with the
index of the chosen answer (keys 1…n, or ↑↓ and Enter, or a click), ``"skip"`` (s,
or the button: run without guessing) or None (Esc: back to the step, nothing runs,
nothing is kept — as Esc everywhere in the app, it undoes the key that opened it).
No free text: Japanese input is unreliable in terminals. ``l`` toggles the app's
language here too (a modal screen stops the app's own keys), and the question is
redrawn in place.
"""

from __future__ import annotations

from typing import Any

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, OptionList, Static
from textual.widgets.option_list import Option

from lab.lesson import predict
from lab.tui import applog
from lab.tui.strings import s
from lab.tui.widgets.reveal import inline

MAX_CHOICES = 9  # keys 1…9


@applog.guarded
class PredictScreen(ModalScreen[int | str | None]):
    BINDINGS = [  # noqa: RUF012
        Binding("escape", "back", "Back"),
        Binding("s", "skip", "Skip"),
        Binding("l", "app.toggle_lang", "Language"),  # a modal screen stops the app's keys
        *(Binding(str(n), f"choose({n - 1})", str(n), show=False) for n in range(1, 10)),
    ]
    DEFAULT_CSS = """
    PredictScreen { align: center middle; }
    PredictScreen #dialog { width: 90%; max-width: 100; }
    PredictScreen #predict-question { margin-bottom: 1; }
    PredictScreen #predict-choices { height: auto; max-height: 16; border: none; padding: 0; }
    PredictScreen #predict-choices > .option-list--option { padding: 0 1; }
    PredictScreen #predict-buttons { height: auto; margin-top: 1; }
    PredictScreen Button { margin-right: 2; }
    """

    def __init__(self, params: dict[str, Any], lang: str) -> None:
        super().__init__()
        self.params = params
        self.lang = lang
        self.prediction = predict.of(params, lang)

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog"):
            yield Static(id="predict-title", classes="dialog-title")
            yield Static(id="predict-question")
            yield OptionList(id="predict-choices")
            with Horizontal(id="predict-buttons"):
                yield Button(id="predict-skip")
            yield Static(id="predict-keys", classes="dialog-foot")

    def on_mount(self) -> None:
        self.relang(self.lang)
        self.watch(self.app, "lang", self.relang, init=False)
        self.query_one(OptionList).focus()

    def relang(self, lang: str) -> None:
        """The question, its choices and the keys in *lang* (the highlight kept)."""
        self.lang = lang
        self.prediction = p = predict.of(self.params, lang)
        n = min(len(p.choices), MAX_CHOICES)
        self.query_one("#predict-title", Static).update(s("predict.title", lang))
        self.query_one("#predict-question", Static).update(inline(p.question))
        choices = self.query_one(OptionList)
        kept = choices.highlighted
        choices.clear_options()
        choices.add_options(
            [Option(inline(f"{i + 1}. {c.text}"), id=f"c{i}") for i, c in enumerate(p.choices[:n])]
        )
        choices.highlighted = kept if kept is not None else 0
        self.query_one("#predict-skip", Button).label = s("predict.skip", lang)
        keys = s("predict.keys", lang).format(n=n) + f" · l: {s('key.lang', lang)}"
        self.query_one("#predict-keys", Static).update(keys)

    @on(OptionList.OptionSelected, "#predict-choices")
    def picked(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.action_choose(event.option_index)

    @on(Button.Pressed, "#predict-skip")
    def skipped(self, event: Button.Pressed) -> None:
        event.stop()
        self.action_skip()

    def action_choose(self, index: int) -> None:
        if 0 <= index < min(len(self.prediction.choices), MAX_CHOICES):
            self.dismiss(index)

    def action_skip(self) -> None:
        self.dismiss("skip")

    def action_back(self) -> None:
        self.dismiss(None)
