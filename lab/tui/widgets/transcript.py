"""The transcript panel: each command the step ran, then its output as it streams in.

A scrolling panel around a line log with a cap (``MAX_LINES``): a line is wrapped
once when it arrives (again only when the width changes) and only the visible
rows are drawn, so a long output no longer re-renders the whole text on each
update; the oldest lines go past the cap (a runaway command must not eat memory).
Lines wrap as Textual wraps a static panel's text, so the panel looks the same.
"""

from __future__ import annotations

from collections import deque
from typing import Any

from rich._wrap import divide_line
from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual.containers import VerticalScroll
from textual.geometry import Size
from textual.strip import Strip
from textual.widget import Widget

MAX_LINES = 5_000  # lines kept; older output is dropped


def _span(text: str, style: str) -> Text:
    """*text* as one styled span (drawn as the panel's own text is)."""
    line = Text()
    line.append(text, style=style or None)
    return line


class LineLog(Widget):
    """Lines of Text, each wrapped to the width once; as tall as its rows."""

    DEFAULT_CSS = "LineLog { height: auto; }"

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.source: deque[Text] = deque()
        self.newline = False  # the text ends with a newline: one more (empty) row, as Static has
        self._rows: list[Strip] = []
        self._counts: deque[int] = deque()  # rows of each source line
        self._width = 0

    def add(self, line: Text) -> None:
        self.source.append(line)
        self.newline = True
        if self._width:
            rows = self._wrap(line, self._width)
            self._rows.extend(rows)
            self._counts.append(len(rows))
        while len(self.source) > MAX_LINES:
            self.source.popleft()
            if self._counts:
                del self._rows[: self._counts.popleft()]

    def reset(self) -> None:
        self.source.clear()
        self._rows, self._counts = [], deque()
        self.newline = False

    def _wrap(self, line: Text, width: int) -> list[Strip]:
        line = line.copy()
        line.expand_tabs(8)
        parts = line.divide(divide_line(line.plain, width, fold=True))
        out = []
        for n, part in enumerate(parts, 1):
            if n < len(parts):
                part.rstrip()
            part.truncate(width)
            out.append(Strip(list(part.render(self.app.console, end="")), part.cell_len))
        return out or [Strip([])]

    def _rewrap(self, width: int) -> None:
        if width != self._width and width > 0:
            self._width = width
            self._rows, self._counts = [], deque()
            for line in self.source:
                rows = self._wrap(line, width)
                self._rows.extend(rows)
                self._counts.append(len(rows))

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        self._rewrap(width)
        return len(self._rows) + self.newline

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        self._rewrap(width)
        blank = Style(bgcolor=self.rich_style.bgcolor)
        if y < len(self._rows):
            row = self._rows[y].apply_style(self.rich_style)
        elif y == len(self._rows) and self.newline:  # the text's last newline
            row = Strip([Segment("", self.rich_style)])
        else:
            return Strip.blank(width, blank)
        return row.extend_cell_length(width, blank)


class Transcript(VerticalScroll):
    """Append-only: ``started``, ``output`` and ``finished`` follow the runner's events."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.log_lines = LineLog(id="transcript-text")
        self._placeholder = False
        self._pending = False

    def compose(self):  # type: ignore[override]
        yield self.log_lines

    @property
    def text(self) -> Text:
        """Everything shown, one Text (for tests and copying)."""
        lines = self.log_lines
        end = Text("\n" if lines.newline else "")
        return Text("\n").join(lines.source) + end

    @property
    def untouched(self) -> bool:
        """Nothing but the placeholder: no command has run since the last clear."""
        return self._placeholder

    def clear(self, placeholder: str = "") -> None:
        self.log_lines.reset()
        self._placeholder = False
        if placeholder:
            self.log_lines.add(_span(placeholder, "dim italic"))
            self.log_lines.newline = False
            self._placeholder = True
        self._refresh()

    def _line(self, line: Text) -> None:
        if self._placeholder:
            self.log_lines.reset()
            self._placeholder = False
        self.log_lines.add(line)

    def started(self, command: str, where: str = "") -> None:
        prefix = f"[{where}] " if where else ""
        for i, line in enumerate(command.rstrip().splitlines() or [""]):
            text = Text()
            text.append(prefix + ("$ " if i == 0 else "> "), style="bold cyan")
            text.append(line, style="bold")
            self._line(text)
        self._refresh()

    def output(self, text: str, stream: str = "stdout") -> None:
        """A command's output: its colours kept (ANSI), stderr in red."""
        style = "red" if stream == "stderr" else ""
        body = text[:-1] if text.endswith("\n") else text
        for line in body.split("\n"):
            self._line(Text.from_ansi(line, style=style) if "\x1b" in line else _span(line, style))
        if not self._pending:  # many lines in a burst: lay out at most every 50 ms
            self._pending = True
            self.set_timer(0.05, self._refresh)

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
        self._refresh()

    def note(self, text: str, style: str = "") -> None:
        for line in text.rstrip().split("\n"):
            self._line(_span(line, style))
        self._refresh()

    def _refresh(self) -> None:
        self._pending = False
        self.log_lines.refresh(layout=True)
        self.call_after_refresh(self.scroll_end, animate=False)
