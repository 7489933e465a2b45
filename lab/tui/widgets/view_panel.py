"""A view's widget: the same Rich rendering headless play prints, in a panel.

The view module (``lab.views.get(name)``) owns the drawing, including the
highlighting of differences; this widget only frames it, so the app and
``shikumi play`` always show the same thing.
"""

from __future__ import annotations

from typing import Any

from rich.console import RenderableType
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from lab.tui import cjk
from lab.tui.widgets.more import MoreHint
from lab.views.words import view_name

cjk.install()  # Japanese in views breaks between characters (Rich wraps only at spaces)


def render_view(view: Any, lang: str) -> RenderableType:
    """The view's Rich renderable; a plain message when it cannot be drawn."""
    if getattr(view, "error", ""):
        return Text(f"✗ {view.error}", style="bold red")
    try:
        from lab import views

        module = views.get(view.name)
        return module.render(view.data, lang)
    except Exception as e:  # a broken view must not take the app down
        return Text(
            f"✗ the {view.name} view could not be drawn: {type(e).__name__}: {e}", style="bold red"
        )


class ViewPanel(MoreHint, VerticalScroll):
    """One view of the step. ``show(view_result, lang)`` draws it; before that a placeholder."""

    def __init__(self, name: str, placeholder: str = "", lang: str = "en", **kw: Any) -> None:
        super().__init__(**kw)
        self.view_name = name
        self.view: Any = None
        self._lang = "en"
        self.placeholder = placeholder
        self.border_title = view_name(name, lang)

    def compose(self):  # type: ignore[override]
        if self.view is not None:  # shown before it was mounted (a step's earlier result)
            yield Static(render_view(self.view, self._lang), classes="view-body")
        else:
            yield Static(Text(self.placeholder, style="dim italic"), classes="view-body")

    def show(self, view: Any, lang: str) -> None:
        self.view, self._lang = view, lang
        self.border_title = view_name(self.view_name, lang)  # in the learner's language
        self.set_class(bool(getattr(view, "error", "")), "-error")
        body = self.query(Static)
        if body:
            body.first().update(render_view(view, lang))

    def relang(self, lang: str) -> None:
        if self.view is not None:
            self.show(self.view, lang)
        else:  # not shown yet: its name follows the language all the same
            self._lang = lang
            self.border_title = view_name(self.view_name, lang)
