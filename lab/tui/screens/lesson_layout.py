"""The lesson screen's moving keys: steps (next, previous, jump), the outline, zoom,
scrolling, the panel shown, the folded explanation and big-screen mode. The layout itself is CSS (app.tcss) keyed on
the breakpoint classes set here by Textual from the terminal's size; this only moves
focus, toggles classes and asks Textual to maximize a panel.
"""

from __future__ import annotations

from typing import Any, ClassVar

from textual.reactive import var
from textual.widget import Widget
from textual.widgets import OptionList

from lab.tui.screens.lesson_session import SessionScreen
from lab.tui.strings import s

# Textual sets one class of each list from the screen's size (see app.tcss)
WIDTHS = [(0, "-narrow"), (100, "-medium"), (140, "-wide"), (180, "-xwide")]
HEIGHTS = [(0, "-short"), (30, "-mid"), (40, "-tall")]


class LayoutScreen(SessionScreen):
    HORIZONTAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = WIDTHS
    VERTICAL_BREAKPOINTS: ClassVar[list[tuple[int, str]] | None] = HEIGHTS
    # None: the outline shows when the width allows (CSS); True / False: `o` chose
    outline_forced: var[bool | None] = var(None)
    folded: var[bool] = var(False)  # after a run: the explanation shows title + commands

    explanation: Any
    bench: Any
    outline: Any

    def go(self, index: int) -> None:
        raise NotImplementedError

    # -- steps -------------------------------------------------------------------------
    def action_next(self) -> None:
        if self.index >= len(self.lesson.steps) - 1:
            self.set_status(s("status.last", self.lang))
            return
        self.go(self.index + 1)

    def action_previous(self) -> None:
        self.go(self.index - 1)

    def action_goto(self, number: int) -> None:
        if number <= len(self.lesson.steps):
            self.go(number - 1)

    def action_jump(self) -> None:
        from lab.tui.screens.jump import JumpScreen

        def chosen(index: int | None) -> None:
            if index is not None:
                self.go(index)

        self.app.push_screen(JumpScreen(self.lesson, self.statuses, self.index, self.lang), chosen)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.go(event.option_index)

    def watch_outline_forced(self, forced: bool | None) -> None:
        self.set_class(forced is True, "-outline-on")
        self.set_class(forced is False, "-outline-off")

    def action_outline(self) -> None:
        self.outline_forced = not self.outline.display

    def watch_folded(self, folded: bool) -> None:
        if self.is_mounted:
            self.explanation.folded = folded

    def action_explain(self) -> None:
        self.folded = not self.folded

    def set_big(self, big: bool) -> None:
        self.set_class(big, "-big")
        if big:
            self.bench.show_point()

    # -- panels ----------------------------------------------------------------------
    def _panel_of(self, widget: Widget | None) -> Widget | None:
        """The panel (explanation, outline, output, a view) *widget* is in."""
        mine = [self.explanation, self.outline, self.bench.checks, *self.bench.panels]
        node: Any = widget
        while node is not None and node is not self:
            if node in mine:
                return node
            node = node.parent
        return None

    def focused_panel(self) -> Widget:
        """The focused panel, else the one holding the step's point (results if any);
        the folded text (after a run) counts as no panel: the result is what z and PgDn
        are for then."""
        panel = self._panel_of(self.focused)
        folded_text = panel is self.explanation and self.folded
        if panel is not None and panel.display and not folded_text:
            return panel
        point = self.bench.point()
        return point if point.display else self.explanation

    def action_zoom(self) -> None:
        if self.maximized is not None:
            self.minimize()
            return
        panel = self.focused_panel()
        panel.focus()
        self.maximize(panel, container=False)

    def action_next_panel(self) -> None:
        self.bench.next_panel()

    def action_scroll_page(self, pages: int) -> None:
        panel: Any = self.focused_panel()
        if pages > 0:
            panel.scroll_page_down(animate=False)
        else:
            panel.scroll_page_up(animate=False)
