"""What the progress records per step besides the verdict (attempts, hints, solutions,
time on screen, predictions), where the session and play record it, and the
read-only / browser refusals of the lesson session."""

from __future__ import annotations

import json
import threading
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest
from test_app_helpers import fixed_lesson
from test_session import WAIT, Runner, Session

from lab.errors import LabError
from lab.lesson import player, serving, session_notes
from lab.lesson.model import CheckResult, StepResult
from lab.lesson.progress import FILE, VISIT_CAP, Progress, StepRecord
from lab.lesson.session import ChecksEnded, LessonSession, StepEnded


def test_note_counts_and_mark_keeps_what_the_learner_did(tmp_path: Path) -> None:
    p = Progress.load(tmp_path)
    assert p.note("05-libraries", "ldd", hints=1) == ""
    assert p.note("05-libraries", "ldd", hints=1, solution=True, attempt=True, seconds=12.34) == ""
    assert p.note("05-libraries", "ldd", prediction="b") == ""
    assert p.note("05-libraries", "ldd", prediction="c", seconds=VISIT_CAP * 5) == ""
    assert p.mark("05-libraries", "ldd", "passed") == ""
    rec = Progress.load(tmp_path).step_record("05-libraries", "ldd")
    assert rec.status == "passed" and rec.at > 0
    assert (rec.attempts, rec.hints, rec.solutions) == (1, 2, 1)
    assert rec.seconds == pytest.approx(12.3 + VISIT_CAP, abs=0.1)  # one visit capped
    assert rec.predictions == ("b", "c")
    # a note alone is not a verdict: the step is neither done nor failed
    p.note("05-libraries", "hide", hints=1)
    assert Progress.load(tmp_path).done("05-libraries") == {"ldd"}
    assert "hide" not in Progress.load(tmp_path).failed("05-libraries")


def test_records_of_older_or_odd_files_read_as_zeros(tmp_path: Path) -> None:
    raw = {
        "version": 1,
        "lessons": {
            "01": {
                "old": {"status": "passed", "at": 5},
                "odd": {"attempts": "3", "hints": -2, "seconds": "x", "predictions": 7},
            }
        },
    }
    (tmp_path / FILE).write_text(json.dumps(raw))
    p = Progress.load(tmp_path)
    assert p.error == ""
    assert p.step_record("01", "old") == StepRecord(status="passed", at=5)
    assert p.step_record("01", "odd") == StepRecord()
    assert p.step_record("01", "never") == StepRecord()
    p.note("01", "odd", hints=1)  # counts from zero, not from the odd value
    assert Progress.load(tmp_path).step_record("01", "odd").hints == 1


def test_reset_all_forgets_every_lesson(tmp_path: Path) -> None:
    p = Progress.load(tmp_path)
    p.mark("01", "a", "passed")
    p.mark("02", "b", "failed")
    assert p.reset_all() == ""
    assert Progress.load(tmp_path).lessons == {}
    assert Progress(tmp_path / "nothing" / FILE).reset_all() == ""  # nothing to forget
    assert not (tmp_path / "nothing").exists()


def test_a_read_only_view_writes_no_progress(tmp_path: Path, monkeypatch) -> None:
    Progress.load(tmp_path).mark("01", "a", "passed")
    before = (tmp_path / FILE).read_bytes()
    monkeypatch.setenv(serving.READ_ONLY_ENV, "1")
    p = Progress.load(tmp_path)
    assert p.note("01", "a", hints=3) == "" and p.reset("01") == ""
    assert (tmp_path / FILE).read_bytes() == before


class Store:
    """The app's ProgressStore in small: Progress behind (lesson, step_id, …)."""

    def __init__(self, home: Path) -> None:
        self.p = Progress.load(home)

    def mark(self, lesson: Any, step_id: str, status: str) -> str:
        return self.p.mark(lesson.id, step_id, status)

    def reset(self, lesson: Any) -> str:
        return self.p.reset(lesson.id)

    def note(self, lesson: Any, step_id: str, **what: Any) -> str:
        return self.p.note(lesson.id, step_id, **what)


def opened(tmp_path: Path) -> tuple[LessonSession, list[Any]]:
    events: list[Any] = []
    ctl = LessonSession(
        fixed_lesson(),
        lambda lesson, on_event: Session(Runner(lesson, on_event, hold=0.0)),
        events.append,
        Store(tmp_path),
    )
    ctl.begin_open()
    ctl.opened(ctl.open())
    return ctl, events


def test_the_session_records_hints_solutions_attempts_and_time(tmp_path: Path, monkeypatch) -> None:
    clock = [1000.0]
    monkeypatch.setattr(session_notes.time, "monotonic", lambda: clock[0])
    ctl, _ = opened(tmp_path)
    ctl.start_at(set(), set(), None, 0)  # step 1 on screen at t=1000
    lesson = ctl.lesson.id
    ctl.next_hint("en")
    ctl.show_solution()
    ctl.begin_run()
    ctl.step_ended(ctl.run(0, threading.Event()))  # the stub runner: passed
    clock[0] += 90.0
    assert ctl.go(1)  # step 1 leaves the screen after 90 s
    clock[0] += 0.5
    assert ctl.go(0)  # half a second on step 2: not counted
    clock[0] += 30.0
    ctl.begin_close()  # closing counts the last visit
    rec = Progress.load(tmp_path).step_record(lesson, "look")
    assert (rec.status, rec.attempts, rec.hints, rec.solutions) == ("passed", 1, 1, 1)
    assert rec.seconds == pytest.approx(120.0)
    assert Progress.load(tmp_path).step_record(lesson, "rootfs") == StepRecord()


def test_each_check_after_a_try_is_an_attempt(tmp_path: Path) -> None:
    ctl, _ = opened(tmp_path)
    bad, good = CheckResult("command", "made it", False), CheckResult("command", "made it", True)
    assert ctl.checks_ended(ChecksEnded(0, [bad])) == (False, "")
    assert ctl.checks_ended(ChecksEnded(0, [good])) == (True, "")
    assert ctl.checks_ended(ChecksEnded(0, error="the lesson is closed")) == (False, "")
    rec = Progress.load(tmp_path).step_record(ctl.lesson.id, "look")
    assert rec.status == "passed" and rec.attempts == 2  # the error was no attempt


def test_read_only_refuses_to_run_a_step_or_open_a_shell(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv(serving.READ_ONLY_ENV, "1")
    ctl, _ = opened(tmp_path)
    ended = ctl.run(0, threading.Event())
    assert isinstance(ended, StepEnded) and ended.result is None
    assert "read-only" in ended.error
    assert ctl.session.runner.log == []  # the runner was never asked
    with pytest.raises(LabError, match="read-only"):
        ctl.shell(0)


def test_a_browser_is_told_how_to_practise(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("TEXTUAL_DRIVER", "textual.drivers.web_driver:WebDriver")
    ctl, _ = opened(tmp_path)
    with pytest.raises(LabError, match="sudo shikumi shell"):
        ctl.shell(0)
    ctl.session.runner.lang = "ja"
    with pytest.raises(LabError, match="ブラウザ"):
        ctl.shell(0)
    ended = ctl.run(0, threading.Event(), solution=True)  # running steps still works
    assert ended.result is not None and ended.result.status == "passed"
    assert ctl.lock.acquire(timeout=WAIT)
    ctl.lock.release()


def test_play_records_attempts_time_and_the_solution_it_ran(tmp_path: Path) -> None:
    lesson = fixed_lesson()
    results = [
        StepResult("look", "passed", seconds=2.5),
        StepResult("rootfs", "failed", seconds=1.0),
        StepResult(lesson.steps[2].id, "skipped"),
    ]
    assert player._record_progress(tmp_path, lesson, results) == ""
    p = Progress.load(tmp_path)
    look, rootfs = p.step_record(lesson.id, "look"), p.step_record(lesson.id, "rootfs")
    assert (look.status, look.attempts, look.seconds, look.solutions) == ("passed", 1, 2.5, 1)
    assert not lesson.steps[1].of("solution")  # a step the lab runs: no solution stood in
    assert (rootfs.status, rootfs.attempts, rootfs.solutions) == ("failed", 1, 0)
    assert p.step_record(lesson.id, lesson.steps[2].id) == StepRecord()
    # the older callers' shape (no seconds) still records
    old = [SimpleNamespace(step_id="x", status="passed")]
    assert player._record_progress(tmp_path, SimpleNamespace(id="y"), old) == ""  # type: ignore[arg-type]
    assert Progress.load(tmp_path).step_record("y", "x").attempts == 1
