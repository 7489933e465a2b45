"""The lesson screen's bottom line: what the session is doing, and a step's progress bar."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import ProgressBar, Static

from lab.tui.strings import s


def status_for(status: str, last: bool, lang: str) -> str:
    """The status line for a step whose status is *status* (*last*: the lesson's last step)."""
    if status == "passed":
        return f"✓ {s('status.passed', lang)} — " + s(
            "status.last" if last else "status.next", lang
        )
    if status == "failed":
        return f"✗ {s('status.failed', lang)} — {s('status.retry', lang)}"
    if status:
        return s(f"status.{status}", lang)
    return f"{s('status.ready', lang)} — {s('bench.empty', lang)}"


def running_line(spent: float, lang: str) -> str:
    spin = "◐◓◑◒"[int(spent * 4) % 4]
    return f"{spin} {s('status.running', lang)} · {spent:.1f} s   (Esc: cancel)"


class StatusLine(Horizontal):
    DEFAULT_CSS = """
    StatusLine { height: 1; background: $panel; }
    StatusLine #status { width: 1fr; padding: 0 1; }
    StatusLine #progress { width: 24; }
    StatusLine #progress Bar { width: 20; }
    """

    def compose(self) -> ComposeResult:
        self.text = Static(id="status", markup=False)
        self.bar = ProgressBar(id="progress", show_eta=False, show_percentage=False)
        yield self.text
        yield self.bar

    def on_mount(self) -> None:
        self.bar.display = False

    def show(self, text: str | Text, style: str = "") -> None:
        self.text.update(Text(text, style=style) if isinstance(text, str) else text)

    def start(self, total: int) -> None:
        """A step starts: the bar counts its *total* actions."""
        self.bar.update(total=max(1, total), progress=0)
        self.bar.display = True

    def advance(self) -> None:
        self.bar.advance(1)

    def stop(self) -> None:
        self.bar.display = False
