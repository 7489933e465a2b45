"""Every command ends within its timeout, and cancel takes effect at any moment — also
after the command closed its pipes (issue 12: `exec >/dev/null 2>&1; sleep 20` in a step
with timeout=2 ran 20 s and was reported passed).

The upper bounds below are generous regression bounds for a hang, not timings.
"""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from lab.host import proc_run
from lab.lesson import execute, operations
from lab.lesson.model import Action
from lab.lesson.runner import Runner
from lab.safety import procs
from lab.safety.journal import Journal
from tests.lessonkit import act, lesson, step, write_lesson
from tests.support import shikumi

QUIET_SLEEP = "exec >/dev/null 2>&1; sleep 20"


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal.open(tmp_path / "home")
    yield j
    j.close()


def _bash(body: str) -> list[str]:
    return execute.command_argv(body)


def _later(seconds: float, event: threading.Event) -> threading.Timer:
    t = threading.Timer(seconds, event.set)
    t.start()
    return t


def _pid_of(tmp_path: Path) -> int:
    return int((tmp_path / "pid").read_text())


def test_quiet_sleep_step_ends_at_its_timeout_as_timeout(journal: Journal, tmp_path: Path) -> None:
    body = f"echo $$ > {tmp_path}/pid; {QUIET_SLEEP}"
    r = Runner(lesson(step("quiet", act("run", body), timeout=2.0)), journal)
    t0 = time.monotonic()
    res = r.run_step(0)
    took = time.monotonic() - t0
    r.finish()
    assert took < 3.0, f"the step ran {took:.1f} s with timeout=2"
    assert res.status == "timeout", (res.status, res.reason)
    assert "timed out after 2 s" in res.reason
    assert res.actions[0].timed_out and res.actions[0].exit is None and not res.actions[0].ok
    assert not procs.alive(_pid_of(tmp_path))


def test_run_returns_timed_out_not_an_exit_status(journal: Journal, tmp_path: Path) -> None:
    t0 = time.monotonic()
    c = execute.run(journal, _bash(QUIET_SLEEP), name="t", timeout=1.0)
    assert time.monotonic() - t0 < 2.0
    assert c.timed_out and not c.cancelled and c.exit is None
    assert not [e for e in journal.active if e.kind == "process"]


def test_cancel_after_the_pipes_closed_ends_within_a_second(
    journal: Journal, tmp_path: Path
) -> None:
    cancel = threading.Event()
    body = f"echo $$ > {tmp_path}/pid; {QUIET_SLEEP}"
    r = Runner(lesson(step("quiet", act("run", body))), journal)
    timer = _later(0.5, cancel)  # the pipes are long closed by then
    t0 = time.monotonic()
    res = r.run_step(0, cancel=cancel)
    took = time.monotonic() - t0
    timer.cancel()
    r.finish()
    assert took < 1.5, f"cancel at 0.5 s, the step ended at {took:.1f} s"
    assert res.status == "cancelled"
    assert not procs.alive(_pid_of(tmp_path))


def test_cancel_while_output_streams(journal: Journal) -> None:
    cancel = threading.Event()
    timer = _later(0.3, cancel)
    t0 = time.monotonic()
    c = execute.run(journal, _bash("yes"), name="t", timeout=60, cancel=cancel)
    timer.cancel()
    assert time.monotonic() - t0 < 1.3
    assert c.cancelled and c.exit is None and c.truncated


def test_cancel_while_a_leftover_holds_the_pipes(journal: Journal, tmp_path: Path) -> None:
    """The command exits at once; a child in a session of its own keeps the pipes: the
    post-exit grace and the drain after the kill both give way to a cancel."""
    cancel = threading.Event()
    body = f"setsid sleep 30 & echo $! > {tmp_path}/pid; exit 0"
    # during the grace (the step is cancelled), then during the drain after the grace's
    # kill (the command had exited 0 on its own: that stays its status)
    for at, cancelled in ((0.2, True), (0.8, False)):
        cancel.clear()
        timer = _later(at, cancel)
        t0 = time.monotonic()
        c = execute.run(journal, _bash(body), name="t", timeout=60, cancel=cancel)
        took = time.monotonic() - t0
        timer.cancel()
        assert took < at + 0.6, f"cancel at {at} s, run() returned at {took:.2f} s"
        assert c.cancelled is cancelled and c.exit == (None if cancelled else 0)
        assert not procs.alive(_pid_of(tmp_path))  # the journal undid the leftover


def test_a_leftover_without_the_pipes_does_not_hold_the_step(
    journal: Journal, tmp_path: Path
) -> None:
    """A background child that closed its pipes: the command is done when its shell is."""
    body = f"sleep 30 >/dev/null 2>&1 & echo $! > {tmp_path}/pid; echo done"
    t0 = time.monotonic()
    c = execute.run(journal, _bash(body), name="t", timeout=60)
    assert time.monotonic() - t0 < 1.0
    assert c.exit == 0 and c.stdout == "done\n" and not c.timed_out
    assert not procs.alive(_pid_of(tmp_path))


QUIET_LESSON = """+++
title = "A quiet sleep"
summary = "A step whose command closes its output and sleeps past its timeout."
+++
Intro.

## Quiet {#quiet timeout=2}
It closes its pipes, then sleeps.
```run
exec >/dev/null 2>&1; sleep 20
```
"""


def test_play_reports_the_quiet_sleep_as_timeout_and_fails(tmp_path: Path) -> None:
    folder = write_lesson(tmp_path / "lessons", "92-quiet", QUIET_LESSON)
    t0 = time.monotonic()
    r = shikumi("play", str(folder), "--json", home=tmp_path / "home", timeout=60)
    took = time.monotonic() - t0
    assert r.returncode == 1, r.stdout + r.stderr
    assert took < 15, f"`shikumi play` took {took:.1f} s for a step with timeout=2"
    rep = json.loads(r.stdout)["lessons"][0]
    assert (rep["passed"], rep["failed"]) == (0, 1)
    fail = rep["failures"][0]
    assert fail["step"] == "quiet" and fail["status"] == "timeout"
    assert "timed out after 2 s" in fail["reason"]
    text = shikumi("play", str(folder), home=tmp_path / "home", timeout=60)
    assert text.returncode == 1 and "[timeout] quiet" in text.stdout, text.stdout


class _SlowOp:
    """An operation whose own command outlives its limit (as `docker import` could)."""

    def describe(self, p: dict) -> str:
        return "sleep 30"

    def run(self, ctx: object, journal: Journal, p: dict) -> None:
        proc_run.run(["sleep", "30"], timeout=0.3)


def test_an_operation_that_times_out_ends_the_step_as_timeout(
    journal: Journal, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(operations._REGISTRY, "shk-slow", _SlowOp())
    op = Action("op", "", 1, name="shk-slow", params={})
    r = Runner(lesson(step("slow", op)), journal)
    t0 = time.monotonic()
    res = r.run_step(0)
    r.finish()
    assert time.monotonic() - t0 < 0.3 + proc_run.DRAIN + proc_run.REAP
    assert res.status == "timeout", (res.status, res.reason)
    assert "did not finish within 0.3 s" in res.reason and res.actions[0].timed_out
