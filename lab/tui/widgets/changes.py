"""The "What changed" panel: after each command of the learner's shell, the kernel
state the step is about, as plain ``+``/``-`` lines (green added, red removed),
newest on top."""

from __future__ import annotations

import re
import time
from collections import deque
from typing import Any

from rich.text import Text
from textual.reactive import reactive
from textual.widgets import Static

from lab.tui.strings import s

KEEP = 200  # lines kept (older ones drop off the bottom)


class WhatChanged(Static):
    DEFAULT_CSS = """
    WhatChanged {
        height: 1fr;
        min-height: 5;
        max-height: 14;
        border: round $accent;
        border-title-color: $accent;
        padding: 0 1;
        overflow-y: auto;
    }
    WhatChanged.-narrow { max-height: 8; }
    """

    lang: reactive[str] = reactive("en")

    def __init__(self, lang: str = "en", home: str = "", **kw: Any) -> None:
        super().__init__("", **kw)
        self.home = home.rstrip("/")  # shown as $SHIKUMI_HOME: paths stay short
        # … where it is a whole path (not the start of a sibling's name:
        # /var/lib/shikumi-docker stays as it is)
        self._home_re = re.compile(re.escape(self.home) + r"(?=/|\s|$)") if self.home else None
        self._blocks: deque[tuple[str, list[Any]]] = deque()
        self.set_reactive(WhatChanged.lang, lang)
        self.count = 0

    def on_mount(self) -> None:
        self.border_title = s("practice.changed", self.lang)
        self.redraw()

    def watch_lang(self, lang: str) -> None:
        self.border_title = s("practice.changed", lang)
        self.redraw()

    def add(self, changes: list[Any], trigger: str) -> None:
        """One command's (or a background tick's) changes; nothing if there are none."""
        if not changes:
            return
        self.count += 1
        stamp = time.strftime("%H:%M:%S")
        self._blocks.appendleft((f"{stamp} {trigger}", list(changes)))
        while sum(len(c) + 1 for _, c in self._blocks) > KEEP and len(self._blocks) > 1:
            self._blocks.pop()
        self.redraw()

    def text(self) -> Text:
        out = Text()
        if not self._blocks:
            out.append(s("practice.nothing_yet", self.lang), "dim italic")
            return out
        for head, changes in self._blocks:
            out.append(f"— {head}\n", "dim")
            for c in changes:
                style = "green" if c.sign == "+" else "red"
                text = self.short(c.text)
                out.append(f"{c.sign} {c.kind}: {text}\n", style)
        out.rstrip()
        return out

    def short(self, text: str) -> str:
        """The home's path as $SHIKUMI_HOME, where it is a whole path."""
        return self._home_re.sub("$SHIKUMI_HOME", text) if self._home_re else text

    def redraw(self) -> None:
        self.update(self.text())
