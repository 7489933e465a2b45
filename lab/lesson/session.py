"""One lesson session's state and rules, with no screen: what the app's lesson
screen drives from its workers, and what it only draws.

A ``LessonSession`` holds the open runner session (journal + runner, made by the
*opener* it is given), the current step, each step's status, the hints and
solutions shown, the action asked for while the session was still opening, and
the per-session lock. Its blocking methods (``open``, ``run``, ``check``,
``close_now``) are meant for worker threads; each holds ``lock`` while it uses
the session, so a run and a check never share the journal at once and a close
waits (bounded) for what runs after cancelling it. Everything they produce is
reported through ``on_event``: the runner's own events (lab/lesson/run_events.py)
as they happen, then one of the events below. The quick methods (``request``,
``step_ended``, ``checks_ended``, ``reset``, ``next_hint``…) only change state;
call them from one thread (the app's event loop).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any, Protocol

from lab.errors import LabError
from lab.lesson.hints import hints_for
from lab.lesson.model import CheckResult, Lesson, Step, StepResult
from lab.lesson.session_events import (  # noqa: F401  (re-exported: the screen imports them here)
    ChecksEnded,
    Closed,
    Opened,
    SessionEvent,
    StepEnded,
)
from lab.lesson.session_notes import StepNotes, refusal
from lab.lesson.variables import Variables, fill_display

LOCK_WAIT = 60.0  # closing waits this long for a cancelled action to give the session back


class Progress(Protocol):
    """Where step marks persist (the app's ProgressStore); each returns '' or one line."""

    def mark(self, lesson: Lesson, step_id: str, status: str) -> str: ...
    def reset(self, lesson: Lesson) -> str: ...


def plain_line(e: BaseException, where: str = "") -> str:
    """One line for the learner (the app passes its own, which also logs)."""
    if isinstance(e, LabError):
        return e.message + (f" — {e.fix}" if e.fix else "")
    return f"{type(e).__name__}: {str(e).splitlines()[0] if str(e) else ''}"


def awaits_try(step: Step, result: Any, solution: bool) -> bool:
    """The step ran fine, but its checks wait for what the learner does (try it yourself)."""
    return (
        result.status == "failed"
        and not solution
        and bool(step.of("try"))
        and all(a.ok for a in result.actions)
        and not any(v.error for v in result.views)
        and any(not c.ok for c in result.checks)
    )


class LessonSession(StepNotes):
    """The state of one lesson being taken, and the only way its runner is used."""

    def __init__(
        self,
        lesson: Lesson,
        opener: Callable[[Lesson, Callable[[Any], None]], Any],
        on_event: Callable[[Any], None],
        progress: Progress | None = None,
        describe: Callable[[BaseException, str], str] = plain_line,
    ) -> None:
        self.lesson = lesson
        self.opener = opener
        self.on_event = on_event
        self.progress = progress
        self.describe = describe
        self.index = 0
        self.statuses: dict[str, str] = {}
        self.hints_shown: dict[int, int] = {}
        self.solution_shown: set[int] = set()
        self.session: Any = None
        self.error = ""  # why the session could not be opened
        self.opening = False
        self.closing = False
        self.running: Any = None  # a token (the screen's worker) while a step runs
        self.checking: Any = None  # … while the learner's turn is checked
        self.queued: str | None = None  # an action asked for while opening
        self.run_index = -1  # the step the last run was for
        self.events_seen = 0  # runner events of that run so far
        self.cancel_event = threading.Event()
        self.lock = threading.Lock()  # held by whatever uses the session
        self.mtime = 0.0  # the lesson files' time when loaded (for watching)
        self.lang = "en"  # the language of the words ``fill`` shows for a value not known yet
        self.ran: set[int] = set()  # steps run (or skipped) in this session
        self.last_checks: dict[int, list[CheckResult]] = {}  # step -> its checks last seen

    # -- state -------------------------------------------------------------------------
    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    @property
    def busy(self) -> bool:
        """Something of this session's runs or waits (a step, a check, opening, closing)."""
        return bool(self.running or self.checking or self.opening or self.closing)

    @property
    def live(self) -> bool:
        """Whether a session is open or may still be (something left to close)."""
        return bool(self.session is not None or self.opening or self.running or self.checking)

    def start_at(self, done: set[str], failed: set[str], step: int | None, first: int) -> None:
        """The marks kept from before, and the step to show first (1-based *step* if asked)."""
        self.statuses = {sid: "failed" for sid in failed}
        self.statuses.update({sid: "passed" for sid in done})
        last = max(0, len(self.lesson.steps) - 1)
        self.index = max(0, min((step - 1) if step is not None else first, last))

    def go(self, index: int) -> bool:
        """Move to step *index* (clamped); False while a step runs or is checked."""
        if not self.lesson.steps or self.running is not None or self.checking is not None:
            return False
        self.index = max(0, min(index, len(self.lesson.steps) - 1))
        return True

    def not_run_before(self, index: int) -> list[int]:
        """The steps before *index* this session has not run: what a jump ahead skipped."""
        return [i for i in range(index) if i not in self.ran]

    def shown_statuses(self) -> dict[str, str]:
        """Each step's status as the outline shows it (the running step as running)."""
        statuses = dict(self.statuses)
        if self.running is not None and 0 <= self.run_index < len(self.lesson.steps):
            statuses[self.lesson.steps[self.run_index].id] = "running"
        return statuses

    def request(self, action: str = "") -> str:
        """Whether the session can take an action now: 'ok', 'queued' (asked for while
        opening: ``opened`` hands it back), 'busy' or 'closed' (``error`` says why)."""
        if self.opening and not (self.running or self.checking or self.closing) and action:
            self.queued = action
            return "queued"
        if self.busy:
            return "busy"
        if self.session is None:
            return "closed"
        return "ok"

    def hints(self, lang: str) -> list[str]:
        """The current step's hints as ``h`` shows them (a failing check's own first)."""
        return hints_for(self.step, self.last_checks.get(self.index, []), lang)

    def next_hint(self, lang: str) -> str:
        """Show one more hint of the current step: 'shown', 'none' or 'no_more'."""
        hints = self.hints(lang)
        shown = self.hints_shown.get(self.index, 0)
        if not hints:
            return "none"
        if shown >= len(hints):
            return "no_more"
        self.hints_shown[self.index] = shown + 1
        self.note(self.step.id, hints=1)
        return "shown"

    def show_solution(self) -> bool:
        if not self.step.of("solution"):
            return False
        self.solution_shown.add(self.index)
        self.note(self.step.id, solution=True)
        return True

    def fill(self, text: str, lang: str | None = None) -> str:
        """*text* as the screen shows it: the values known now (the home, a spawned pid,
        an earlier step's output), words naming the step to run for the others."""
        variables = getattr(getattr(self.session, "runner", None), "vars", None)
        if not isinstance(variables, Variables):  # not open yet: the home, the work dir…
            variables = Variables.before_run(self.lesson.id, self.lesson.path)
        return fill_display(text, variables, self.lesson.steps, lang or self.lang, self.index)

    def set_lang(self, lang: str) -> None:
        self.lang = lang
        runner = getattr(self.session, "runner", None)
        if runner is not None and hasattr(runner, "lang"):
            runner.lang = lang
            ctx = getattr(runner, "ctx", None)
            if ctx is not None and hasattr(ctx, "lang"):  # the checks' messages read it
                ctx.lang = lang

    def changed(self, mtime: float) -> bool:
        """The reload decision when watching: the files changed and nothing runs."""
        if mtime == self.mtime or self.busy:
            return False
        self.mtime = mtime
        return True

    # -- opening and closing -----------------------------------------------------------
    def begin_open(self) -> None:
        self.opening = True
        self.error = ""
        self.ran = set()  # a new session has run nothing yet

    def open(self) -> Opened:
        """Blocking (a worker): open the session — the opener may first undo a dead one."""
        with self.lock:
            if self.closing or self.session is not None:
                return self._emit(Opened(self.session))
            try:
                session = self.opener(self.lesson, self.on_event)
            except Exception as e:  # not root, home not writable…: one line, never a traceback
                return self._emit(Opened(None, self.describe(e, "opening the lesson")))
            self.session = session  # under the lock: a close waiting for it sees it
        return self._emit(Opened(session))

    def opened(self, event: Opened) -> str | None:
        """The open ended: returns the action queued meanwhile, to run now (if any)."""
        self.opening = False
        if event.error:
            self.error = event.error
        queued, self.queued = self.queued, None
        return queued if event.session is not None else None

    def cancel(self) -> None:
        """Any thread: ask what runs to stop (the runner looks within a moment)."""
        self.cancel_event.set()

    def begin_close(self) -> bool:
        """Cancel what runs; True if a close must run (then ``closing`` is set)."""
        self.cancel()
        self.leave()
        if not self.live:
            return False
        self.closing = True
        return True

    def close_now(self, record: Callable[[str, BaseException], Any] | None = None) -> str:
        """Blocking: cancel, wait (bounded) for the running action to give the session
        back, clean up. Returns '' or one line saying what failed."""
        self.cancel()
        got = self.lock.acquire(timeout=LOCK_WAIT)
        try:
            session, self.session = self.session, None
            if session is None:
                return ""
            if not got and record is not None:
                record("closing the lesson", TimeoutError("the running step never ended"))
            try:
                session.close()
            except Exception as e:
                return self.describe(e, "cleaning up the lesson")
            return ""
        finally:
            if got:
                self.lock.release()

    def close(self) -> Closed:
        """Blocking (a worker): ``close_now``, reported as a ``Closed`` event."""
        return self._emit(Closed(self.close_now()))

    def closed(self) -> None:
        self.closing = False

    def reset(self) -> str:
        """After the session closed: forget every mark and start at step 1.
        Returns '' or why the progress could not be reset."""
        error = self.progress.reset(self.lesson) if self.progress is not None else ""
        self.statuses.clear()
        self.hints_shown.clear()
        self.solution_shown.clear()
        self.forget_picks()
        self.index = 0
        return error

    def reload(self, lesson: Lesson) -> None:
        """After the session closed: the lesson as edited, at the same step if it still is."""
        self.lesson = lesson
        self.index = min(self.index, max(0, len(lesson.steps) - 1))

    # -- running a step ----------------------------------------------------------------
    def begin_run(self, token: Any = True) -> threading.Event:
        """A run of the current step starts: returns its cancel event."""
        self.cancel_event = threading.Event()
        self.run_index = self.index
        self.events_seen = 0
        self.running = token
        return self.cancel_event

    def accepts(self, event: Any) -> bool:
        """Whether a runner event belongs to the run in progress (counted if so)."""
        if self.run_index < 0 or getattr(event, "step_id", None) != (
            self.lesson.steps[self.run_index].id if self.run_index < len(self.lesson.steps) else ""
        ):
            return False
        self.events_seen += 1
        return True

    def run(
        self,
        index: int,
        cancel: threading.Event,
        solution: bool = False,
        cancelled: Callable[[], bool] = lambda: False,
    ) -> StepEnded:
        """Blocking (a worker): run step *index* holding the session. A step whose
        session closed, or that was cancelled before it got the session, ends as
        cancelled (never as a failure)."""
        step_id = self.lesson.steps[index].id
        try:
            with self.lock:
                session = refusal("run", self.session)  # read-only: LabError
                if session is None or cancel.is_set() or cancelled():
                    why = "the lesson was closed" if session is None else "cancelled"
                    result = StepResult(step_id, "cancelled", reason=why)
                else:
                    result = session.runner.run_step(index, cancel, solution=solution)
        except Exception as e:
            return self._emit(StepEnded(index, error=self.describe(e, "running the step")))
        return self._emit(StepEnded(index, result, solution=solution))

    def step_ended(self, event: StepEnded) -> tuple[bool, str]:
        """Record a run's end: (whether it now waits for the learner's turn, '' or why
        the progress could not be saved)."""
        self.running = None
        step = self.lesson.steps[event.index]
        if event.error or event.result is None:
            self.statuses[step.id] = "failed"
            return False, ""
        result = event.result
        if result.status in ("passed", "skipped") or awaits_try(step, result, event.solution):
            self.ran.add(event.index)
        if awaits_try(step, result, event.solution):
            self.statuses.pop(step.id, None)  # not failed: the learner's part is still to do
            return True, ""
        self.statuses[step.id] = result.status
        if result.status in ("passed", "failed"):
            self.note(step.id, attempt=True)
            return False, self.mark(step.id, result.status)
        return False, ""

    def mark(self, step_id: str, status: str) -> str:
        return self.progress.mark(self.lesson, step_id, status) if self.progress else ""

    # -- the learner's own turn --------------------------------------------------------
    def shell(self, index: int) -> list[str] | None:
        """The try shell's argv (journaled, marked; quick: no command runs); None while
        something else holds the session, LabError if it is closed."""
        if not self.lock.acquire(blocking=False):
            return None
        try:
            if self.session is None:
                raise LabError("the lesson is closed")
            return list(refusal("shell", self.session).runner.shell(index))
        finally:
            self.lock.release()

    def check(self, index: int) -> ChecksEnded:
        """Blocking (a worker): check step *index* after the learner's turn."""
        try:
            with self.lock:
                session = self.session
                if session is None:
                    raise LabError("the lesson is closed")
                checks = list(session.runner.check_step(index))
                views = list(session.runner.refresh_views(index))
        except Exception as e:
            return self._emit(ChecksEnded(index, error=self.describe(e, "checking the step")))
        return self._emit(ChecksEnded(index, checks, views=views))

    def checks_ended(self, event: ChecksEnded) -> tuple[bool, str]:
        """Record a check's end: (all passed, '' or why the progress could not be saved)."""
        self.checking = None
        if event.error:
            return False, ""
        self.last_checks[event.index] = list(event.checks)
        step_id = self.lesson.steps[event.index].id
        self.note(step_id, attempt=True)
        if not all(c.ok for c in event.checks):
            return False, ""
        self.statuses[step_id] = "passed"
        return True, self.mark(step_id, "passed")

    def _emit(self, event: Any) -> Any:
        self.on_event(event)
        return event
