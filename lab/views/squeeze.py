"""Lines of command output in a cell narrower than they are.

``/proc/PID/status`` pads its fields with tabs, ``uid_map`` with runs of spaces,
``ls -l`` and ``ps`` with columns of blanks. In a side-by-side cell such a line
wraps on its padding and the number the learner is looking for lands on the next
line, cut off from its field name (``Uid:    1001    1001`` / ``1001    1001``).
:class:`Squeeze` draws each line as printed when it fits the cell, and only a
line wider than the cell has its runs of blanks cut to one space (``Uid: 1001
1001 1001 1001``) before it wraps; no character other than a blank is dropped.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, RenderResult
from rich.measure import Measurement
from rich.text import Text

TAB = 8
_BLANKS = re.compile(r"[ \t]+")


def squeezed(line: str) -> str:
    """*line* with its leading and trailing blanks dropped and every run of blanks
    inside it one space."""
    return _BLANKS.sub(" ", line.strip(" \t"))


def fit(line: str, width: int) -> str:
    """*line* (tabs expanded) as printed if it is at most *width* cells wide, else squeezed."""
    shown = line.expandtabs(TAB)
    return shown if cell_len(shown) <= width else squeezed(line)


class Squeeze:
    """A cell of output lines, each with its own style (``""`` for none)."""

    def __init__(self, lines: Sequence[tuple[str, str]], style: str = "") -> None:
        self.lines = list(lines)
        self.style = style

    def _words(self) -> Iterator[str]:
        for line, _ in self.lines:
            yield from squeezed(line).split(" ")

    def __rich_measure__(self, console: Console, options: ConsoleOptions) -> Measurement:
        widest = max((cell_len(ln.expandtabs(TAB)) for ln, _ in self.lines), default=0)
        word = max((cell_len(wd) for wd in self._words()), default=0)
        return Measurement(min(word, widest), widest).clamp(None, options.max_width)

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        text = Text(style=self.style, overflow="fold")
        for i, (line, style) in enumerate(self.lines):
            if i:
                text.append("\n")
            text.append(fit(line, options.max_width), style=style)
        yield text
