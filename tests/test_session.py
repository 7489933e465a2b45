"""The lesson session controller (lab/lesson/session.py) without Textual: one thing at
a time on the session, cancel, reset while a check runs, a run asked for while the
session opens, and the marks it keeps."""

from __future__ import annotations

import threading
import time
from typing import Any

from test_app_helpers import fixed_lesson

from lab.lesson import run_events
from lab.lesson.model import CheckResult, StepResult
from lab.lesson.session import ChecksEnded, Closed, LessonSession, Opened, StepEnded

WAIT = 10.0  # a hung test fails within this, never hangs


class Runner:
    """Notes who is inside the session at once; a run waits for its cancel event."""

    def __init__(self, lesson: Any, on_event: Any, hold: float = 0.2) -> None:
        self.lesson, self.on_event, self.hold = lesson, on_event, hold
        self.inside = self.most = 0
        self.log: list[str] = []
        self.started = threading.Event()
        self.block = False  # a run waits until cancelled
        self._lock = threading.Lock()

    def _enter(self, what: str) -> None:
        with self._lock:
            self.inside += 1
            self.most = max(self.most, self.inside)
            self.log.append(what + "+")

    def _leave(self, what: str) -> None:
        with self._lock:
            self.inside -= 1
            self.log.append(what + "-")

    def run_step(self, index: int, cancel: threading.Event, solution: bool = False) -> StepResult:
        self._enter("run")
        try:
            step = self.lesson.steps[index]
            self.on_event(run_events.ActionStarted(step.id, 0, "run", "true"))
            self.started.set()
            if self.block:
                cancel.wait(WAIT)
            else:
                time.sleep(self.hold)
            status = "cancelled" if cancel.is_set() else "passed"
            return StepResult(step.id, status)
        finally:
            self._leave("run")

    def check_step(self, index: int) -> list[CheckResult]:
        self._enter("check")
        try:
            self.started.set()
            time.sleep(self.hold)
            return [CheckResult("command", "made it", True)]
        finally:
            self._leave("check")

    def refresh_views(self, index: int) -> list[Any]:
        return []

    def shell(self, index: int) -> list[str]:
        return ["true"]


class Session:
    def __init__(self, runner: Runner) -> None:
        self.runner = runner
        self.closed = 0

    def close(self) -> None:
        self.runner._enter("close")
        self.closed += 1
        self.runner._leave("close")


class Marks:
    def __init__(self) -> None:
        self.marked: list[tuple[str, str]] = []
        self.resets = 0

    def mark(self, lesson: Any, step_id: str, status: str) -> str:
        self.marked.append((step_id, status))
        return ""

    def reset(self, lesson: Any) -> str:
        self.resets += 1
        return ""


def make(gate: threading.Event | None = None) -> tuple[LessonSession, list[Any], list[Runner]]:
    events: list[Any] = []
    runners: list[Runner] = []

    def opener(lesson: Any, on_event: Any) -> Session:
        if gate is not None:
            assert gate.wait(WAIT)
        runners.append(Runner(lesson, on_event))
        return Session(runners[-1])

    ctl = LessonSession(fixed_lesson(), opener, events.append, Marks())
    return ctl, events, runners


def thread(fn: Any, *args: Any) -> threading.Thread:
    t = threading.Thread(target=fn, args=args, daemon=True)
    t.start()
    return t


def test_a_run_and_a_check_started_together_never_share_the_session() -> None:
    ctl, events, runners = make()
    ctl.begin_open()
    opened = ctl.open()
    assert isinstance(opened, Opened) and opened.session is not None and not opened.error
    assert ctl.opened(opened) is None and ctl.request("run") == "ok"
    cancel = ctl.begin_run()
    a = thread(ctl.run, 0, cancel)
    assert runners[0].started.wait(WAIT)
    b = thread(ctl.check, 0)
    a.join(WAIT)
    b.join(WAIT)
    assert runners[0].most == 1, runners[0].log
    assert runners[0].log == ["run+", "run-", "check+", "check-"]
    ended = next(e for e in events if isinstance(e, StepEnded))
    assert ended.result is not None and ended.result.status == "passed"
    assert ctl.step_ended(ended) == (False, "")
    assert ctl.statuses["look"] == "passed" and ctl.running is None
    assert ctl.progress.marked == [("look", "passed")]  # type: ignore[union-attr]
    checked = next(e for e in events if isinstance(e, ChecksEnded))
    assert [c.message for c in checked.checks] == ["made it"]


def test_cancel_ends_a_running_step_as_cancelled() -> None:
    ctl, events, runners = make()
    ctl.begin_open()
    ctl.opened(ctl.open())
    runners[0].block = True
    cancel = ctl.begin_run()
    assert ctl.request("check") == "busy"  # a second action is refused while it runs
    t = thread(ctl.run, 0, cancel)
    assert runners[0].started.wait(WAIT)
    t0 = time.monotonic()
    ctl.cancel()
    t.join(WAIT)
    assert not t.is_alive() and time.monotonic() - t0 < WAIT
    ended = next(e for e in events if isinstance(e, StepEnded))
    ctl.step_ended(ended)
    assert ctl.statuses["look"] == "cancelled"
    assert ctl.progress.marked == []  # type: ignore[union-attr]  # a cancel is not a mark
    # the runner's own events went through the same callback, in order, before the end
    kinds = [type(e).__name__ for e in events]
    assert kinds == ["Opened", "ActionStarted", "StepEnded"], kinds
    assert ctl.accepts(events[1]) and ctl.events_seen == 1


def test_a_step_cancelled_before_it_got_the_session_is_cancelled_not_failed() -> None:
    ctl, _, runners = make()
    ctl.begin_open()
    ctl.opened(ctl.open())
    cancel = ctl.begin_run()
    ended = ctl.run(0, cancel, cancelled=lambda: True)  # Textual cancelled the worker
    assert ended.result is not None and ended.result.status == "cancelled"
    assert runners[0].log == []  # the runner never ran


def test_reset_while_a_check_runs_waits_for_it_then_starts_again() -> None:
    ctl, events, runners = make()
    ctl.begin_open()
    ctl.opened(ctl.open())
    ctl.statuses["look"] = "failed"
    ctl.hints_shown[0] = 1
    ctl.index = 1
    ctl.checking = "token"
    t = thread(ctl.check, 0)
    assert runners[0].started.wait(WAIT)
    assert ctl.begin_close() and ctl.closing
    closed = ctl.close()  # blocks until the check gave the session back
    assert isinstance(closed, Closed) and closed.error == ""
    t.join(WAIT)
    assert runners[0].log == ["check+", "check-", "close+", "close-"]
    ctl.checks_ended(next(e for e in events if isinstance(e, ChecksEnded)))
    ctl.closed()
    assert ctl.session is None and not ctl.busy
    assert ctl.reset() == ""
    assert (ctl.statuses, ctl.hints_shown, ctl.index) == ({}, {}, 0)
    assert ctl.progress.resets == 1  # type: ignore[union-attr]
    ctl.begin_open()
    ctl.opened(ctl.open())
    assert ctl.session is not None and ctl.session.runner is runners[1]


def test_a_run_asked_for_while_opening_is_handed_back_once_open() -> None:
    gate = threading.Event()
    ctl, events, _ = make(gate)
    ctl.begin_open()
    t = thread(ctl.open)
    assert ctl.request("run") == "queued" and ctl.busy
    gate.set()
    t.join(WAIT)
    opened = next(e for e in events if isinstance(e, Opened))
    assert ctl.opened(opened) == "run"
    assert ctl.request("run") == "ok" and ctl.queued is None


def test_a_failed_open_says_why_and_drops_what_was_queued() -> None:
    def opener(lesson: Any, on_event: Any) -> Any:
        raise PermissionError("home not writable")

    ctl = LessonSession(fixed_lesson(), opener, lambda e: None)
    ctl.begin_open()
    assert ctl.request("run") == "queued"
    opened = ctl.open()
    assert opened.session is None and "PermissionError: home not writable" in opened.error
    assert ctl.opened(opened) is None
    assert ctl.request("run") == "closed" and "home not writable" in ctl.error


def test_hints_solution_moves_and_the_reload_decision() -> None:
    ctl, _, _ = make()
    assert ctl.next_hint("en") == "shown" and ctl.next_hint("en") == "no_more"
    assert ctl.show_solution() and 0 in ctl.solution_shown
    ctl.begin_run("token")
    assert not ctl.go(1) and ctl.index == 0  # no moving while a step runs
    assert ctl.shown_statuses() == {"look": "running"}
    ctl.running = None
    assert ctl.go(99) and ctl.index == len(ctl.lesson.steps) - 1
    ctl.mtime = 1.0
    assert not ctl.changed(1.0)
    ctl.opening = True
    assert not ctl.changed(2.0)  # busy: not now (asked again on the next poll)
    ctl.opening = False
    assert ctl.changed(2.0) and ctl.mtime == 2.0 and not ctl.changed(2.0)


def test_the_try_shell_is_refused_while_the_session_is_in_use() -> None:
    ctl, _, _ = make()
    ctl.begin_open()
    ctl.opened(ctl.open())
    assert ctl.shell(0) == ["true"]
    with ctl.lock:
        assert ctl.shell(0) is None
