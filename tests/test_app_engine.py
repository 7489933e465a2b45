"""Pilot tests of how the app drives one lesson session: one thing at a time, off the
event loop, cancellable, and every failure visible (one line on screen, the details in
$SHIKUMI_HOME/log/app.log).

- a run and a check started together are serialized; Reset during a check waits for it
- Esc cancels a running `sleep` step within 1 s: the step is `cancelled`, never ✓
- opening a session that must first clean up a dead one runs in a worker: the screen
  says so and keeps answering keys meanwhile
- a failing runner, a failing action handler, a failing doctor, a progress file that
  cannot be saved: each shows one line and is logged with its traceback
"""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import textwrap
import threading
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from test_app_helpers import OK_CHECKS, ScriptedRunner, fixed_lesson, write_lessons

from lab.lesson.loader import load_lesson
from lab.lesson.progress import Progress
from lab.safety import procs
from lab.tui import engine
from lab.tui.app import ShikumiApp
from lab.tui.screens.lesson import LessonScreen
from lab.tui.widgets.bench import Bench
from lab.tui.widgets.outline import StepOutline

SIZE = (120, 40)
REPO = Path(__file__).resolve().parent.parent


# -- a session that notes who is inside it ------------------------------------------------


class Probe:
    """Counts how many engine actions are inside the session at once."""

    def __init__(self, hold: float = 0.3) -> None:
        self.hold = hold
        self.inside = 0
        self.most = 0
        self.log: list[str] = []
        self._lock = threading.Lock()

    @contextmanager
    def enter(self, what: str):
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.log.append(f"{what}+")
        try:
            time.sleep(self.hold)
            yield
        finally:
            with self._lock:
                self.inside -= 1
                self.log.append(f"{what}-")


class ProbedRunner(ScriptedRunner):
    def __init__(self, lesson, on_event, probe: Probe) -> None:
        super().__init__(lesson, on_event)
        self.probe = probe

    def run_step(self, index, cancel=None, solution=False):
        with self.probe.enter("run"):
            return super().run_step(index, cancel, solution)

    def check_step(self, index):
        with self.probe.enter("check"):
            return super().check_step(index)

    def refresh_views(self, index):
        return []

    def finish(self) -> None:
        with self.probe.enter("close"):
            super().finish()


class ProbedSession:
    def __init__(self, lesson, on_event, probe: Probe) -> None:
        self.runner = ProbedRunner(lesson, on_event, probe)

    def close(self) -> None:
        self.runner.finish()


def probed_app(tmp_path: Path, probe: Probe) -> ShikumiApp:
    home = tmp_path / "home"
    lesson = fixed_lesson()
    app = ShikumiApp(home, "en", dirs=[tmp_path], lesson=lesson, run_doctor=False, entries=[])
    app.checks = list(OK_CHECKS)
    app.session_factory = lambda les, on_event: ProbedSession(les, on_event, probe)
    return app


async def opened(pilot) -> LessonScreen:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, LessonScreen) and screen.session is not None
    return screen


async def test_a_run_and_a_check_started_together_are_serialized(tmp_path: Path) -> None:
    probe = Probe()
    app = probed_app(tmp_path, probe)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        # both asked for in the same moment (the keys refuse the second one; a race
        # between two requests must not get past the session either)
        screen.action_run()
        screen.checking = screen.check_worker(0)
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert probe.most == 1, probe.log
        assert probe.log == ["run+", "run-", "check+", "check-"]
        assert screen.statuses["look"] == "passed" and screen.running is None
        assert screen.checking is None
    assert app.errors == []


async def test_reset_during_a_check_waits_for_it(tmp_path: Path) -> None:
    probe = Probe(hold=0.5)
    app = probed_app(tmp_path, probe)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        first = screen.session
        screen.checking = screen.check_worker(0)
        await (
            screen.reset_now()
        )  # (R, answered yes) closes the session: only after the check is out
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert probe.most == 1, probe.log
        assert probe.log[:4] == ["check+", "check-", "close+", "close-"]
        assert screen.session is not None and screen.session is not first  # opened again
        assert "reset" in str(screen.query_one("#status").render())
    assert app.errors == []


# -- Esc cancels a running step ------------------------------------------------------------


def slow_lesson_app(tmp_path: Path) -> tuple[ShikumiApp, Path]:
    lessons = write_lessons(tmp_path)
    home = tmp_path / "home"
    lesson, problems = load_lesson(lessons / "02-slow")
    assert lesson is not None, problems
    app = ShikumiApp(home, "en", dirs=[lessons], lesson=lesson, run_doctor=False)
    app.checks = list(OK_CHECKS)
    return app, home


async def test_esc_cancels_a_running_step_within_a_second(tmp_path: Path) -> None:
    app, home = slow_lesson_app(tmp_path)
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await pilot.press("r")
        end = time.monotonic() + 15
        while not [
            p
            for p in procs.with_marker(f"shikumi-{os.getpid()}-", prefix=True)
            if b"sleep" in Path(f"/proc/{p}/cmdline").read_bytes()
        ]:  # the step's `sleep 30` runs
            assert time.monotonic() < end, "the step never started its sleep"
            await pilot.pause(0.05)
        t0 = time.monotonic()
        await pilot.press("escape")
        await app.workers.wait_for_complete()
        await pilot.pause()
        took = time.monotonic() - t0
        assert screen.running is None
        assert screen.statuses["wait"] == "cancelled"
        assert took < 1.0, f"Esc took {took:.2f} s to cancel the step"
        outline = screen.query_one(StepOutline)
        label = str(outline.get_option_at_index(0).prompt)
        assert label.lstrip("▶ ").startswith("⊘"), label  # the outline's cancelled mark
        transcript = screen.query_one(Bench).transcript.text.plain
        lines = transcript.splitlines()
        assert "never" not in lines and not [ln for ln in lines if ln.startswith("✓")], lines
        assert "✗ " in transcript and "cancelled" in transcript
        assert "cancelled" in str(screen.query_one("#status").render())
        assert isinstance(app.screen, LessonScreen)  # Esc while running cancels, not leaves
        mine = procs.with_marker(f"shikumi-{os.getpid()}-", prefix=True)
        assert not [p for p in mine if b"sleep" in Path(f"/proc/{p}/cmdline").read_bytes()]
    assert app.errors == []
    assert list((home / "journal").glob("*.jsonl")) == []


# -- opening (maybe recovering a dead session) off the event loop ---------------------------

DEAD = textwrap.dedent(
    """
    import os, signal, sys, subprocess
    from pathlib import Path
    from lab.safety import resources
    from lab.safety.journal import Journal
    j = Journal.open(Path(sys.argv[1]))
    quiet = dict(stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    p, _ = resources.spawn(j, ["sleep", "300"], "dead-sleep", **quiet)
    print(p.pid, flush=True)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)


async def test_opening_cleans_up_a_dead_session_in_a_worker(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (the lab's journal kills a process)")
    home = tmp_path / "home"
    r = subprocess.run(
        [sys.executable, "-c", DEAD, str(home)], capture_output=True, text=True, timeout=30
    )
    assert r.returncode == -signal.SIGKILL, r.stderr
    dead_sleep = int(r.stdout.split()[0])
    try:
        assert procs.alive(dead_sleep) and engine.dead_sessions(home)
        await _open_while_recovering(tmp_path, home, dead_sleep)
    finally:
        if procs.alive(dead_sleep):
            os.kill(dead_sleep, signal.SIGKILL)


async def _open_while_recovering(tmp_path: Path, home: Path, dead_sleep: int) -> None:

    gate = threading.Event()
    lessons = write_lessons(tmp_path)
    lesson, _ = load_lesson(lessons / "01-demo")
    app = ShikumiApp(home, "en", dirs=[lessons], lesson=lesson, run_doctor=False)
    app.checks = list(OK_CHECKS)

    def slow_open(les, on_event):
        gate.wait(20)  # the recovery takes its time (a docker rm retrying, a lock wait…)
        return engine.Session(les, home, "en", on_event, app.checks)

    app.session_factory = slow_open
    async with app.run_test(size=SIZE) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen) and screen.opening
        assert "cleaning up a previous session" in str(screen.query_one("#status").render())
        # the event loop is free meanwhile: a key is handled at once
        shown = screen.query_one(StepOutline).display
        await pilot.press("o")
        assert screen.query_one(StepOutline).display is not shown
        await pilot.press("r")  # asked for while opening: runs once the session is open
        gate.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert screen.session is not None and not screen.opening
        assert not procs.alive(dead_sleep), "the dead session's process was not killed"
        assert screen.statuses.get("make-file") == "passed"
    assert app.errors == []
    assert list((home / "journal").glob("*.jsonl")) == []


# -- failures: one line on screen, the details in the log ----------------------------------


class BrokenRunner(ScriptedRunner):
    def run_step(self, index, cancel=None, solution=False):
        raise RuntimeError("the runner broke\nsecond line never shown")


class BrokenSession:
    def __init__(self, lesson, on_event) -> None:
        self.runner = BrokenRunner(lesson, on_event)

    def close(self) -> None:
        self.runner.finish()


def log_text(home: Path) -> str:
    return (home / "log" / "app.log").read_text()


async def test_a_failing_worker_and_handler_show_one_line_and_log_the_details(
    tmp_path: Path, monkeypatch
) -> None:
    home = tmp_path / "home"
    app = ShikumiApp(home, "en", lesson=fixed_lesson(), run_doctor=False, entries=[])
    app.checks = list(OK_CHECKS)
    app.session_factory = BrokenSession
    async with app.run_test(size=SIZE) as pilot:
        screen = await opened(pilot)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        status = str(screen.query_one("#status").render())
        assert "RuntimeError: the runner broke" in status
        assert "second line" not in status and "Traceback" not in status

        def broken(keep_scroll: bool = False) -> None:
            raise ValueError("a broken handler")

        # the `h` key's handler fails inside (showing the hint)
        monkeypatch.setattr(screen, "refresh_explanation", broken)
        await pilot.press("h")
        await pilot.pause()
        assert app.is_running and app.screen is screen  # the app goes on
        assert any("ValueError: a broken handler" in e for e in app.errors), app.errors
        shown = [n.message for n in app._notifications]
        assert any("ValueError: a broken handler" in m for m in shown), shown
    text = log_text(home)
    assert "Traceback" in text and "the runner broke" in text and "a broken handler" in text
    mode = (home / "log" / "app.log").stat().st_mode
    assert stat.S_IMODE(mode) == 0o600
    assert stat.S_IMODE((home / "log").stat().st_mode) == 0o700


async def test_a_failing_doctor_is_shown_and_logged(tmp_path: Path, monkeypatch) -> None:
    def broken_doctor(home: Path):
        raise OSError(5, "the probe broke")

    monkeypatch.setattr(engine, "doctor_checks", broken_doctor)
    home = tmp_path / "home"
    app = ShikumiApp(home, "en", run_doctor=True, entries=[])
    async with app.run_test(size=SIZE) as pilot:
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert app.checks == []
        assert any("checking this machine" in e and "the probe broke" in e for e in app.errors)
    assert "the probe broke" in log_text(home) and "Traceback" in log_text(home)


async def test_progress_that_cannot_be_saved_is_shown(tmp_path: Path, monkeypatch) -> None:
    def cannot_save(self: Progress) -> bool:
        self.error = f"cannot save progress to {self.path}: Read-only file system"
        return False

    monkeypatch.setattr(Progress, "save", cannot_save)
    probe = Probe(hold=0.0)
    app = probed_app(tmp_path, probe)
    async with app.run_test(size=SIZE) as pilot:
        await opened(pilot)
        await pilot.press("r")
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert any("cannot save progress" in e for e in app.errors), app.errors
    assert "cannot save progress" in log_text(tmp_path / "home")
