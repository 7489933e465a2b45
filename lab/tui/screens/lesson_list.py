"""The lesson list: lessons grouped by part of the course, with progress and availability.

Availability comes from ``doctor``, probed in a worker after the list is on
screen, so the list is interactive at once and fills in "ready / needs …" a
moment later. The highlighted lesson's details (and, if the machine lacks
something, what and how to fix it) show on the right. The screen follows the
app's ``lang``.
"""

from __future__ import annotations

from typing import Any

from rich.cells import cell_len, set_cell_size
from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Header, OptionList, Static
from textual.widgets.option_list import Option

from lab.lesson.catalog import part_name
from lab.tui import applog, commands, engine
from lab.tui.strings import s
from lab.tui.widgets.footer import LabFooter


def _cells(text: str) -> int:
    return cell_len(text)


def _fit(text: str, width: int) -> str:
    """*text* cut to *width* terminal cells, with "…" (a Japanese character takes two)."""
    if cell_len(text) <= width:
        return text
    return set_cell_size(text, width - 1).rstrip() + "…"


def part_label(part: str, lang: str, dirs: list[Any] | None = None) -> str:
    """A course part's name in *lang* (lesson data: parts.toml beside the lessons)."""
    return part_name(part, lang, dirs)


def group_by_part(entries: list[engine.Entry], other: str) -> list[tuple[str, list[engine.Entry]]]:
    """Parts in course order (the order of their first lesson), lessons in id order."""
    parts: dict[str, list[engine.Entry]] = {}
    for e in sorted(entries, key=lambda e: (e.lesson is None, e.id)):
        parts.setdefault(e.part or other, []).append(e)
    return list(parts.items())


@applog.guarded
class LessonListScreen(Screen):
    BINDINGS = commands.bindings("list")

    def __init__(self, entries: list[engine.Entry] | None, where: str = "") -> None:
        super().__init__()
        self.reading = entries is None  # the app reads the lessons after the first frame
        self.entries = entries or []
        self.where = where

    def set_entries(self, entries: list[engine.Entry]) -> None:
        self.reading = False
        self.entries = entries
        self.refresh_entries()

    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⚙")
        with Horizontal(id="list-body"):
            yield OptionList(id="lessons")
            with VerticalScroll(id="detail"):
                yield Static(id="detail-text")
        yield LabFooter()

    @property
    def app_(self) -> Any:
        return self.app

    @property
    def lang(self) -> str:
        return self.app_.lang

    def on_mount(self) -> None:
        self.refresh_entries()
        self.query_one("#lessons", OptionList).focus()
        self.watch(self.app, "lang", self.relang, init=False)

    # -- rows ----------------------------------------------------------------------
    def availability(self, entry: engine.Entry) -> tuple[str, str, list[Any]]:
        """(mark, style, missing checks) for *entry* (checking… while doctor runs)."""
        lang = self.lang
        if entry.lesson is None:
            return ("✗ " + s("list.broken", lang), "bold red", [])
        checks = self.app_.checks
        if checks is None:
            return ("… ", "dim", [])
        lacking = engine.missing(entry.lesson.requires, checks)
        if lacking:
            names = ", ".join(c.name for c in lacking)
            return (f"– {s('list.unavailable', lang)} {names}", "yellow", lacking)
        return ("✓ " + s("list.available", lang), "green", [])

    def row(self, entry: engine.Entry, width: int = 30) -> Text:
        """`` 05  Shared libraries      ●●○○○  ✓ ready`` (title padded to *width*)."""
        lang = self.lang
        text = Text(no_wrap=True, overflow="ellipsis")
        if entry.lesson is None:
            text.append(f"    {entry.id:<{width}}  ", style="red")
            text.append("✗ " + s("list.broken", lang), style="red")
            return text
        lesson = entry.lesson
        done = len(self.app_.progress.done(lesson) & {st.id for st in lesson.steps})
        total = len(lesson.steps)
        bar = "●" * done + "○" * (total - done) if total <= 8 else f"{done}/{total}"
        title = lesson.title_in(lang)
        title = _fit(title, width)
        pad = width - _cells(title)
        text.append(f" {lesson.number:>2} ", style="bold cyan")
        text.append(
            " " + title + " " * max(0, pad), style="green" if total and done == total else "bold"
        )
        text.append(f"  {bar:<8} ", style="green" if total and done == total else "cyan")
        mark, style, _ = self.availability(entry)
        text.append(" " + mark, style=style)
        return text

    def refresh_entries(self) -> None:
        """Redraw every row (progress and availability may have changed)."""
        lang = self.lang
        self.title = s("list.title", lang)
        self.sub_title = s("app.subtitle", lang)
        ol = self.query_one("#lessons", OptionList)
        keep = ol.highlighted
        ol.clear_options()
        if not self.entries:
            none = Text(f"{s('list.none', lang)} {self.where}", style="yellow")
            ol.add_option(
                Option(Text(s("list.loading", lang)) if self.reading else none, disabled=True)
            )
            self.show_detail(None)
            return
        options: list[Option] = []
        titles = [e.lesson.title_in(lang) if e.lesson else e.id for e in self.entries]
        width = min(34, max(_cells(x) for x in titles))
        for part, entries in group_by_part(self.entries, s("list.other", lang)):
            options.append(
                Option(
                    Text(part_label(part, lang, self.app_.dirs), style="bold underline"),
                    disabled=True,
                )
            )
            options += [Option(self.row(e, width), id=e.id) for e in entries]
        ol.add_options(options)
        first = next(i for i, o in enumerate(options) if not o.disabled)
        ol.highlighted = keep if keep is not None and not options[keep].disabled else first
        self.show_detail(self.entry_at(ol.highlighted))

    def entry_at(self, index: int | None) -> engine.Entry | None:
        if index is None:
            return None
        ol = self.query_one("#lessons", OptionList)
        option_id = ol.get_option_at_index(index).id
        return next((e for e in self.entries if e.id == option_id), None)

    # -- detail --------------------------------------------------------------------
    def show_detail(self, entry: engine.Entry | None) -> None:
        widget = self.query_one("#detail-text", Static)
        if entry is None:
            widget.update("")
            return
        lang = self.lang
        if entry.lesson is None:
            lines = Text(f"{entry.folder}\n\n", style="bold")
            lines.append(s("list.broken", lang) + ":\n", style="bold red")
            for p in entry.problems[:12]:
                lines.append(f"  {p}\n", style="red")
            widget.update(lines)
            return
        lesson = entry.lesson
        done = self.app_.progress.done(lesson) & {st.id for st in lesson.steps}
        head = Text()
        head.append(f"{lesson.id}\n", style="dim")
        head.append(f"{lesson.title_in(lang)}\n\n", style="bold")
        if lesson.summary_in(lang):
            head.append(lesson.summary_in(lang).strip() + "\n\n")
        if lesson.slides:
            head.append(f"{s('list.slides', lang)} {lesson.slides}\n", style="dim")
        head.append(
            f"{len(done)}/{len(lesson.steps)} {s('list.steps', lang)} {s('list.done', lang)}\n\n"
        )
        for st in lesson.steps:
            mark = "✓" if st.id in done else "·"
            head.append(f"  {mark} ", style="green" if st.id in done else "dim")
            head.append(st.title_in(lang) + "\n")
        mark, style, lacking = self.availability(entry)
        avail = Text("\n")
        if lacking:
            avail.append(s("list.missing", lang) + "\n", style="bold yellow")
            for c in lacking:
                avail.append(f"  ✗ {c.name}: ", style="yellow")
                avail.append(f"{c.detail}\n")
                if c.fix:
                    avail.append(f"    {s('list.fix', lang)}: {c.fix}\n", style="cyan")
            avail.append(s("list.still", lang) + "\n", style="dim")
        elif self.app_.checks is None:
            avail.append(s("list.checking", lang) + "\n", style="dim italic")
        else:
            avail.append(mark + "\n", style=style)
        avail.append("\n" + s("list.open", lang), style="dim")
        head.append_text(avail)
        widget.update(head)

    def on_option_list_option_highlighted(self, event: OptionList.OptionHighlighted) -> None:
        self.show_detail(self.entry_at(event.option_index))

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.open_entry(self.entry_at(event.option_index))

    def action_open(self) -> None:
        ol = self.query_one("#lessons", OptionList)
        self.open_entry(self.entry_at(ol.highlighted))

    def open_entry(self, entry: engine.Entry | None) -> None:
        if entry is None:
            return
        if entry.lesson is None:
            self.app.notify(f"{entry.id}: {s('list.broken', self.lang)}", severity="error")
            return
        self.app_.open_lesson(entry.lesson)

    def relang(self, lang: str) -> None:
        self.refresh_entries()
