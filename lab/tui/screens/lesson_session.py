"""The lesson screen's session side: the session controller's workers and the
messages they post. ``LessonScreen`` (lesson.py) builds on it and only draws.

Every engine action (open — which may first undo a dead session —, run, check,
close) is a thread worker of the one group ``engine``; the controller
(lab/lesson/session.py) holds its lock while it uses the session, so a run and a
check never share the journal at once and Reset/close wait for what runs (after
cancelling it). Textual's own cancellation of an engine worker (``worker.cancel()``,
the screen going) reaches the runner's cancel event. The event loop never waits on
the engine.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import Any

from textual import on, work
from textual.app import SuspendNotSupported
from textual.message import Message
from textual.worker import Worker, WorkerState, get_current_worker

from lab.errors import LabError
from lab.lesson.model import Lesson
from lab.lesson.session import Closed, LessonSession
from lab.tui import applog, engine, messages
from lab.tui.screens.practice import PracticeScreen
from lab.tui.strings import s

ENGINE = "engine"  # the one worker group of a lesson session's work


def _one_line(e: BaseException, where: str = "") -> str:
    """One line for the screen; anything but a LabError also goes to the log with
    its traceback (a LabError is a message for the learner, not a bug)."""
    if isinstance(e, LabError):
        return f"{e.message}" + (f" — {e.fix}" if e.fix else "")
    return applog.record(where or "lesson", e)


def _session(name: str) -> Any:
    """A screen attribute that is the session controller's (tests and the app read them)."""
    return property(
        lambda self: getattr(self.ctl, name), lambda self, value: setattr(self.ctl, name, value)
    )


def handles(kind: type[Message]) -> Callable[[Callable[..., Any]], Any]:
    """``@on(kind)`` for a handler that reports its own failure (one line on screen,
    the traceback in the log) like every ``on_*``/``action_*`` of a guarded screen."""

    def wrap(fn: Callable[..., Any]) -> Any:
        return on(kind)(applog._guard(fn, fn.__name__))

    return wrap


@applog.guarded
class SessionScreen(PracticeScreen):  # practice beside the app: screens/practice.py
    """A screen with one lesson session (``ctl``), driven from workers."""

    lesson = _session("lesson")
    index = _session("index")
    statuses = _session("statuses")
    hints_shown = _session("hints_shown")
    solution_shown = _session("solution_shown")
    session = _session("session")
    session_error = _session("error")
    opening = _session("opening")
    running = _session("running")
    checking = _session("checking")
    engine_lock = _session("lock")
    cancel = _session("cancel_event")

    def __init__(self, lesson: Lesson, watch: bool = False) -> None:
        super().__init__()
        self.ctl = LessonSession(lesson, self._open, self._post, describe=_one_line)
        self.ctl.mtime = engine.lesson_mtime(lesson.path) if watch else 0.0
        self.owner: Any = None  # the app (kept: threads may need it after the screen went)
        self.after_open: tuple[str, str] | None = None  # the status to show once opened
        self.opening_status: tuple[str, str] = ("", "")

    @property
    def lang(self) -> str:
        return self.app.lang  # type: ignore[attr-defined]

    def set_status(self, text: Any, style: str = "") -> None:
        raise NotImplementedError

    def show_step(self) -> None:
        raise NotImplementedError

    # -- the session: opened, closed in workers ------------------------------------
    @property
    def busy(self) -> bool:
        return self.ctl.busy

    def _open(self, lesson: Lesson, on_event: Any) -> Any:
        return self.owner.new_session(lesson, on_event)

    def _post(self, event: Any) -> None:
        """The session's (and runner's) on_event: any thread, so it only posts."""
        message = messages.for_event(event)
        if message is not None:
            self.post_message(message)

    def open_session(self) -> None:
        """Open the session in a worker: Journal.open may first undo a dead session
        (kills, docker rm with retries, a lock wait) — never on the event loop."""
        self.ctl.begin_open()
        self.owner.live.add(self)
        recovering = engine.dead_sessions(self.owner.home)
        key_, style = ("status.recovering", "yellow") if recovering else ("status.opening", "")
        self.opening_status = (f"◌ {s(key_, self.lang)}", style)
        self.set_status(*self.opening_status)
        self.open_worker()

    @work(thread=True, group=ENGINE, exit_on_error=False)
    def open_worker(self) -> None:
        self.ctl.open()

    @on(messages.SessionOpened)
    def session_opened(self, message: messages.SessionOpened) -> None:
        event = message.event
        queued = self.ctl.opened(event)
        if event.error:
            self.owner.live.discard(self)
        if not self.is_mounted or not self.lesson.steps:
            return
        self.show_step()
        if self.after_open and not event.error:
            self.set_status(*self.after_open)
        self.after_open = None
        if queued:  # asked for while opening: do it now
            self.call_later(self.run_action, queued)
        recovered = getattr(getattr(event.session, "journal", None), "recovered", None)
        if recovered is not None and getattr(recovered, "results", None):
            self.app.notify(s("status.recovered", self.lang), timeout=6)

    async def close_session(self) -> None:
        """Cancel what runs, then clean up in a worker (which waits for the running
        action to give the session back). The screen stays live. Safe to call twice."""
        await self.end_practice_now()  # the shell beside: its pane closed, what it started killed
        if not self.ctl.begin_close():
            self.owner.live.discard(self)
            return
        self.set_status(s("status.cleanup", self.lang))
        worker = self.close_worker()
        try:
            await worker.wait()
        except Exception as e:  # WorkerFailed: the worker reported its own error already
            self.app.log.error(f"close: {e}")
        finally:
            self.ctl.closed()

    @work(thread=True, group=ENGINE, exit_on_error=False)
    def close_worker(self) -> None:
        self._post(Closed(self.close_now()))

    @on(messages.SessionClosed)
    def session_closed(self, message: messages.SessionClosed) -> None:
        if message.event.error:
            self.owner.show_error(message.event.error)

    def close_now(self) -> str:
        """Blocking (a worker, a thread, or after the app's loop ended): cancel, wait
        for the running action, clean up. Returns '' or one line saying what failed."""
        try:
            return self.ctl.close_now(record=applog.record)
        finally:
            if self.owner is not None:
                self.owner.live.discard(self)

    def on_unmount(self) -> None:
        # leaving with the session open (the app is exiting): close it in a thread
        if self.ctl.live:
            self.ctl.cancel()
            self.owner.close_later(self)

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Textual's cancellation of an engine worker reaches the runner's cancel event."""
        if event.worker.group == ENGINE and event.state == WorkerState.CANCELLED:
            self.ctl.cancel()

    def ready(self, action: str = "") -> bool:
        """Whether the session can take an action now; if not, say why. An *action*
        asked for while the session is still opening runs once it is open."""
        verdict = self.ctl.request(action)
        if verdict == "busy":
            self.app.notify(s("status.busy", self.lang), severity="warning")
        elif verdict == "closed":
            why = self.session_error or s("status.opening", self.lang)
            self.set_status(f"✗ {why}", "bold red")
        return verdict == "ok"

    @work(thread=True, group=ENGINE, exit_on_error=False)
    def run_step_worker(self, index: int, cancel: Any, solution: bool) -> None:
        """Thin: the session runs the step (holding it) and reports. Never touches a widget."""
        worker = get_current_worker()
        self.ctl.run(index, cancel, solution, cancelled=lambda: worker.is_cancelled)

    # -- try it yourself: a real shell, then the step's checks -------------------------------------------------------------
    def action_try_it(self) -> None:
        if not self.ready("try_it"):
            return
        lang = self.lang
        if not self.step.of("try") and not self.step.try_in(lang).strip():
            self.app.notify(s("step.no_try", lang))
            return
        guard = self.owner.guard
        if guard is not None and guard.triggered:
            return  # the app is ending
        if self.practice_beside():  # inside tmux: the shell opens beside the app
            return
        self.end_practice()  # offered to a second terminal: this terminal takes it now
        try:  # quick (no command runs): journals the shell, marked, before it starts
            argv = self.ctl.shell(self.index)
        except Exception as e:
            self.set_status(f"✗ {s('try.cannot', lang)}: {_one_line(e, 'try')}", "bold red")
            return
        if argv is None:
            self.app.notify(s("status.busy", lang), severity="warning")
            return
        try:
            self.launch_shell(argv)
        except SuspendNotSupported:
            self.set_status(
                f"✗ {s('try.cannot', lang)}: this terminal cannot be suspended", "bold red"
            )
            return
        except OSError as e:
            self.set_status(f"✗ {s('try.cannot', lang)}: {_one_line(e)}", "bold red")
            return
        self.set_status(s("status.checking", lang))
        self.checking = self.check_worker(self.index)

    def launch_shell(self, argv: list[str]) -> int:
        """Suspend the app and hand the terminal to a real shell until it exits.

        The shell is known to the guard: if the terminal goes away or a signal ends
        the app meanwhile, the guard ends the shell and this returns. Everything the
        learner starts in it carries the lab's marker (the session journals it).
        Tests replace this method: a headless test app cannot suspend.
        """
        guard = self.owner.guard
        with self.app.suspend():
            # a clean screen: not the previous shell's leftovers above the banner
            print("\033[H\033[2J", end="")
            print(f"\033[1;36mshikumi\033[0m · {self.step.title_in(self.lang)}")
            print(s("try.banner", self.lang))
            tried = self.fill_prose(self.step.try_in(self.lang).strip())
            if tried:
                print("\n" + tried + "\n", flush=True)
            shell = subprocess.Popen(argv)
            if guard is not None:
                guard.children.add(shell)
            try:
                if guard is not None and guard.triggered:
                    guard.kill_children()
                return shell.wait()
            finally:
                if guard is not None:
                    guard.children.discard(shell)

    @work(thread=True, group=ENGINE, exit_on_error=False)
    def check_worker(self, index: int) -> None:
        self.ctl.check(index)
