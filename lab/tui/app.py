"""The shikumi app: the lesson list, a lesson at a time, global keys and the command palette.

    ShikumiApp(home, lang, dirs)            opens on the lesson list
    ShikumiApp(..., lesson=L, step=N)       opens at lesson L (step N, 1-based)

The app owns what outlives a screen: the language, the progress store, the
doctor's checks (probed once in a worker), the big-screen mode. Quitting closes
every open lesson first (its runner cleans up and its journal is dropped);
``close_all()`` is the synchronous safety net the command calls after ``run()``.
"""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from textual import work
from textual.app import App, SystemCommand
from textual.screen import Screen

from lab.lesson.model import Lesson
from lab.tui import cjk, engine
from lab.tui.keys import key, relabel
from lab.tui.messages import DoctorDone
from lab.tui.strings import s

cjk.install()  # Japanese lines break between characters, not only at spaces

SessionFactory = Callable[[Lesson, Callable[[Any], None]], Any]


class ShikumiApp(App[int]):
    CSS_PATH = "app.tcss"
    TITLE = "shikumi-lab"
    ENABLE_COMMAND_PALETTE = True
    BINDINGS = [  # noqa: RUF012
        key("q", "quit", "key.quit"),
        key("l", "toggle_lang", "key.lang"),
        key("question_mark", "help", "key.help"),
        key("b", "big", "key.big", show=False),
        key("d", "toggle_dark", "key.theme", show=False),
    ]

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
        super().__init__()
        self.home = home
        self.lang = lang
        self.dirs = dirs
        self.start_lesson = lesson
        self.start_step = step
        self.watch = watch
        self.run_doctor = run_doctor
        self.big = False
        self.checks: list[Any] | None = None
        self.progress = engine.ProgressStore(home)
        self._entries = entries
        self.session_factory: SessionFactory | None = None  # tests may supply one

    # -- start ---------------------------------------------------------------------
    def on_mount(self) -> None:
        from lab.tui.screens.lesson_list import LessonListScreen

        self.theme = "textual-dark"
        relabel(self, self.lang)
        entries = self._entries if self._entries is not None else self.load_entries()
        where = ", ".join(str(d) for d in (self.dirs or []))
        self.push_screen(LessonListScreen(entries, where))
        if self.start_lesson is not None:
            self.open_lesson(self.start_lesson, self.start_step, self.watch)
        if self.run_doctor:
            self.doctor_worker()
        self._catch_signals()

    def _catch_signals(self) -> None:
        """SIGTERM, SIGHUP (the terminal was closed) and SIGINT quit like `q`: the running
        step is cancelled and every session cleaned up before the app exits."""
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGHUP, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                loop.add_signal_handler(sig, self._on_signal, sig)

    def _on_signal(self, sig: int) -> None:
        # cancel every running step now; close_all() after run() waits for them
        # and cleans up (the terminal may be gone, so nothing more is drawn)
        for screen in self.lesson_screens():
            screen.cancel.set()
        self.exit(128 + sig)

    def load_entries(self) -> list[engine.Entry]:
        try:
            if self.dirs is None:
                self.dirs = engine.lesson_dirs()
            return engine.load_entries(self.dirs, self.lang)
        except Exception as e:  # never a traceback: say it on screen
            self.notify(f"cannot read the lessons: {type(e).__name__}: {e}", severity="error")
            return []

    @work(thread=True, exclusive=True, group="doctor", exit_on_error=False)
    def doctor_worker(self) -> None:
        try:
            checks = engine.doctor_checks(self.home)
        except Exception:
            checks = []
        self.post_message(DoctorDone(checks))

    def on_doctor_done(self, message: DoctorDone) -> None:
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

    async def action_quit(self, code: int = 0) -> None:
        for screen in reversed(self.lesson_screens()):
            await screen.close_session()
        self.exit(code)

    def close_all(self) -> None:
        """After run(): make sure every lesson session is closed (cleanup, journal dropped)."""
        for screen in self.lesson_screens():
            screen.close_now()

    # -- global actions ------------------------------------------------------------
    def action_toggle_lang(self) -> None:
        self.lang = "ja" if self.lang == "en" else "en"
        relabel(self, self.lang)
        for screen in self.screen_stack:
            relang = getattr(screen, "relang", None)
            if relang:
                relang(self.lang)

    def action_help(self) -> None:
        from lab.tui.screens.help import HelpScreen

        if type(self.screen).__name__ != "HelpScreen":
            self.push_screen(HelpScreen(self.lang))

    def action_big(self) -> None:
        self.big = not self.big
        for screen in self.screen_stack:
            set_big = getattr(screen, "set_big", None)
            if set_big:
                set_big(self.big)

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
        """The command palette: every key's action, by name, in the app's language."""
        lang = self.lang
        lesson_screen = screen if screen in self.lesson_screens() else None
        if lesson_screen is not None:
            for label, action, help_text in (
                ("key.run", "run", "run this step's commands, views and checks"),
                ("key.next", "next", "go to the next step"),
                ("key.prev", "previous", "go to the previous step"),
                ("key.jump", "jump", "jump to a step"),
                ("key.hint", "hint", "show one more hint"),
                ("key.solution", "solution", "show the solution"),
                ("key.run_solution", "run_solution", "run the step with its solution"),
                (
                    "key.try",
                    "try_it",
                    "a real shell in the step's context; checks run when you exit",
                ),
                ("key.reset", "reset", "clean up the lesson and start it again"),
                ("key.back", "back", "back to the lesson list"),
                ("key.outline", "outline", "show or hide the step outline"),
            ):
                yield SystemCommand(
                    s(label, lang), help_text, lambda a=action: lesson_screen.run_action(a)
                )
        yield SystemCommand(s("key.lang", lang), "English / 日本語", self.action_toggle_lang)
        yield SystemCommand(s("key.big", lang), "big screen: fewer, wider columns", self.action_big)
        yield SystemCommand(s("key.help", lang), "what each key does", self.action_help)
        yield from super().get_system_commands(screen)
