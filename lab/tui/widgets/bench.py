"""The results bench: the commands' transcript and the step's views, side by side.

Panels sit in a grid whose column count follows the terminal's width (one to
three) and the big-screen mode (fewer, wider columns); the step's check
results sit in a strip under the grid.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import Grid, Vertical
from textual.widgets import Static

from lab.lesson.model import Step
from lab.tui.strings import s
from lab.tui.widgets.transcript import Transcript
from lab.tui.widgets.view_panel import ViewPanel


def columns_for(width: int, panels: int, big: bool = False) -> int:
    """How many columns the bench (*width* cells wide) uses: enough for the panels, as many as fit."""
    fit = 3 if width >= 130 else 2 if width >= 60 else 1
    if big:
        fit = max(1, fit - 1)
    return max(1, min(fit, panels))


def _flat(text: str) -> str:
    return " ".join(text.split())  # a reason quoting a script must not break the strip's lines


def checks_text(checks: list[Any], lang: str, width: int = 0, pending: bool = False) -> Text:
    """One line per check. A passing check's evidence is cut to *width*; a failing check's
    reason is kept whole (it wraps), since that is what the learner needs to read. With
    *pending* (a try-it-yourself step whose checks wait for the learner), a failing check
    is shown as still to do, not as an error."""
    text = Text()
    for c in checks:
        if text:
            text.append("\n")
        line = Text()
        if pending and not c.ok:
            line.append("○ ", style="bold cyan")
            line.append(_flat(c.message))
            line.append(" — " + s("bench.pending", lang), style="dim")
        else:
            line.append("✓ " if c.ok else "✗ ", style="bold green" if c.ok else "bold red")
            line.append(_flat(c.message))
            if c.reason:
                line.append(f" — {_flat(c.reason)}", style="" if c.ok else "red")
            if c.ok and width > 0:
                line.truncate(width, overflow="ellipsis")
        text.append_text(line)
    return text


class Bench(Vertical):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.big = False
        self.lang = "en"
        self._views: list[ViewPanel] = []

    def compose(self):  # type: ignore[override]
        with Grid(id="panels"):
            yield Transcript(id="transcript")
        yield Static(id="checks", markup=False)

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    def setup(self, step: Step, lang: str) -> None:
        """Fresh panels for *step*: the transcript emptied, one placeholder per view."""
        self.lang = lang
        grid = self.query_one("#panels", Grid)
        for panel in self._views:
            panel.remove()
        self._views = [
            ViewPanel(
                a.name or s("bench.view", lang),
                placeholder=s("bench.not_run", lang),
                lang=lang,
                classes="view",
            )
            for a in step.of("view")
        ]
        if self._views:
            grid.mount_all(self._views)
        self.transcript.border_title = "$"
        self.transcript.clear(s("bench.empty", lang))
        self.show_checks([])
        self.relayout()

    def view_ready(self, view: Any) -> None:
        """Put a view's result in the first panel waiting for that view (or a new one)."""
        panel = next((p for p in self._views if p.view is None and p.view_name == view.name), None)
        if panel is None:
            panel = ViewPanel(view.name, classes="view")
            self._views.append(panel)
            self.query_one("#panels", Grid).mount(panel)
            self.relayout()
        panel.show(view, self.lang)

    def replace_views(self, views: list[Any]) -> None:
        """The step's views drawn again, panel for panel (after the learner's own turn)."""
        for panel, view in zip(self._views, views, strict=False):
            panel.show(view, self.lang)

    def show_checks(
        self, checks: list[Any], lang: str | None = None, pending: bool = False
    ) -> None:
        strip = self.query_one("#checks", Static)
        width = (strip.content_size.width or (self.size.width or self.app.size.width) - 4) - 1
        strip.update(checks_text(checks, lang or self.lang, width, pending))
        strip.display = bool(checks)
        strip.border_title = s("bench.checks", lang or self.lang)

    def relang(self, lang: str) -> None:
        self.lang = lang
        for p in self._views:
            p.relang(lang)

    def relayout(self) -> None:
        grid = self.query_one("#panels", Grid)
        count = 1 + len(self._views)
        width = self.size.width or self.app.size.width
        cols = columns_for(width, count, self.big)
        grid.styles.grid_size_columns = cols
        # the transcript is mostly short lines: the views get the wider columns
        grid.styles.grid_columns = " ".join(["2fr"] + ["3fr"] * (cols - 1)) if cols > 1 else "1fr"
        # three panels in two columns: the transcript takes the left column's full height
        self.transcript.styles.row_span = 2 if (count == 3 and cols == 2) else 1

    def on_resize(self) -> None:
        self.relayout()

    def replay(self, result: Any) -> None:
        """A runner that reported only at the end: show its step's commands and views now."""
        for a in result.actions:
            self.transcript.started(a.command)
            if a.stdout:
                self.transcript.output(a.stdout)
            if a.stderr:
                self.transcript.output(a.stderr, "stderr")
            self.transcript.finished(a)
        for v in result.views:
            self.view_ready(v)

    def explain(self, result: Any, passed_line: str) -> tuple[str, str]:
        """Say in the transcript how a step ended; returns the status line (text, style)."""
        lang = self.lang
        if result.status == "passed":
            took = f" · {result.seconds:.2f} s" if result.seconds else ""
            return passed_line + took, "green"
        if result.status == "failed":
            reason = result.reason or next(
                (f"{c.message}: {c.reason}" for c in result.checks if not c.ok), ""
            )
            bad = next((a for a in result.actions if not a.ok), None)
            if bad is not None and not reason:
                reason = bad.note or f"`{bad.command.splitlines()[0]}` exited {bad.exit}"
            failed, retry = s("status.failed", lang), s("status.retry", lang)
            self.transcript.note(f"✗ {failed}: {reason}\n→ {retry}", "bold red")
            return f"✗ {failed}: {reason} — {retry}", "bold red"
        reason = f": {result.reason}" if result.reason else ""
        line = f"– {s('status.' + result.status, lang)}{reason}"
        self.transcript.note(line, "yellow")
        return line, "yellow"
