"""The transcript panel: each command the step ran, then its output as it streams in."""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

LIMIT = 200_000  # characters kept; older output is dropped (a runaway command must not eat memory)


class Transcript(VerticalScroll):
    """Append-only: ``started``, ``output`` and ``finished`` follow the runner's events."""

    def __init__(self, **kw: Any) -> None:
        super().__init__(**kw)
        self.text = Text()
        self._placeholder = False
        self._pending = False

    def compose(self):  # type: ignore[override]
        yield Static(id="transcript-text", markup=False)

    def clear(self, placeholder: str = "") -> None:
        self.text = Text(placeholder, style="dim italic") if placeholder else Text()
        self._placeholder = bool(placeholder)
        self._refresh()

    @property
    def untouched(self) -> bool:
        """Nothing but the placeholder: no command has run since the last clear."""
        return self._placeholder

    def _drop_placeholder(self) -> None:
        if self._placeholder:
            self.text = Text()
            self._placeholder = False

    def started(self, command: str, where: str = "") -> None:
        self._drop_placeholder()
        if self.text.plain and not self.text.plain.endswith("\n"):
            self.text.append("\n")
        prefix = f"[{where}] " if where else ""
        for i, line in enumerate(command.rstrip().splitlines() or [""]):
            self.text.append(prefix + ("$ " if i == 0 else "> "), style="bold cyan")
            self.text.append(line + "\n", style="bold")
        self._refresh()

    def output(self, text: str, stream: str = "stdout") -> None:
        self._drop_placeholder()
        self.text.append(text, style="red" if stream == "stderr" else "")
        if not self._pending:  # many lines in a burst: redraw at most every 50 ms
            self._pending = True
            self.set_timer(0.05, self._refresh)

    def finished(self, result: Any) -> None:
        if self.text.plain and not self.text.plain.endswith("\n"):
            self.text.append("\n")
        ok = getattr(result, "ok", True)
        bits = []
        if getattr(result, "exit", None) is not None:
            bits.append(f"exit {result.exit}")
        if getattr(result, "seconds", 0):
            bits.append(f"{result.seconds:.2f} s")
        if getattr(result, "note", "") and result.note != f"exited {getattr(result, 'exit', None)}":
            bits.append(result.note)
        self.text.append(
            ("✓ " if ok else "✗ ") + " · ".join(bits) + "\n", style="green" if ok else "bold red"
        )
        self._refresh()

    def note(self, text: str, style: str = "") -> None:
        self._drop_placeholder()
        if self.text.plain and not self.text.plain.endswith("\n"):
            self.text.append("\n")
        self.text.append(text.rstrip() + "\n", style=style)
        self._refresh()

    def _refresh(self) -> None:
        self._pending = False
        if len(self.text) > LIMIT:
            self.text = self.text[-LIMIT:]
        self.query_one(Static).update(self.text)
        self.scroll_end(animate=False)
