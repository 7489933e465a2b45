"""Pilot tests of the app: navigation, running a step with the real runner, try it
yourself, reset, the language toggle, quitting mid-step, requirements, --watch."""

from __future__ import annotations

import asyncio
import os
import shlex
import subprocess
import time
from pathlib import Path

import pytest
from test_app_helpers import OK_CHECKS, ScriptedSession, fixed_lesson, write_lessons

from lab.errors import LabError
from lab.lesson.progress import Progress
from lab.safety import procs
from lab.tui.app import ShikumiApp
from lab.tui.screens.confirm import ConfirmScreen
from lab.tui.screens.lesson import LessonScreen
from lab.tui.screens.lesson_list import LessonListScreen
from lab.tui.widgets.bench import Bench
from lab.tui.widgets.view_panel import ViewPanel

SIZE = (120, 40)


@pytest.fixture
def lab_dirs(tmp_path: Path) -> tuple[Path, Path]:
    lessons = write_lessons(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    return lessons, home


def make_app(lab_dirs: tuple[Path, Path], **kw) -> ShikumiApp:
    lessons, home = lab_dirs
    app = ShikumiApp(home, kw.pop("lang", "en"), dirs=[lessons], run_doctor=False, **kw)
    app.checks = list(OK_CHECKS)
    return app


async def wait_for(pilot, cond, timeout: float = 15.0) -> None:
    end = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > end:
            raise AssertionError("timed out waiting for the app")
        await pilot.pause(0.05)


def footer_labels(screen) -> list[str]:
    """What the footer shows: each key's label as drawn."""
    from textual.widgets import Footer

    footer = screen.query_one(Footer)
    return [str(key.render()) for key in footer.children]


def transcript_text(app: ShikumiApp) -> str:
    return app.screen.query_one(Bench).transcript.text.plain


def status_text(app: ShikumiApp) -> str:
    return str(app.screen.query_one("#status").render())


async def lessons_read(pilot) -> None:
    """The app reads the lessons in a worker after its first frame: wait for it."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


async def open_demo(pilot) -> LessonScreen:
    await lessons_read(pilot)
    await pilot.press("enter")
    await wait_for(pilot, lambda: isinstance(pilot.app.screen, LessonScreen))
    await pilot.pause()
    return pilot.app.screen


async def answer_deps(pilot, only: bool = True) -> None:
    await pilot.pause()
    if isinstance(pilot.app.screen, ConfirmScreen):
        await pilot.press(*(("tab", "enter") if only else ("y",)))
        await pilot.pause()


async def run_and_wait(pilot, screen: LessonScreen, only: bool = True) -> None:
    """Press r; a step whose earlier steps did not run asks first: *only* answers
    "only this step" (Tab to its button, Enter), else "run them first" (y)."""
    await pilot.press("r")
    await answer_deps(pilot, only)
    await wait_for(pilot, lambda: screen.running is None and not screen.chain)
    await pilot.pause()


def journal_files(home: Path) -> list[Path]:
    return list((home / "journal").glob("*.jsonl")) if (home / "journal").exists() else []


async def test_list_groups_lessons_and_navigates(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        await lessons_read(pilot)
        screen = app.screen
        assert isinstance(screen, LessonListScreen)
        ol = screen.query_one("#lessons")
        prompts = [str(ol.get_option_at_index(i).prompt) for i in range(ol.option_count)]
        assert prompts[0] == "The host"  # the part heading
        assert any("A demo lesson" in p for p in prompts)
        lesson = await open_demo(pilot)
        assert lesson.index == 0 and "Step 1/3" in lesson.sub_title
        await pilot.press("n")
        assert lesson.index == 1
        await pilot.press("right")
        assert lesson.index == 2
        await pilot.press("n")  # the last step: stays, says so
        assert lesson.index == 2 and "last step" in status_text(app)
        await pilot.press("p", "1")
        assert lesson.index == 0
        await pilot.press("g")
        await pilot.pause()
        await pilot.press("down", "down", "enter")
        await pilot.pause()
        assert app.screen is lesson and lesson.index == 2
        await pilot.press("escape")
        await wait_for(pilot, lambda: isinstance(app.screen, LessonListScreen))
    assert journal_files(lab_dirs[1]) == []


async def test_run_step_with_the_real_runner(lab_dirs):
    _lessons, home = lab_dirs
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        await run_and_wait(pilot, screen)
        text = transcript_text(app)
        assert "$ echo hello > greeting.txt" in text and "made greeting.txt" in text
        assert "✓ exit 0" in text
        assert screen.statuses["make-file"] == "passed"
        panel = screen.query_one(ViewPanel)
        assert panel.view is not None and panel.view.error == ""
        assert "greeting.txt" in [n.name for n in panel.view.data.root.children]
        assert "passed" in status_text(app)
        assert "greeting.txt exists" in screen.bench.checks_shown
        assert (home / "work" / "01-demo" / "greeting.txt").exists()
    # progress persisted, and quitting cleaned up: the work dir and the journal are gone
    assert "make-file" in Progress.load(home).done("01-demo")
    assert not (home / "work" / "01-demo").exists()
    assert journal_files(home) == []


async def test_failing_step_shows_stderr_and_what_next(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        await pilot.press("3")
        await run_and_wait(pilot, screen)
        text = transcript_text(app)
        assert "oops" in text and "exit 3" in text
        assert screen.statuses["fails"] == "failed"
        assert "press r to run it again" in status_text(app)
        assert "✗" in screen.query_one("#outline").get_option_at_index(2).prompt.plain


async def test_hints_one_per_press_and_solution(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        await pilot.press("2", "h")
        assert screen.hints_shown[1] == 1
        await pilot.press("h", "h")  # two hints only
        assert screen.hints_shown[1] == 2
        await pilot.press("s")
        assert 1 in screen.solution_shown
        await pilot.press("S")  # run with the solution: touch x, then the check passes
        await answer_deps(pilot)
        await wait_for(pilot, lambda: screen.running is None and "your-turn" in screen.statuses)
        assert screen.statuses["your-turn"] == "passed"


async def test_try_it_yourself_with_a_scripted_shell(lab_dirs):
    """The real runner.shell() argv runs, fed a script on stdin instead of a person.

    A headless test app cannot suspend (App.suspend raises SuspendNotSupported
    under run_test), so the test replaces LessonScreen.launch_shell — the one
    method that suspends — with a run of the same argv and scripted input.
    """
    _lessons, home = lab_dirs
    app = make_app(lab_dirs)
    ran: list[list[str]] = []

    def scripted_shell(argv: list[str]) -> int:
        ran.append(argv)
        return subprocess.run(
            argv, input="touch x\nexit\n", text=True, capture_output=True
        ).returncode

    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        screen.launch_shell = scripted_shell
        await pilot.press("2", "t")
        await wait_for(pilot, lambda: screen.statuses.get("your-turn") == "passed")
        assert ran and "script" in ran[0]  # the session is recorded for the checks
        assert shlex.split(ran[0][ran[0].index("--command") + 1])[0].endswith("bash")
        assert "every check passes" in status_text(app)
        assert "the file x exists" in screen.bench.checks_shown
        # a failing try: the check says why
        (home / "work" / "01-demo" / "x").unlink()
        screen.launch_shell = lambda argv: 0
        await pilot.press("t")
        await wait_for(pilot, lambda: "not yet" in status_text(app))
        assert "the file x exists" in status_text(app)
    assert journal_files(home) == []


async def test_reset_cleans_up_and_starts_again(lab_dirs):
    _lessons, home = lab_dirs
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        await run_and_wait(pilot, screen)
        await pilot.press("n")
        work = home / "work" / "01-demo"
        assert (work / "greeting.txt").exists()
        await pilot.press("R")  # progress would be lost: it asks; n keeps everything
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        assert "Reset this lesson?" in str(app.screen.query_one(".dialog-title").render())
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.screen is screen and screen.statuses["make-file"] == "passed"
        assert (work / "greeting.txt").exists()
        await pilot.press("R", "y")
        await wait_for(pilot, lambda: "reset" in status_text(app))
        assert screen.index == 0 and screen.statuses == {}
        assert not work.exists()
        assert Progress.load(home).done("01-demo") == set()
        await run_and_wait(pilot, screen)  # the new session works
        assert screen.statuses["make-file"] == "passed"


async def test_language_toggle(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        assert "A demo lesson" in screen.title
        await pilot.press("l")
        await pilot.pause()
        assert app.lang == "ja"
        assert "デモのレッスン" in screen.title and "ステップ 1/3" in screen.sub_title
        outline = screen.query_one("#outline")
        assert "ファイルを作る" in outline.get_option_at_index(0).prompt.plain
        await pilot.pause(0.1)
        shown = footer_labels(screen)
        assert "r 実行" in shown and "q 終了" in shown and "z 最大化" in shown, shown
        assert not any("Run" in label for label in shown), shown
        await pilot.press("l")
        await pilot.pause()
        assert app.lang == "en" and "A demo lesson" in screen.title
        await pilot.pause(0.1)
        assert "r Run" in footer_labels(screen)


async def test_resume_at_first_unfinished_step(lab_dirs):
    _lessons, home = lab_dirs
    p = Progress.load(home)
    p.mark("01-demo", "make-file", "passed")
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        assert screen.index == 1
        assert "✓" in screen.query_one("#outline").get_option_at_index(0).prompt.plain


async def test_open_at_step(lab_dirs):
    from lab.tui import engine

    lessons, _home = lab_dirs
    lesson, _problems = engine.load(lessons / "01-demo", "en")
    app = make_app(lab_dirs, lesson=lesson, step=3)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        assert isinstance(app.screen, LessonScreen) and app.screen.index == 2


async def test_quit_mid_step_cancels_and_cleans_up(lab_dirs):
    _lessons, home = lab_dirs
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        await lessons_read(pilot)
        await pilot.press("down")  # from 01-demo to 02-slow
        screen = await open_demo(pilot)
        assert screen.lesson.id == "02-slow"
        await pilot.press("r")
        await wait_for(pilot, lambda: "start" in transcript_text(app))

        def step_sleeps() -> list[tuple[int, int | None]]:
            """The step's own `sleep 30` (not its bash -c wrapper): by its argv and
            the lab's environment for this home."""
            found = []
            for pid in filter(str.isdigit, os.listdir("/proc")):
                try:
                    argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")[:-1]
                    env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
                except OSError:
                    continue
                if argv == [b"sleep", b"30"] and f"SHIKUMI_HOME={home}".encode() in env:
                    found.append((int(pid), procs.starttime(int(pid))))
            return found

        await wait_for(pilot, step_sleeps)
        sleeps = step_sleeps()
        await pilot.press("q")  # a step runs: quitting asks first; n goes on
        await pilot.pause()
        assert isinstance(app.screen, ConfirmScreen)
        question = str(app.screen.query_one(".dialog-title").render())
        assert "Quit?" in question and "A step is running" in question
        await pilot.press("n")
        await pilot.pause(0.2)
        assert app.is_running and app.screen is screen and screen.running is not None
        t0 = time.monotonic()
        await pilot.press("q", "y")
        await wait_for(pilot, lambda: not app.is_running, timeout=20)
        assert time.monotonic() - t0 < 10
    assert journal_files(home) == []
    assert not (home / "work" / "02-slow").exists()
    assert [p for p, start in sleeps if procs.alive(p, start)] == [], "the step's sleep survived"


async def test_escape_cancels_a_running_step(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        await lessons_read(pilot)
        await pilot.press("down")
        screen = await open_demo(pilot)
        await pilot.press("r")
        await wait_for(pilot, lambda: "start" in transcript_text(app))
        await pilot.press("n")  # busy: stays
        assert screen.index == 0
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.running is None)
        assert screen.statuses["wait"] == "cancelled"
        assert isinstance(app.screen, LessonScreen)
        await pilot.pause(0.1)
        # the outline and the checks say cancelled, never ✓
        mark = screen.query_one("#outline").get_option_at_index(0).prompt.plain
        assert "⊘" in mark and "✓" not in mark, mark
        checks = screen.bench.checks_shown
        assert "cancelled" in checks and "✓" not in checks, checks
        assert "cancelled" in status_text(app)


async def test_missing_requirement_says_what_and_how(lab_dirs):
    lessons, _home = lab_dirs
    text = (lessons / "01-demo" / "lesson.md").read_text()
    (lessons / "01-demo" / "lesson.md").write_text(
        text.replace('part = "The host"', 'part = "The host"\nrequires = ["docker"]')
    )
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        await lessons_read(pilot)
        detail = str(app.screen.query_one("#detail-text").render())
        assert "docker.daemon" in detail and "apt-get install docker.io" in detail
        screen = await open_demo(pilot)
        assert "docker.daemon" in transcript_text(app)
        # the runner skips it with the reason; the app shows it, no traceback
        screen.session.runner._doctor = list(OK_CHECKS)
        await run_and_wait(pilot, screen)
        assert screen.statuses["make-file"] == "skipped"
        assert "docker" in status_text(app)


async def test_a_session_that_cannot_open_says_why(lab_dirs):
    app = make_app(lab_dirs)

    def refuse(lesson, on_event):
        raise LabError("cannot write the lab home /var/lib/shikumi", "run as root")

    app.session_factory = refuse
    async with app.run_test(size=SIZE) as pilot:
        await open_demo(pilot)
        assert "run as root" in transcript_text(app)
        await pilot.press("r", "t")
        assert "run as root" in status_text(app)
        await pilot.press("q")


async def test_watch_reloads_the_lesson(lab_dirs):
    from lab.tui import engine

    lessons, _home = lab_dirs
    lesson, _ = engine.load(lessons / "01-demo", "en")
    app = make_app(lab_dirs, lesson=lesson, watch=True)
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        path = lessons / "01-demo" / "lesson.md"
        path.write_text(path.read_text().replace("A demo lesson", "A renamed lesson"))
        os.utime(path, (time.time() + 5, time.time() + 5))
        await wait_for(pilot, lambda: "A renamed lesson" in screen.title, timeout=5)
        # the session reopens in a worker ("opening the lesson…"), then says it reloaded
        await wait_for(pilot, lambda: "reloaded" in status_text(app), timeout=5)
        # a broken save keeps the last good version
        path.write_text("+++\ntitle = \n+++\n")
        os.utime(path, (time.time() + 10, time.time() + 10))
        await asyncio.sleep(1.5)
        assert "A renamed lesson" in screen.title


async def test_command_palette_has_the_lesson_actions(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        titles = [c.title for c in app.get_system_commands(screen)]
        for t in ("Run", "Next", "Hint", "Solution", "Try it", "Reset", "日本語", "Help"):
            assert t in titles
        await pilot.press("ctrl+p")
        await pilot.pause()
        await pilot.press(*"Hint", "enter")
        await pilot.pause()
        assert app.screen is screen


async def test_help_and_big_mode(lab_dirs):
    app = make_app(lab_dirs, entries=None)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        await pilot.press("question_mark")
        await pilot.pause()
        assert type(app.screen).__name__ == "HelpScreen"
        await pilot.press("escape")
        await pilot.press("b")
        await pilot.pause()
        assert screen.has_class("-big") and not screen.query_one("#outline").display


async def test_scripted_session_events_fill_the_bench(tmp_path):
    app = ShikumiApp(tmp_path, "en", dirs=[tmp_path], run_doctor=False, lesson=fixed_lesson())
    app.session_factory = ScriptedSession
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        await run_and_wait(pilot, screen)
        panels = list(screen.query(ViewPanel))
        assert [p.view.name for p in panels] == ["compare", "table"]
        await pilot.press("q")
    assert screen.session is None


def test_open_unknown_lesson_is_one_clear_line(tmp_path, monkeypatch):
    from lab.cli import main

    lessons = write_lessons(tmp_path)
    monkeypatch.setenv("SHIKUMI_LESSONS", str(lessons))
    monkeypatch.setenv("SHIKUMI_HOME", str(tmp_path / "home"))
    assert main(["open", "99"]) == 1
    assert main(["open", "01", "--step", "9"]) == 1


async def test_a_step_waiting_for_the_learner_is_not_a_failure(lab_dirs):
    app = make_app(lab_dirs)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_demo(pilot)
        await pilot.press("2")
        await run_and_wait(pilot, screen)  # its check wants the learner's file x
        assert "your-turn" not in screen.statuses
        assert "your turn" in status_text(app)
