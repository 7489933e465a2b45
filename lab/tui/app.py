"""The shikumi app: the lesson list, a lesson at a time, global keys and the command palette.

    ShikumiApp(home, lang, dirs)            opens on the lesson list
    ShikumiApp(..., lesson=L, step=N)       opens at lesson L (step N, 1-based)

The app owns what outlives a screen: the language, the progress store, the
doctor's checks (probed once in a worker), the big-screen mode. Quitting closes
every open lesson first (its runner cleans up and its journal is dropped, in a
worker); ``close_all()`` is the synchronous safety net the command calls after
``run()``, off the event loop.

The terminal may go away in any state: ``terminal.Guard`` (started with a real
terminal) notices it, or SIGHUP/SIGTERM/SIGINT, and ends the app the same clean
way; failures anywhere show one line on screen and go to the app's log in the
home (``applog``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import constants, work
from textual.app import App, SystemCommand
from textual.driver import Driver
from textual.reactive import var
from textual.screen import Screen
from textual.worker import Worker, WorkerState

from lab.lesson.model import Lesson
from lab.tui import applog, cjk, commands, engine

SessionFactory = Callable[[Lesson, Callable[[Any], None]], Any]
log = logging.getLogger(applog.LOGGER)
CLOSE_WAIT = 60.0  # how long quitting waits for a session's cleanup


@applog.guarded
class ShikumiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "shikumi-lab"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = commands.bindings("app")
    # the app's state: screens follow it with watchers (self.watch(self.app, "lang", ...))
    lang: var[str] = var("en")
    big: var[bool] = var(False)

    def __init__(
        self,
        home: Path,
        lang: str = "en",
        dirs: list[Path] | None = None,
        lesson: Lesson | None = None,
        step: int | None = None,
        watch: bool = False,
        run_doctor: bool = True,
        entries: list[engine.Entry] | None = None,
    ) -> None:
        cjk.install()  # once, before anything draws: Japanese lines break between characters
        super().__init__()
        self.set_reactive(ShikumiApp.lang, lang)
        self.home = home
        self.dirs = dirs
        self.start_lesson = lesson
        self.start_step = step
        self.follow_file = watch  # --watch: reload the lesson when its file changes
        self.run_doctor = run_doctor
        self.checks: list[Any] | None = None
        self.progress = engine.ProgressStore(home)
        self._entries = entries
        self.session_factory: SessionFactory | None = None  # tests may supply one
        self.log_file = applog.setup(home)
        self.errors: list[str] = []  # every failure shown (one line each), newest last
        self.guard: Any = None  # terminal.Guard while running in a real terminal
        self.live: set[Any] = set()  # lesson screens whose session is not closed yet
        self._closers: list[threading.Thread] = []  # sessions closing after their screen went

    def get_driver_class(self) -> type[Driver]:
        """Textual's Linux driver, made safe against a terminal that goes away; any
        driver named in TEXTUAL_DRIVER (textual-serve's) is left as it is."""
        import sys

        if constants.DRIVER is None and sys.platform != "win32":
            from lab.tui.terminal import LabDriver

            return LabDriver
        return super().get_driver_class()

    # -- start ---------------------------------------------------------------------
    def on_mount(self) -> None:
        from lab.tui.screens.lesson_list import LessonListScreen

        self.theme = "textual-dark"
        where = ", ".join(str(d) for d in (self.dirs or []))
        self.push_screen(LessonListScreen(self._entries, where))
        if self._entries is None:  # read the lessons in a worker while the list draws
            self.lessons_worker()
        if self.start_lesson is not None:
            self.open_lesson(self.start_lesson, self.start_step, self.follow_file)
        if self.run_doctor:  # after the first frame: its probes fork and take the CPU
            self.call_after_refresh(self.start_doctor)
        self._start_guard()

    def start_doctor(self) -> None:
        self.doctor_worker()

    def _start_guard(self) -> None:
        """With a real terminal: watch it, and catch SIGHUP/SIGTERM/SIGINT (see terminal.py)."""
        if self.is_headless or self.guard is not None:
            return
        from lab.tui.terminal import Guard

        self.guard = Guard(
            asyncio.get_running_loop(), self._guard_exit, self.cancel_all, self.emergency_cleanup
        )
        self.guard.start()

    def _guard_exit(self, code: int) -> None:
        """On the event loop, after a signal or the terminal going away: exit now; the
        sessions are closed in workers as their screens go, and close_all() waits."""
        if self.guard is not None and "terminal" in self.guard.reason:
            stop = getattr(self._driver, "stop_input", None)
            if stop is not None:  # the input thread would spin on the dead terminal's EOF
                stop()
        self.exit(code, return_code=code)

    def cancel_all(self) -> None:
        """Any thread: cancel every running step (their workers see it within a moment)."""
        for screen in list(self.live):
            screen.cancel.set()

    def emergency_cleanup(self) -> None:
        """The guard's last resort when the app's thread is stuck: undo every open
        session's journal from here (no cleanup blocks: they run commands that may hang)."""
        for screen in list(self.live):
            session = screen.session
            if session is None:
                continue
            got = screen.engine_lock.acquire(timeout=0.5)
            try:
                journal = getattr(session, "journal", None)
                if journal is not None:
                    journal.close()
            finally:
                if got:
                    screen.engine_lock.release()

    def load_entries(self) -> list[engine.Entry]:
        try:
            if self.dirs is None:
                self.dirs = engine.lesson_dirs()
            return engine.load_entries(self.dirs, self.lang)
        except Exception as e:  # never a traceback: say it on screen
            self.notify(f"cannot read the lessons: {type(e).__name__}: {e}", severity="error")
            return []

    @work(thread=True, exclusive=True, group="lessons", exit_on_error=False)
    def lessons_worker(self) -> None:
        from lab.tui.messages import LessonsLoaded

        self.post_message(LessonsLoaded(self.load_entries()))

    def on_lessons_loaded(self, message: Any) -> None:
        from lab.tui.screens.lesson_list import LessonListScreen

        for screen in self.screen_stack:
            if isinstance(screen, LessonListScreen):
                screen.where = ", ".join(str(d) for d in (self.dirs or []))
                screen.set_entries(message.entries)

    @work(thread=True, exclusive=True, group="doctor", exit_on_error=False)
    def doctor_worker(self) -> None:
        from lab.tui.messages import DoctorDone

        try:
            checks = engine.doctor_checks(self.home)
        except Exception as e:
            self.post_message(DoctorDone([], applog.record("checking this machine", e)))
        else:
            self.post_message(DoctorDone(checks))

    def on_doctor_done(self, message: Any) -> None:
        if message.error:
            self.show_error(message.error)
        self.checks = message.checks
        for screen in self.screen_stack:
            refresh = getattr(screen, "refresh_entries", None)
            if refresh:
                refresh()

    # -- lessons -------------------------------------------------------------------
    def new_session(self, lesson: Lesson, on_event: Callable[[Any], None]) -> Any:
        if self.session_factory is not None:
            return self.session_factory(lesson, on_event)
        return engine.Session(lesson, self.home, self.lang, on_event, self.checks)

    def open_lesson(self, lesson: Lesson, step: int | None = None, watch: bool = False) -> None:
        from lab.tui.screens.lesson import LessonScreen

        self.push_screen(LessonScreen(lesson, step=step, watch=watch))

    def lesson_screens(self) -> list[Any]:
        from lab.tui.screens.lesson import LessonScreen

        return [sc for sc in self.screen_stack if isinstance(sc, LessonScreen)]

    def action_quit(self, code: int = 0) -> None:
        """Quit; while a lesson's step runs (or its try is checked), ask first: quitting
        cancels it and cleans up what the lesson made (progress is kept)."""
        from lab.tui.screens.confirm import ConfirmScreen, yes
        from lab.tui.strings import s

        running = [sc for sc in self.lesson_screens() if sc.running or sc.checking]
        if not running or isinstance(self.screen, ConfirmScreen):
            self.call_later(self.quit_now, code)
            return
        question = s("confirm.quit", self.lang) + " " + s("confirm.quit_running", self.lang)

        def chosen(value: str | None) -> None:
            if value == "yes":
                self.call_later(self.quit_now, code)

        self.push_screen(ConfirmScreen(question, yes(self.lang), self.lang), chosen)

    async def quit_now(self, code: int = 0) -> None:
        for screen in reversed(self.lesson_screens()):
            await screen.close_session()
        self.exit(code)

    def close_later(self, screen: Any) -> None:
        """A screen went with its session still open (the app is exiting): close it in
        a thread, never on the event loop; close_all() waits for it."""
        t = threading.Thread(target=screen.close_now, name="shikumi-close", daemon=True)
        self._closers.append(t)
        t.start()

    async def on_unmount(self) -> None:
        """The app is ending (its screens are gone): wait, off the event loop, for the
        sessions they left to be closed."""
        await asyncio.to_thread(self.close_all)

    def close_all(self) -> None:
        """After run(): make sure every lesson session is closed (cleanup, journal dropped).
        Called off the event loop (it has ended); bounded when a signal ended the app."""
        end = time.monotonic() + CLOSE_WAIT
        for t in self._closers:
            t.join(max(0.0, end - time.monotonic()))
        for screen in list(self.live):
            screen.close_now()

    # -- failures: one line on screen, the details in the log ------------------------
    def show_error(self, line: str) -> None:
        """One line on screen for a failure whose details are in the log already."""
        self.errors.append(line)
        where = f" (details: {self.log_file})" if self.log_file else ""
        with contextlib.suppress(Exception):
            self.notify(line + where, severity="error", timeout=10, markup=False)

    def report(self, where: str, e: BaseException) -> str:
        """Log *e* with its traceback and show one line; returns that line."""
        line = applog.record(where, e)
        self.show_error(line)
        return line

    def _handle_exception(self, error: Exception) -> None:
        """A failure outside our guarded handlers (Textual's own, a widget's): the app
        cannot go on safely. The traceback goes to the log; Textual ends the app."""
        self._fatal_line = applog.record("the app failed", error)
        self.errors.append(self._fatal_line)
        super()._handle_exception(error)

    def _fatal_error(self) -> None:
        """Ends the app after an unexpected error: one line, never a raw traceback."""
        from rich.text import Text

        self.bell()
        where = f" (details: {self.log_file})" if self.log_file else ""
        line = getattr(self, "_fatal_line", "the app failed")
        self._exit_renderables.append(Text(f"shikumi: {line}{where}", style="bold red"))
        self._close_messages_no_wait()

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """A worker that failed with an error of its own (ours catch theirs): say so."""
        if event.state == WorkerState.ERROR and event.worker.error is not None:
            self.report(f"worker {event.worker.name}", event.worker.error)

    # -- global actions ------------------------------------------------------------
    def action_toggle_lang(self) -> None:
        self.lang = "ja" if self.lang == "en" else "en"

    def action_help(self) -> None:
        from lab.tui.screens.help import HelpScreen

        if type(self.screen).__name__ != "HelpScreen":
            self.push_screen(HelpScreen(self.lang))

    def action_big(self) -> None:
        self.big = not self.big

    def deliver_screenshot(
        self, filename: str | None = None, path: str | None = None, time_format: str | None = None
    ) -> str | None:
        """The palette's Screenshot: an SVG in ~/Downloads when there is one, otherwise in
        the lab's home (a server or VM usually has no Downloads folder, where Textual's
        own default fails with "Failed to save screenshot")."""
        if path is None:
            from platformdirs import user_downloads_path

            downloads = user_downloads_path()
            where = downloads if downloads.is_dir() else Path(self.home) / "screenshots"
            try:
                where.mkdir(parents=True, exist_ok=True)
            except OSError:
                where = Path.cwd()
            path = str(where)
        return super().deliver_screenshot(filename, path, time_format)

    def action_toggle_dark(self) -> None:
        self.theme = "textual-light" if self.theme == "textual-dark" else "textual-dark"

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """The command palette: every key's action, by name, in the app's language (from
        the command table, as the keys and the help are)."""
        lang = self.lang
        if screen in self.lesson_screens():
            for title, help_text, action in commands.palette("lesson", lang):
                yield SystemCommand(title, help_text, lambda a=action: screen.run_action(a))
        for title, help_text, action in commands.palette("app", lang):
            yield SystemCommand(title, help_text, lambda a=action: self.run_action(a))
        yield from super().get_system_commands(screen)
