"""The results bench: the commands' transcript and the step's views, side by side.

Panels (class ``panel``) sit in a grid. How many columns, and whether the panels
show all at once or one at a time (``-current``, cycled with ``v``), is CSS: the
lesson screen's breakpoint classes (``-narrow``… ``-xwide``, ``-short``… ``-tall``,
``-big``) with the bench's panel count (``-n1``… ``-n4``) in app.tcss. The
transcript hides on a step that runs no command (``-no-output``) until something
is written to it. The step's check results sit in a strip under the grid.
"""

from __future__ import annotations

from typing import Any

from rich.console import Group
from rich.text import Text
from textual import on
from textual.containers import Grid, Vertical, VerticalScroll
from textual.events import DescendantFocus
from textual.widget import Widget
from textual.widgets import Static

from lab.lesson.model import Step
from lab.tui.strings import s
from lab.tui.widgets.more import MoreHint
from lab.tui.widgets.transcript import Transcript
from lab.tui.widgets.view_panel import ViewPanel


def _flat(text: str) -> str:
    return " ".join(text.split())  # a reason quoting a script must not break the strip's lines


def checks_text(checks: list[Any], lang: str, pending: bool = False) -> Group:
    """One line per check. A passing check's line is cut to the panel's width (…); a
    failing check's reason is kept whole (it wraps), since that is what the learner
    needs to read. With *pending* (a try-it-yourself step whose checks wait for the
    learner), a failing check is shown as still to do, not as an error."""
    lines = []
    for c in checks:
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
            if c.ok:
                line.no_wrap, line.overflow = True, "ellipsis"
        lines.append(line)
    return Group(*lines)


class ChecksPanel(MoreHint, VerticalScroll):
    """The step's checks, one line each (failing first); scrolls, and says when it holds more."""


class Bench(Vertical):
    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.lang = "en"
        self._views: list[ViewPanel] = []
        self._current = 0  # the panel shown when one shows at a time
        self.checks_shown = ""  # the checks' lines as shown (plain text)

    def compose(self):  # type: ignore[override]
        yield Static(id="panel-tabs", markup=False)
        with Grid(id="panels"):
            yield Transcript(id="transcript", classes="panel -current")
        with ChecksPanel(id="checks"):
            yield Static(id="checks-text", markup=False)

    @property
    def transcript(self) -> Transcript:
        return self.query_one(Transcript)

    @property
    def checks(self) -> Widget:
        return self.query_one("#checks", ChecksPanel)

    @property
    def panels(self) -> list[Widget]:
        """The panels in order: the transcript (unless hidden for this step), then the views."""
        out: list[Widget] = [] if self.has_class("-no-output") else [self.transcript]
        return out + list(self._views)

    def setup(self, step: Step, lang: str, commands: bool = True) -> None:
        """Fresh panels for *step*: the transcript emptied, one placeholder per view.
        A step that runs no command (*commands* False) shows no transcript."""
        self.lang = lang
        grid = self.query_one("#panels", Grid)
        for panel in self._views:
            panel.remove()
        self._views = [
            ViewPanel(
                a.name or s("bench.view", lang),
                placeholder=s("bench.not_run", lang),
                lang=lang,
                classes="view panel",
            )
            for a in step.of("view")
        ]
        if self._views:
            grid.mount_all(self._views)
        self.set_class(not commands and bool(self._views), "-no-output")
        self.transcript.border_title = "$"
        self.transcript.clear(s("bench.empty", lang))
        self.show_checks([])
        self._count()
        self.show_panel(0)

    def _count(self) -> None:
        n = min(4, len(self.panels))
        for i in range(1, 5):
            self.set_class(i == n, f"-n{i}")

    def note(self, text: str, style: str = "") -> None:
        """A line for the learner in the transcript (shown even on a step with no command)."""
        self.transcript.note(text, style)
        self.show_output()

    def show_output(self) -> None:
        """Something was written to a hidden transcript (a failure, a note): show it."""
        if self.has_class("-no-output"):
            self.remove_class("-no-output")
            self._count()
            self.show_panel(0)

    def show_panel(self, index: int, focus: bool = False) -> None:
        """Make panel *index* the one shown when they show one at a time."""
        panels = self.panels
        if not panels:
            return
        self._current = index % len(panels)
        for i, p in enumerate(panels):
            p.set_class(i == self._current, "-current")
        names = [str(p.border_title or "") for p in panels]
        tabs = Text()
        for i, name in enumerate(names):
            tabs.append(f" {name} ", style="reverse bold" if i == self._current else "dim")
        tabs.append(f"  {s('panel.next', self.lang)}", style="dim italic")
        self.query_one("#panel-tabs", Static).update(tabs)
        if focus:
            panels[self._current].focus()

    def next_panel(self) -> None:
        self.show_panel(self._current + 1, focus=True)

    def point(self) -> Widget:
        """The panel holding the step's point: its first view, else its output."""
        return self._views[0] if self._views else self.transcript

    def show_point(self) -> None:
        panels = self.panels
        self.show_panel(panels.index(self.point()) if self.point() in panels else 0)

    @on(DescendantFocus)
    def _focused(self, event: DescendantFocus) -> None:
        panels = self.panels
        if event.widget in panels and panels.index(event.widget) != self._current:
            self.show_panel(panels.index(event.widget))

    def view_ready(self, view: Any) -> None:
        """Put a view's result in the first panel waiting for that view (or a new one)."""
        panel = next((p for p in self._views if p.view is None and p.view_name == view.name), None)
        if panel is None:
            panel = ViewPanel(view.name, classes="view panel")
            self._views.append(panel)
            self.query_one("#panels", Grid).mount(panel)
            self._count()
        panel.show(view, self.lang)

    def replace_views(self, views: list[Any]) -> None:
        """The step's views drawn again, panel for panel (after the learner's own turn)."""
        for panel, view in zip(self._views, views, strict=False):
            panel.show(view, self.lang)

    def show_checks(
        self, checks: list[Any], lang: str | None = None, pending: bool = False
    ) -> None:
        strip = self.query_one("#checks", ChecksPanel)
        failing_first = sorted(checks, key=lambda c: c.ok)  # what to fix on the first line
        text = self.query_one("#checks-text", Static)
        shown = checks_text(failing_first, lang or self.lang, pending)
        self.checks_shown = "\n".join(line.plain for line in shown.renderables)  # type: ignore[union-attr]
        text.update(shown)
        strip.display = bool(checks)
        strip.border_title = s("bench.checks", lang or self.lang)

    def show_cancelled(self) -> None:
        """A cancelled run: its checks did not judge anything (never a ✓)."""
        strip = self.query_one("#checks", ChecksPanel)
        text = Text(f"⊘ {s('bench.cancelled', self.lang)}", style="yellow")
        self.checks_shown = text.plain
        self.query_one("#checks-text", Static).update(text)
        strip.display = True
        strip.border_title = s("bench.checks", self.lang)

    def relang(self, lang: str) -> None:
        self.lang = lang
        for p in self._views:
            p.relang(lang)
        self.show_panel(self._current)

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
            self.note(f"✗ {failed}: {reason}\n→ {retry}", "bold red")
            return f"✗ {failed}: {reason} — {retry}", "bold red"
        reason = f": {result.reason}" if result.reason else ""
        line = f"– {s('status.' + result.status, lang)}{reason}"
        self.note(line, "yellow")
        return line, "yellow"
