"""The lesson screen: step outline | explanation over the results bench, a status line.

The runner works in thread workers; its events arrive here as messages
(``EngineEvent``, ``StepEnded``, ``ChecksEnded``, ``SessionOpened``) and only
these handlers touch widgets.

One session's work runs one thing at a time: every engine action (open — which
may first undo a dead session —, run, check, close) is a worker of the one
group ``engine`` and holds ``engine_lock`` while it uses the session, so a run
and a check never share the journal at once, and Reset/close wait for what runs
(after cancelling it). The event loop never waits on the engine.
"""

from __future__ import annotations

import asyncio
import subprocess
import threading
import time
from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult, SuspendNotSupported
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Header, OptionList, ProgressBar, Static
from textual.worker import Worker

from lab.errors import LabError
from lab.lesson.model import Lesson, Step, StepResult
from lab.tui import applog, commands, engine
from lab.tui.messages import ChecksEnded, EngineEvent, SessionClosed, SessionOpened, StepEnded
from lab.tui.strings import s
from lab.tui.widgets.bench import Bench
from lab.tui.widgets.explain import Explanation, step_markdown
from lab.tui.widgets.outline import StepOutline

NARROW = 100  # below this width the outline hides (o shows it)
ENGINE = "engine"  # the one worker group of a lesson session's work
LOCK_WAIT = 60.0  # closing waits this long for a cancelled action to give the session back


def _one_line(e: BaseException, where: str = "") -> str:
    """One line for the screen; anything but a LabError also goes to the log with
    its traceback (a LabError is a message for the learner, not a bug)."""
    if isinstance(e, LabError):
        return f"{e.message}" + (f" — {e.fix}" if e.fix else "")
    return applog.record(where or "lesson", e)


@applog.guarded
class LessonScreen(Screen):
    BINDINGS = commands.bindings("lesson")  # keys, palette and help: lab/tui/commands.py

    def __init__(
        self,
        lesson: Lesson,
        step: int | None = None,
        watch: bool = False,
        problems: list[Any] | None = None,
    ) -> None:
        super().__init__()
        self.lesson = lesson
        self.index = 0
        self.start_step = step
        self.follow_file = watch  # --watch: reload when the lesson file changes
        self.statuses: dict[str, str] = {}
        self.hints_shown: dict[int, int] = {}
        self.solution_shown: set[int] = set()
        self.session: engine.Session | None = None
        self.session_error = ""
        self.opening = False  # a worker is opening the session (maybe cleaning up first)
        self.closing = False
        self.running: Worker | None = None
        self.checking: Worker | None = None
        self.cancel = threading.Event()
        self.engine_lock = threading.Lock()  # held by whatever uses the session
        self.owner: Any = None  # the app (kept: threads may need it after the screen went)
        self.after_open: tuple[str, str] | None = None  # the status to show once opened
        self.queued: str | None = None  # an action asked for while the session was opening
        self.opening_status: tuple[str, str] = ("", "")
        self.idle = threading.Event()  # set while no step thread runs
        self.idle.set()
        self.run_started = 0.0
        self.run_index = -1
        self.events_seen = 0
        self.outline_forced: bool | None = None
        self._mtime = engine.lesson_mtime(lesson.path) if watch else 0.0
        self._checks: list[Any] = []

    # -- layout --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        yield Header(show_clock=False, icon="⚙")
        with Horizontal(id="body"):
            yield StepOutline(id="outline")
            with Vertical(id="main"):
                yield Explanation(id="explain")
                yield Bench(id="bench")
        with Horizontal(id="statusbar"):
            yield Static(id="status", markup=False)
            yield ProgressBar(id="progress", show_eta=False, show_percentage=False)
        yield Footer()

    @property
    def lang(self) -> str:
        return self.app.lang  # type: ignore[attr-defined]

    @property
    def step(self) -> Step:
        return self.lesson.steps[self.index]

    def on_mount(self) -> None:
        app: Any = self.app
        self.owner = app
        self.set_class(app.big, "-big")
        self.query_one(Bench).big = app.big
        commands.localize(self, self.lang)
        self.watch(self.app, "lang", self.relang, init=False)  # the app's state
        self.watch(self.app, "big", self.set_big, init=False)
        self.statuses = {sid: "failed" for sid in app.progress.failed(self.lesson)}
        self.statuses.update({sid: "passed" for sid in app.progress.done(self.lesson)})
        if self.start_step is not None:
            self.index = max(0, min(self.start_step - 1, len(self.lesson.steps) - 1))
        else:
            self.index = max(
                0, min(app.progress.first_unfinished(self.lesson), len(self.lesson.steps) - 1)
            )
        self.open_session()
        self.query_one("#progress", ProgressBar).display = False
        self.show_step()
        if self.follow_file:
            self.set_interval(1.0, self.poll_file)
        self.set_interval(0.25, self.tick)

    def on_resize(self) -> None:
        self.apply_outline()
        self.query_one(Footer).compact = self.size.width < 110

    def apply_outline(self) -> None:
        auto = self.size.width >= NARROW and not self.app.big  # type: ignore[attr-defined]
        shown = auto if self.outline_forced is None else self.outline_forced
        self.query_one(StepOutline).display = shown

    # -- the session (journal + runner) -------------------------------------------
    @property
    def busy(self) -> bool:
        """Something of this session's runs or waits (a step, a check, opening, closing)."""
        return bool(self.running or self.checking or self.opening or self.closing)

    def open_session(self) -> None:
        """Open the session in a worker: Journal.open may first undo a dead session
        (kills, docker rm with retries, a lock wait) — never on the event loop."""
        app: Any = self.owner
        self.opening = True
        self.session_error = ""
        app.live.add(self)
        self.opening_status = (
            (f"◌ {s('status.recovering', self.lang)}", "yellow")
            if engine.dead_sessions(app.home)
            else (f"◌ {s('status.opening', self.lang)}", "")
        )
        self.set_status(*self.opening_status)
        self.open_worker()

    @work(thread=True, group=ENGINE, exit_on_error=False)
    def open_worker(self) -> None:
        app: Any = self.owner
        with self.engine_lock:
            if self.closing or self.session is not None:
                self.post_message(SessionOpened(self.session))
                return
            try:
                session = app.new_session(self.lesson, self.post_engine_event)
            except Exception as e:  # not root, home not writable…: say so, never a traceback
                self.post_message(SessionOpened(None, _one_line(e, "opening the lesson")))
                return
            self.session = session  # under the lock: a close waiting for it sees it
        self.post_message(SessionOpened(session))

    def on_session_opened(self, message: SessionOpened) -> None:
        self.opening = False
        if message.error:
            self.session_error = message.error
            self.owner.live.discard(self)
        if not self.is_mounted or not self.lesson.steps:
            return
        self.show_step()
        if self.after_open and not message.error:
            self.set_status(*self.after_open)
        self.after_open = None
        queued, self.queued = self.queued, None
        if queued and message.session is not None:  # asked for while opening: do it now
            self.call_later(self.run_action, queued)
        recovered = getattr(getattr(message.session, "journal", None), "recovered", None)
        if recovered is not None and getattr(recovered, "results", None):
            self.app.notify(s("status.recovered", self.lang), timeout=6)

    def post_engine_event(self, event: Any) -> None:
        """The runner's on_event: called from the worker thread, so it only posts."""
        self.post_message(EngineEvent(event))

    async def close_session(self) -> None:
        """Cancel what runs, then clean up in a worker (which waits for the running
        action to give the session back). The screen stays live. Safe to call twice."""
        self.cancel.set()
        if self.session is None and not self.opening and not self.running and not self.checking:
            self.owner.live.discard(self)
            return
        self.closing = True
        self.set_status(s("status.cleanup", self.lang))
        try:
            worker = self.close_worker()
            await worker.wait()
        except Exception as e:  # WorkerFailed: the worker reported its own error already
            self.app.log.error(f"close: {e}")
        finally:
            self.closing = False

    @work(thread=True, group=ENGINE, exit_on_error=False)
    def close_worker(self) -> None:
        self.post_message(SessionClosed(self.close_now()))

    def on_session_closed(self, message: SessionClosed) -> None:
        if message.error:
            self.owner.show_error(message.error)

    def close_now(self) -> str:
        """Cancel, wait (bounded) for the running action to give the session back, clean
        up. Blocking: call it from a worker or thread, or after the app's loop ended.
        Returns '' or one line saying what failed (logged with the details)."""
        self.cancel.set()
        got = self.engine_lock.acquire(timeout=LOCK_WAIT)
        try:
            session, self.session = self.session, None
            if session is None:
                return ""
            if not got:
                applog.record("closing the lesson", TimeoutError("the running step never ended"))
            try:
                session.close()
            except Exception as e:
                return _one_line(e, "cleaning up the lesson")
            return ""
        finally:
            if got:
                self.engine_lock.release()
            if self.owner is not None:
                self.owner.live.discard(self)

    def on_unmount(self) -> None:
        # leaving with the session open (the app is exiting): close it in a thread
        if self.session is not None or self.opening or self.running or self.checking:
            self.cancel.set()
            self.owner.close_later(self)

    # -- showing a step ------------------------------------------------------------
    def show_step(self) -> None:
        lesson, lang = self.lesson, self.lang
        self.title = f"{lesson.id} · {lesson.title_in(lang)}"
        if not lesson.steps:
            self.sub_title = ""
            self.query_one(Explanation).show(lesson.intro_in(lang) or lesson.summary_in(lang))
            return
        self.sub_title = f"{s('step', lang)} {self.index + 1}/{len(lesson.steps)}"
        self.refresh_outline()
        self.refresh_explanation()
        bench = self.query_one(Bench)
        bench.setup(self.step, lang)
        self.add_class("-fresh")
        self.show_requirements()
        if self.opening:  # (maybe cleaning up a dead session first): say so
            self.set_status(*self.opening_status)
        else:
            self.set_status(self.status_for(self.statuses.get(self.step.id, "")))

    def refresh_outline(self) -> None:
        statuses = dict(self.statuses)
        if self.running is not None and 0 <= self.run_index < len(self.lesson.steps):
            statuses[self.lesson.steps[self.run_index].id] = "running"
        self.query_one(StepOutline).show(self.lesson, statuses, self.index, self.lang)

    def fill_prose(self, text: str) -> str:
        runner = getattr(self.session, "runner", None)
        variables = getattr(runner, "vars", None)
        return variables.fill_known(text) if variables is not None else text

    def refresh_explanation(self, keep_scroll: bool = False) -> None:
        md = step_markdown(
            self.step,
            self.index + 1,
            len(self.lesson.steps),
            self.lang,
            self.hints_shown.get(self.index, 0),
            self.index in self.solution_shown,
            fill=self.fill_prose,
        )
        if self.index == 0 and self.lesson.intro_in(self.lang).strip():
            md = self.lesson.intro_in(self.lang).strip() + "\n\n" + md
        self.query_one(Explanation).show(md, keep_scroll)

    def show_requirements(self) -> None:
        """Before running: if the machine lacks what the step needs, say what and how to fix it."""
        transcript = self.query_one(Bench).transcript
        if self.session is None:
            if self.session_error:
                transcript.note(f"✗ {self.session_error}", "bold red")
            return
        reqs = list(dict.fromkeys([*self.lesson.requires, *self.step.requires]))
        try:  # doctor's checks were made at start-up, in a worker: no probing here
            lacking = [
                f"{c.name}: {c.detail}" + (f" — fix: {c.fix}" if c.fix else "")
                for c in engine.missing(reqs, self.app.checks)  # type: ignore[attr-defined]
            ]
        except Exception:
            lacking = []
        if lacking:
            lines = [s("step.needs", self.lang) + ":"]
            lines += [f"  ✗ {why}" for why in lacking]
            transcript.note("\n".join(lines), "yellow")

    def status_for(self, status: str) -> str:
        lang = self.lang
        if status == "passed":
            last = self.index == len(self.lesson.steps) - 1
            return f"✓ {s('status.passed', lang)} — " + s(
                "status.last" if last else "status.next", lang
            )
        if status == "failed":
            return f"✗ {s('status.failed', lang)} — {s('status.retry', lang)}"
        if status:
            return s(f"status.{status}", lang)
        return f"{s('status.ready', lang)} — {s('bench.empty', lang)}"

    def set_status(self, text: str | Text, style: str = "") -> None:
        widget = self.query_one("#status", Static)
        widget.update(Text(text, style=style) if isinstance(text, str) else text)

    def go(self, index: int) -> None:
        if not self.lesson.steps:
            return
        index = max(0, min(index, len(self.lesson.steps) - 1))
        if self.running is not None or self.checking is not None:
            self.app.notify(s("status.busy", self.lang), severity="warning")
            return
        self.index = index
        self.show_step()

    # -- actions -------------------------------------------------------------------
    def action_next(self) -> None:
        if self.index >= len(self.lesson.steps) - 1:
            self.set_status(s("status.last", self.lang))
            return
        self.go(self.index + 1)

    def action_previous(self) -> None:
        self.go(self.index - 1)

    def action_goto(self, number: int) -> None:
        if number <= len(self.lesson.steps):
            self.go(number - 1)

    def action_jump(self) -> None:
        from lab.tui.screens.jump import JumpScreen

        def chosen(index: int | None) -> None:
            if index is not None:
                self.go(index)

        self.app.push_screen(JumpScreen(self.lesson, self.statuses, self.index, self.lang), chosen)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.go(event.option_index)

    def action_hint(self) -> None:
        hints = self.step.hints_in(self.lang)
        shown = self.hints_shown.get(self.index, 0)
        if not hints:
            self.app.notify(s("step.no_hints", self.lang))
            return
        if shown >= len(hints):
            self.app.notify(s("step.no_more_hints", self.lang))
            return
        self.hints_shown[self.index] = shown + 1
        self.refresh_explanation(keep_scroll=True)

    def action_solution(self) -> None:
        if not self.step.of("solution"):
            self.app.notify(s("step.no_solution", self.lang))
            return
        self.solution_shown.add(self.index)
        self.refresh_explanation(keep_scroll=True)

    def action_outline(self) -> None:
        self.outline_forced = not self.query_one(StepOutline).display
        self.apply_outline()

    def action_run(self, solution: bool = False) -> None:
        if not self.lesson.steps:
            return
        if not self.ready("run_solution" if solution else "run"):
            return
        bench = self.query_one(Bench)
        bench.setup(self.step, self.lang)
        self._checks = []
        self.cancel = threading.Event()
        self.run_index = self.index
        self.run_started = time.monotonic()
        self.events_seen = 0
        bar = self.query_one("#progress", ProgressBar)
        steps = [a for a in self.step.actions if a.kind in ("run", "spawn", "view", "check")]
        if solution:
            steps += self.step.of("solution")
        bar.update(total=max(1, len(steps)), progress=0)
        bar.display = True
        self.idle.clear()
        self.remove_class("-fresh")
        self.running = self.run_step_worker(self.index, self.cancel, solution)
        self.refresh_outline()
        self.tick()

    def ready(self, action: str = "") -> bool:
        """Whether the session can take an action now; if not, say why. An *action*
        asked for while the session is still opening runs once it is open."""
        if self.opening and not (self.running or self.checking or self.closing) and action:
            self.queued = action
            return False
        if self.busy:
            self.app.notify(s("status.busy", self.lang), severity="warning")
            return False
        if self.session is None:
            self.set_status(f"✗ {self.session_error or s('status.opening', self.lang)}", "bold red")
            return False
        return True

    def action_run_solution(self) -> None:
        if not self.step.of("solution"):
            self.app.notify(s("step.no_solution", self.lang))
            return
        self.solution_shown.add(self.index)
        self.refresh_explanation(keep_scroll=True)
        self.action_run(solution=True)

    @work(thread=True, group=ENGINE, exit_on_error=False)
    def run_step_worker(self, index: int, cancel: threading.Event, solution: bool) -> None:
        """Thin: run the step (holding the session), post the result. Never touches a widget."""
        try:
            with self.engine_lock:
                session = self.session
                if session is None or cancel.is_set():  # closed (or cancelled) meanwhile
                    step_id = self.lesson.steps[index].id
                    result = StepResult(step_id, "cancelled", reason="the lesson was closed")
                else:
                    result = session.runner.run_step(index, cancel, solution=solution)
        except Exception as e:
            self.post_message(
                StepEnded(index, error=_one_line(e, "running the step"), solution=solution)
            )
        else:
            self.post_message(StepEnded(index, result, solution=solution))
        finally:
            self.idle.set()

    def tick(self) -> None:
        if self.running is None:
            return
        spent = time.monotonic() - self.run_started
        spin = "◐◓◑◒"[int(spent * 4) % 4]
        self.set_status(f"{spin} {s('status.running', self.lang)} · {spent:.1f} s   (Esc: cancel)")

    # -- engine events (main thread) -------------------------------------------------
    def on_engine_event(self, message: EngineEvent) -> None:
        ev = message.event
        if (
            self.run_index < 0
            or getattr(ev, "step_id", None) != self.lesson.steps[self.run_index].id
        ):
            return
        self.events_seen += 1
        bench = self.query_one(Bench)
        bar = self.query_one("#progress", ProgressBar)
        kind = type(ev).__name__
        if kind == "ActionStarted":
            bench.transcript.started(ev.command)
        elif kind == "Output":
            text = ev.text if ev.text.endswith("\n") else ev.text + "\n"  # the runner sends lines
            bench.transcript.output(text, ev.stream)
        elif kind == "ActionFinished":
            bench.transcript.finished(ev.result)
            bar.advance(1)
        elif kind == "ViewReady":
            bench.view_ready(ev.view)
            bar.advance(1)
        elif kind == "CheckDone":
            self._checks.append(ev.result)
            bench.show_checks(self._checks)
            bar.advance(1)

    def on_step_ended(self, message: StepEnded) -> None:
        self.running = None
        self.query_one("#progress", ProgressBar).display = False
        step = self.lesson.steps[message.index]
        bench = self.query_one(Bench)
        on_screen = message.index == self.index
        if message.error:
            self.statuses[step.id] = "failed"
            self.refresh_outline()
            if on_screen:
                bench.transcript.note(
                    f"✗ {s('status.crash', self.lang)}: {message.error}", "bold red"
                )
                self.set_status(f"✗ {s('status.crash', self.lang)}: {message.error}", "bold red")
            return
        result = message.result
        if self.awaits_try(step, result, message.solution):
            self.statuses.pop(step.id, None)  # not failed: the learner's part is still to do
        else:
            self.statuses[step.id] = result.status
            if result.status in ("passed", "failed"):
                self.save_progress(step.id, result.status)
        self.refresh_outline()
        if not on_screen:
            return
        if not self.events_seen:  # a runner that reports only at the end: show it all now
            self.replay(result)
        if bench.transcript.untouched:  # "press r to run" would read as if r had not worked
            bench.transcript.note(s("bench.no_commands", self.lang), "dim italic")
        waits = self.awaits_try(step, result, message.solution)
        if result.checks:
            bench.show_checks(result.checks, pending=waits)
        if waits:
            bench.transcript.note(f"✎ {s('status.your_turn', self.lang)}", "bold cyan")
            tried = self.fill_prose(step.try_in(self.lang).strip())
            if tried:  # the explanation has shrunk to make room: say here what to do
                bench.transcript.note(tried, "cyan")
            self.set_status(f"✎ {s('status.your_turn', self.lang)}", "bold cyan")
            return
        self.explain_result(result)

    def save_progress(self, step_id: str, status: str) -> None:
        error = self.owner.progress.mark(self.lesson, step_id, status)
        if error:
            self.owner.show_error(error)

    @staticmethod
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

    def replay(self, result: Any) -> None:
        bench = self.query_one(Bench)
        for a in result.actions:
            bench.transcript.started(a.command)
            if a.stdout:
                bench.transcript.output(a.stdout)
            if a.stderr:
                bench.transcript.output(a.stderr, "stderr")
            bench.transcript.finished(a)
        for v in result.views:
            bench.view_ready(v)

    def explain_result(self, result: Any) -> None:
        lang = self.lang
        transcript = self.query_one(Bench).transcript
        took = f" · {result.seconds:.2f} s" if result.seconds else ""
        if result.status == "passed":
            self.set_status(self.status_for("passed") + took, "green")
        elif result.status == "failed":
            reason = result.reason or next(
                (f"{c.message}: {c.reason}" for c in result.checks if not c.ok), ""
            )
            bad = next((a for a in result.actions if not a.ok), None)
            if bad is not None and not reason:
                reason = bad.note or f"`{bad.command.splitlines()[0]}` exited {bad.exit}"
            transcript.note(
                f"✗ {s('status.failed', lang)}: {reason}\n→ {s('status.retry', lang)}", "bold red"
            )
            self.set_status(
                f"✗ {s('status.failed', lang)}: {reason} — {s('status.retry', lang)}", "bold red"
            )
        else:
            reason = f": {result.reason}" if result.reason else ""
            transcript.note(f"– {s('status.' + result.status, lang)}{reason}", "yellow")
            self.set_status(f"– {s('status.' + result.status, lang)}{reason}", "yellow")

    # -- try it yourself -------------------------------------------------------------
    def action_try_it(self) -> None:
        if not self.ready("try_it"):
            return
        if not self.step.of("try") and not self.step.try_in(self.lang).strip():
            self.app.notify(s("step.no_try", self.lang))
            return
        guard = self.owner.guard
        if guard is not None and guard.triggered:
            return  # the app is ending
        if not self.engine_lock.acquire(blocking=False):
            self.app.notify(s("status.busy", self.lang), severity="warning")
            return
        try:  # quick (no command runs): journals the shell, marked, before it starts
            argv = self.session.runner.shell(self.index)  # type: ignore[union-attr]
        except Exception as e:
            self.set_status(f"✗ {s('try.cannot', self.lang)}: {_one_line(e, 'try')}", "bold red")
            return
        finally:
            self.engine_lock.release()
        try:
            self.launch_shell(argv)
        except SuspendNotSupported:
            self.set_status(
                f"✗ {s('try.cannot', self.lang)}: this terminal cannot be suspended", "bold red"
            )
            return
        except OSError as e:
            self.set_status(f"✗ {s('try.cannot', self.lang)}: {_one_line(e)}", "bold red")
            return
        self.set_status(s("status.checking", self.lang))
        self.checking = self.check_worker(self.index)

    def launch_shell(self, argv: list[str]) -> int:
        """Suspend the app and hand the terminal to a real shell until it exits.

        The shell is known to the guard: if the terminal goes away or a signal ends
        the app meanwhile, the guard ends the shell and this returns. Everything the
        learner starts in it carries the lab's marker (runner.shell journals it).
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
        try:
            with self.engine_lock:
                session = self.session
                if session is None:
                    raise LabError("the lesson is closed")
                checks = session.runner.check_step(index)
                views = session.runner.refresh_views(index)
        except Exception as e:
            self.post_message(ChecksEnded(index, [], _one_line(e, "checking the step")))
        else:
            self.post_message(ChecksEnded(index, list(checks), views=views))

    def on_checks_ended(self, message: ChecksEnded) -> None:
        self.checking = None
        lang = self.lang
        if message.error:
            self.set_status(f"✗ {message.error}", "bold red")
            return
        step = self.lesson.steps[message.index]
        if message.views and message.index == self.index:
            self.query_one(Bench).replace_views(message.views)
        self.query_one(Bench).show_checks(message.checks)
        ok = all(c.ok for c in message.checks)
        if ok:
            self.statuses[step.id] = "passed"
            self.save_progress(step.id, "passed")
            self.set_status(f"✓ {s('status.try_ok', lang)} — {s('status.next', lang)}", "green")
        else:
            bad = next(c for c in message.checks if not c.ok)
            why = f"{bad.message}" + (f": {bad.reason}" if bad.reason else "")
            self.set_status(f"✗ {s('status.try_fail', lang)} — {why}", "bold red")
        self.refresh_outline()

    # -- reset, back, language, watch -----------------------------------------------
    async def action_reset(self) -> None:
        if self.closing:
            return
        await self.close_session()
        error = self.owner.progress.reset(self.lesson)
        if error:
            self.owner.show_error(error)
        self.statuses.clear()
        self.hints_shown.clear()
        self.solution_shown.clear()
        self.index = 0
        self.open_session()
        self.show_step()
        self.after_open = (s("status.reset", self.lang), "green")

    async def action_back(self) -> None:
        if self.running is not None:  # Esc while running: cancel the step
            self.cancel.set()
            self.set_status(f"◌ {s('status.cancelling', self.lang)}", "yellow")
            return
        if self.closing:
            return
        await self.close_session()
        self.app.pop_screen()
        refresh = getattr(self.app.screen, "refresh_entries", None)
        if refresh:
            refresh()

    def relang(self, lang: str) -> None:
        commands.localize(self, lang)
        if self.session is not None and hasattr(self.session.runner, "lang"):
            self.session.runner.lang = lang
            ctx = getattr(self.session.runner, "ctx", None)
            if ctx is not None and hasattr(ctx, "lang"):  # the checks' messages read it
                ctx.lang = lang
        self.refresh_explanation(keep_scroll=True)
        self.refresh_outline()
        self.query_one(Bench).relang(lang)
        self.title = f"{self.lesson.id} · {self.lesson.title_in(lang)}"
        if self.lesson.steps:
            self.sub_title = f"{s('step', lang)} {self.index + 1}/{len(self.lesson.steps)}"
        if self.running is None:
            self.set_status(
                self.status_for(self.statuses.get(self.step.id, "")) if self.lesson.steps else ""
            )

    def set_big(self, big: bool) -> None:
        self.set_class(big, "-big")
        bench = self.query_one(Bench)
        bench.big = big
        bench.relayout()
        self.apply_outline()

    async def poll_file(self) -> None:
        mtime = engine.lesson_mtime(self.lesson.path)
        if mtime == self._mtime or self.busy:
            return
        self._mtime = mtime
        lesson, problems = await asyncio.to_thread(engine.load, Path(self.lesson.path), self.lang)
        if lesson is None or problems:
            first = f": {problems[0]}" if problems else ""
            self.app.notify(s("status.reload_bad", self.lang) + first, severity="error", timeout=8)
            return
        await self.close_session()
        self.lesson = lesson
        self.index = min(self.index, max(0, len(lesson.steps) - 1))
        self.open_session()
        self.show_step()
        self.after_open = (s("status.reloaded", self.lang), "green")
