"""A panel that says when it holds more than it shows: "▼ 12 more — z" in its border.

Mixed into the scrolling panels (the explanation, the transcript, each view). The
hint follows the panel's scroll position, its content's size and its own size
(Textual's reactives ``scroll_y`` and ``virtual_size``, and the resize event); it
names the zoom key, which shows the whole panel.
"""

from __future__ import annotations

from typing import Any

from lab.tui.strings import s


def more_line(above: int, below: int, lang: str) -> str:
    """The border's hint for *above* rows hidden above and *below* hidden below ('' if none)."""
    more = s("panel.more", lang)
    if below > 0:
        return f"▼ {below} {more} — z"
    if above > 0:
        return f"▲ {above} {more} — z"
    return ""


class MoreHint:
    """For a scrolling widget: keeps ``border_subtitle`` saying what is out of sight."""

    ALLOW_MAXIMIZE = True  # z fills the screen with it (Textual's containers say no)
    hidden_rows: tuple[int, int] = (0, 0)  # (above, below), as last shown

    def update_more(self) -> None:
        w: Any = self
        if not w.is_mounted:
            return
        above = round(w.scroll_y)
        below = max(0, round(w.max_scroll_y - w.scroll_y))
        if (above, below) == self.hidden_rows and w.border_subtitle is not None:
            return
        self.hidden_rows = (above, below)
        w.border_subtitle = more_line(above, below, getattr(w.app, "lang", "en"))

    def watch_scroll_y(self, old: float, new: float) -> None:
        super().watch_scroll_y(old, new)  # type: ignore[misc]
        self.update_more()

    def watch_virtual_size(self, _size: Any) -> None:
        self.call_after_refresh(self.update_more)  # type: ignore[attr-defined]

    def on_resize(self) -> None:
        self.call_after_refresh(self.update_more)  # type: ignore[attr-defined]
