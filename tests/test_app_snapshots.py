"""Snapshot tests (pytest-textual-snapshot) of each screen and each view widget, with fixed
data: a fixed lesson, fixed doctor checks, a scripted runner, fixed view data — nothing
that depends on this machine. Update with: pytest tests/test_app_snapshots.py --snapshot-update
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_helpers import OK_CHECKS, ScriptedSession, fixed_lesson, fixed_views
from textual.app import App, ComposeResult

from lab.tui import engine
from lab.tui.app import ShikumiApp
from lab.tui.widgets.view_panel import ViewPanel

TCSS = Path(__file__).resolve().parent.parent / "lab" / "tui" / "app.tcss"


def fixed_app(home: Path, lang: str = "en", open_lesson: bool = True) -> ShikumiApp:
    lesson = fixed_lesson()
    broken = engine.Entry(Path("/nonexistent/04-broken"), None, [])
    other = fixed_lesson()
    other.id, other.part, other.title = "07-chroot", "Building a container", "chroot"
    other.requires = ["docker"]
    entries = [engine.Entry(lesson.path, lesson), engine.Entry(Path("/x/07-chroot"), other), broken]
    app = ShikumiApp(
        home,
        lang,
        dirs=[],
        run_doctor=False,
        entries=entries,
        lesson=lesson if open_lesson else None,
    )
    app.checks = list(OK_CHECKS)
    app.session_factory = ScriptedSession
    return app


async def run_step(pilot) -> None:
    await pilot.press("r")
    for _ in range(100):
        await pilot.pause(0.02)
        if pilot.app.screen.running is None:
            break
    await pilot.pause(0.1)


def test_lesson_list(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path, open_lesson=False), terminal_size=(120, 40))


def test_lesson_list_unavailable_detail(snap_compare, tmp_path):
    assert snap_compare(
        fixed_app(tmp_path, open_lesson=False), press=["down"], terminal_size=(120, 40)
    )


def test_lesson_screen_before_running(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path), terminal_size=(120, 40))


def test_lesson_screen_after_running(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path), run_before=run_step, terminal_size=(120, 40))


def test_lesson_screen_small_terminal(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path), run_before=run_step, terminal_size=(80, 24))


def test_lesson_screen_big_mode(snap_compare, tmp_path):
    async def big(pilot) -> None:
        await pilot.press("b")
        await run_step(pilot)

    assert snap_compare(fixed_app(tmp_path), run_before=big, terminal_size=(120, 40))


def test_lesson_screen_japanese_with_hint_and_solution(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path, lang="ja"), press=["h", "s"], terminal_size=(120, 40))


def test_lesson_screen_light_theme(snap_compare, tmp_path):
    assert snap_compare(
        fixed_app(tmp_path), run_before=run_step, press=["d"], terminal_size=(120, 40)
    )


def test_help_screen(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path), press=["question_mark"], terminal_size=(120, 40))


def test_jump_screen(snap_compare, tmp_path):
    assert snap_compare(fixed_app(tmp_path), press=["g"], terminal_size=(120, 40))


class ViewApp(App):
    """One view widget, as the bench frames it, with fixed data."""

    CSS_PATH = TCSS

    def __init__(self, name: str) -> None:
        super().__init__()
        self.view_name = name

    def compose(self) -> ComposeResult:
        yield ViewPanel(self.view_name, classes="view")

    def on_mount(self) -> None:
        self.query_one(ViewPanel).show(fixed_views()[self.view_name], "en")


@pytest.mark.parametrize(
    "name", ["output", "table", "tree", "trees", "diff", "proctree", "compare"]
)
def test_view_widget(snap_compare, name):
    assert snap_compare(ViewApp(name), terminal_size=(80, 16))


def test_view_widget_error(snap_compare):
    from lab.lesson.model import ViewResult

    class ErrorApp(ViewApp):
        def on_mount(self) -> None:
            self.query_one(ViewPanel).show(
                ViewResult("tree", {}, None, "no such directory: /x"), "en"
            )

    assert snap_compare(ErrorApp("tree"), terminal_size=(60, 6))
