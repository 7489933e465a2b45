"""The transcript panel: each command the step ran, then its output as it streams in.

A ``RichLog`` with a line cap (``MAX_LINES``): each line is rendered once, when it
arrives, and the oldest lines go past the cap (a runaway command must not eat
memory), so a long output never re-renders the whole text on an update. The source
lines are kept too (as capped) for ``text`` (what tests and copying read) and to wrap
them again when the panel's width changes (RichLog keeps the rows it rendered).
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich.text import Text
from textual.widgets import RichLog

from lab.tui.widgets.more import MoreHint

MAX_LINES = 5_000  # lines kept; older output is dropped


def _span(text: str, style: str) -> Text:
    """*text* as one styled span."""
    line = Text()
    line.append(text, style=style or None)
    return line


class Transcript(MoreHint, RichLog):
    """Append-only: ``started``, ``output`` and ``finished`` follow the runner's events."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(max_lines=MAX_LINES, min_width=20, wrap=True, **kw)
        self.source: deque[Text] = deque(maxlen=MAX_LINES)
        self._placeholder = False
        self._width = 0

    def on_resize(self) -> None:
        width = self.scrollable_content_region.width
        if width != self._width and self.source:
            super().clear()
            for line in self.source:
                self.write(line, expand=True)
        self._width = width

    @property
    def text(self) -> Text:
        """Everything shown, one Text (for tests and copying)."""
        return Text("\n").join(self.source)

    @property
    def untouched(self) -> bool:
        """Nothing but the placeholder: no command has run since the last clear."""
        return self._placeholder

    def clear(self, placeholder: str = "") -> Transcript:  # type: ignore[override]
        super().clear()
        self.source.clear()
        self._placeholder = False
        if placeholder:
            self._line(_span(placeholder, "dim italic"))
            self._placeholder = True
        return self

    def _line(self, line: Text) -> None:
        if self._placeholder:
            super().clear()
            self.source.clear()
            self._placeholder = False
        self.source.append(line)
        self.write(line, expand=True)

    def started(self, command: str, where: str = "") -> None:
        prefix = f"[{where}] " if where else ""
        for i, line in enumerate(command.rstrip().splitlines() or [""]):
            text = Text()
            text.append(prefix + ("$ " if i == 0 else "> "), style="bold cyan")
            text.append(line, style="bold")
            self._line(text)

    def output(self, text: str, stream: str = "stdout") -> None:
        """A command's output: its colours kept (ANSI), stderr in red."""
        style = "red" if stream == "stderr" else ""
        body = text[:-1] if text.endswith("\n") else text
        for line in body.split("\n"):
            self._line(Text.from_ansi(line, style=style) if "\x1b" in line else _span(line, style))

    def finished(self, result: Any) -> None:
        ok = getattr(result, "ok", True)
        bits = []
        if getattr(result, "exit", None) is not None:
            bits.append(f"exit {result.exit}")
        if getattr(result, "seconds", 0):
            bits.append(f"{result.seconds:.2f} s")
        if getattr(result, "note", "") and result.note != f"exited {getattr(result, 'exit', None)}":
            bits.append(result.note)
        self._line(_span(("✓ " if ok else "✗ ") + " · ".join(bits), "green" if ok else "bold red"))

    def note(self, text: str, style: str = "") -> None:
        for line in text.rstrip().split("\n"):
            self._line(_span(line, style))
