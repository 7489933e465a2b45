"""The lesson screen's layout with real steps: snapshots at 80×24, 120×36, 95×45 (beside
a shell pane) and big mode, and pilot tests that the step's point is on screen without
scrolling, that the text folds after a run, zoom, going back, and panels cycled.

The steps are real lesson steps (05/5: a long output and a compare that must show
`exit status 127`; 14/6: two wide compares of mount tables, no command; 09/4: the
three-column namespace table) whose results were recorded on a real machine
(tests/steps/record.py) and are replayed here, so nothing depends on this machine.
"""

from __future__ import annotations

import io
import threading
from pathlib import Path
from typing import Any

import pytest
from rich.console import Console
from steps import record
from test_app_helpers import OK_CHECKS

from lab.lesson.model import StepResult
from lab.tui import engine
from lab.tui.app import ShikumiApp
from lab.tui.screens.confirm import ConfirmScreen
from lab.tui.screens.predict import PredictScreen

LESSONS = Path(__file__).resolve().parent.parent / "lessons"
# lesson: (step, what must be on screen once it ran: the step's point)
POINTS = {
    "05-libraries": (5, "exit status 127"),
    "14-volumes": (6, "tmpfs /scratch"),
    "09-namespace-inodes": (4, "uts"),
}
SIZES = {"80x24": (80, 24), "120x36": (120, 36), "95x45": (95, 45)}
# where the point needs the zoom key: 14/6's mount tables at 80 columns wrap each mount
# line into three rows (the two-text-block compare); zoomed, the panel shows it whole
NEEDS_ZOOM = {("14-volumes", "80x24")}


class ReplayRunner:
    """Replays the recorded result of one step (events as the real runner sends them);
    any other step passes at once with nothing to show."""

    def __init__(self, lesson: Any, on_event: Any) -> None:
        from lab.lesson import runner

        self.r = runner
        self.lesson = lesson
        self.on_event = on_event
        self.lang = "en"
        self.number, _point = POINTS[lesson.id]
        self.recorded = record.load(lesson.id)

    def missing(self, step: Any) -> list[str]:
        return []

    def run_step(
        self, index: int, cancel: threading.Event | None = None, solution: bool = False
    ) -> StepResult:
        step = self.lesson.steps[index]
        if index != self.number - 1:
            return StepResult(step.id, "passed")
        r, res, send = self.r, self.recorded, self.on_event
        for i, a in enumerate(res.actions):
            send(r.ActionStarted(step.id, i, a.kind, a.command))
            for stream, text in (("stdout", a.stdout), ("stderr", a.stderr)):
                for line in text.splitlines():
                    send(r.Output(step.id, i, stream, line))
            send(r.ActionFinished(step.id, i, a))
        for v in res.views:
            send(r.ViewReady(step.id, v))
        for c in res.checks:
            send(r.CheckDone(step.id, c))
        return res

    def check_step(self, index: int) -> list[Any]:
        return list(self.recorded.checks)

    def shell(self, index: int) -> list[str]:
        return ["true"]

    def finish(self) -> None:
        pass


class ReplaySession:
    def __init__(self, lesson: Any, on_event: Any) -> None:
        self.runner = ReplayRunner(lesson, on_event)

    def close(self) -> None:
        self.runner.finish()


def lesson_app(home: Path, lesson_id: str, lang: str = "en") -> ShikumiApp:
    lesson, problems = engine.load(LESSONS / lesson_id, lang)
    assert lesson is not None and not problems, problems
    step, _point = POINTS[lesson_id]
    app = ShikumiApp(
        home,
        lang,
        dirs=[],
        run_doctor=False,
        entries=[engine.Entry(lesson.path, lesson)],
        lesson=lesson,
        step=step,
    )
    app.checks = list(OK_CHECKS)
    app.session_factory = ReplaySession
    return app


async def run_point(pilot, big: bool = False) -> None:
    """Press r on the step (answering "only this step" to the question about the earlier
    steps, and a wrong guess to its predict question if it has one: the longest reveal),
    and wait for its result."""
    app = pilot.app
    await app.workers.wait_for_complete()
    if big:
        await pilot.press("b")
    screen = app.screen
    await pilot.press("r")
    await pilot.pause()
    assert isinstance(app.screen, ConfirmScreen)  # the earlier steps did not run here
    await pilot.press("tab", "enter")
    await pilot.pause()
    if isinstance(app.screen, PredictScreen):
        wrong = next(i for i in (1, 2) if i - 1 != app.screen.prediction.answer)
        await pilot.press(str(wrong))
        await pilot.pause()
    await app.workers.wait_for_complete()
    await pilot.pause(0.2)
    assert screen.running is None


def screen_lines(app: ShikumiApp) -> list[str]:
    """The screen's text as drawn (what a learner sees), one string per row."""
    width, height = app.size
    console = Console(
        width=width, height=height, file=io.StringIO(), record=True, legacy_windows=False
    )
    console.print(app.screen._compositor.render_update(full=True))
    return console.export_text().splitlines()


def visible_in(app: ShikumiApp, widget: Any) -> str:
    """The text drawn inside *widget*'s region of the screen."""
    region = widget.region
    rows = screen_lines(app)[region.y : region.bottom]
    return "\n".join(row[region.x : region.right] for row in rows)


@pytest.mark.parametrize("lesson_id", list(POINTS))
@pytest.mark.parametrize("size", list(SIZES))
def test_lesson_screen_layout(snap_compare, tmp_path, lesson_id, size):
    assert snap_compare(
        lesson_app(tmp_path, lesson_id), run_before=run_point, terminal_size=SIZES[size]
    )


@pytest.mark.parametrize("lesson_id", list(POINTS))
def test_lesson_screen_big_mode_layout(snap_compare, tmp_path, lesson_id):
    async def big(pilot) -> None:
        await run_point(pilot, big=True)

    assert snap_compare(lesson_app(tmp_path, lesson_id), run_before=big, terminal_size=(120, 36))


@pytest.mark.parametrize("lesson_id", list(POINTS))
@pytest.mark.parametrize("size", [*SIZES, "big"])
async def test_the_point_is_on_screen_without_scrolling(tmp_path, lesson_id, size):
    _step, point = POINTS[lesson_id]
    app = lesson_app(tmp_path, lesson_id)
    async with app.run_test(size=SIZES.get(size, (120, 36))) as pilot:
        await run_point(pilot, big=size == "big")
        screen = app.screen
        panel = screen.bench.point()
        assert panel.display and panel.region.height >= 8, (size, panel.region)
        if (lesson_id, size) in NEEDS_ZOOM:
            assert point not in visible_in(app, panel)  # (when it fits, drop the entry)
            assert "more — z" in str(panel.border_subtitle)  # the panel says so
            await pilot.press("z")
            await pilot.pause(0.2)
            assert screen.maximized is panel
        assert point in visible_in(app, panel), "\n".join(screen_lines(app))
        if screen.maximized is not None:
            await pilot.press("escape")  # back from the zoom, not out of the lesson
            await pilot.pause(0.1)
            assert screen.maximized is None and app.screen is screen
        # after r the text folds to the step's title and its commands
        assert screen.explanation.has_class("-folded")
        assert "Step" in visible_in(app, screen.explanation)
