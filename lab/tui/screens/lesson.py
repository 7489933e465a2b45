"""The lesson screen: step outline | explanation over the results bench, a status line.

The runner works in a thread worker; its events arrive here as messages
(``EngineEvent``, ``StepEnded``, ``ChecksEnded``) and only these handlers
touch widgets.
"""

from __future__ import annotations

import asyncio
import contextlib
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
from lab.lesson.model import Lesson, Step
from lab.tui import engine
from lab.tui.keys import key, relabel
from lab.tui.messages import ChecksEnded, EngineEvent, StepEnded
from lab.tui.strings import s
from lab.tui.widgets.bench import Bench
from lab.tui.widgets.explain import Explanation, step_markdown
from lab.tui.widgets.outline import StepOutline

NARROW = 100  # below this width the outline hides (o shows it)


def _one_line(e: BaseException) -> str:
    if isinstance(e, LabError):
        return f"{e.message}" + (f" — {e.fix}" if e.fix else "")
    return f"{type(e).__name__}: {e}"


class LessonScreen(Screen):
    BINDINGS = [  # noqa: RUF012
        key("r", "run", "key.run"),
        key("n,right", "next", "key.next"),
        key("p,left", "previous", "key.prev"),
        key("g", "jump", "key.jump"),
        key("h", "hint", "key.hint"),
        key("s", "solution", "key.solution"),
        key("S", "run_solution", "key.run_solution", show=False),
        key("t", "try_it", "key.try"),
        key("R", "reset", "key.reset"),
        key("escape", "back", "key.back"),
        key("o", "outline", "key.outline", show=False),
        *(key(str(n), f"goto({n})", "key.jump", show=False) for n in range(1, 10)),
    ]

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
        self.watch = watch
        self.statuses: dict[str, str] = {}
        self.hints_shown: dict[int, int] = {}
        self.solution_shown: set[int] = set()
        self.session: engine.Session | None = None
        self.session_error = ""
        self.running: Worker | None = None
        self.cancel = threading.Event()
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
        self.set_class(app.big, "-big")
        self.query_one(Bench).big = app.big
        relabel(self, self.lang)
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
        if self.watch:
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
    def open_session(self) -> None:
        app: Any = self.app
        try:
            self.session = app.new_session(self.lesson, self.post_engine_event)
            self.session_error = ""
        except Exception as e:  # not root, home not writable…: say so, never a traceback
            self.session = None
            self.session_error = _one_line(e)

    def post_engine_event(self, event: Any) -> None:
        """The runner's on_event: called from the worker thread, so it only posts."""
        self.post_message(EngineEvent(event))

    async def close_session(self) -> None:
        """Cancel a running step, wait for it, then clean up. Safe to call twice."""
        self.cancel.set()
        if self.running is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self.running.wait(), timeout=60)
        session, self.session = self.session, None
        if session is not None:
            self.set_status(s("status.cleanup", self.lang))
            try:
                await asyncio.to_thread(session.close)
            except Exception as e:
                self.app.notify(_one_line(e), severity="error", timeout=10)

    def close_now(self) -> None:
        """The synchronous last resort (app shutdown): cancel, wait for the step thread, clean up."""
        self.cancel.set()
        self.idle.wait(timeout=60)
        session, self.session = self.session, None
        if session is not None:
            try:
                session.close()
            except Exception as e:
                self.log.error(f"cleanup failed: {_one_line(e)}")

    def on_unmount(self) -> None:
        self.close_now()

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
        if self.running is not None:
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
        if self.running is not None:
            self.app.notify(s("status.busy", self.lang), severity="warning")
            return
        if self.session is None:
            self.set_status(f"✗ {self.session_error}", "bold red")
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

    def action_run_solution(self) -> None:
        if not self.step.of("solution"):
            self.app.notify(s("step.no_solution", self.lang))
            return
        self.solution_shown.add(self.index)
        self.refresh_explanation(keep_scroll=True)
        self.action_run(solution=True)

    @work(thread=True, exclusive=True, group="step", exit_on_error=False)
    def run_step_worker(self, index: int, cancel: threading.Event, solution: bool) -> None:
        """Thin: run the step, post the result. Never touches a widget."""
        session = self.session
        try:
            assert session is not None
            result = session.runner.run_step(index, cancel, solution=solution)
        except Exception as e:
            self.post_message(StepEnded(index, error=_one_line(e), solution=solution))
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
        app: Any = self.app
        if self.awaits_try(step, result, message.solution):
            self.statuses.pop(step.id, None)  # not failed: the learner's part is still to do
        else:
            self.statuses[step.id] = result.status
            if result.status in ("passed", "failed"):
                app.progress.mark(self.lesson, step.id, result.status)
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
        if self.running is not None:
            self.app.notify(s("status.busy", self.lang), severity="warning")
            return
        if self.session is None:
            self.set_status(f"✗ {self.session_error}", "bold red")
            return
        if not self.step.of("try") and not self.step.try_in(self.lang).strip():
            self.app.notify(s("step.no_try", self.lang))
            return
        try:
            argv = self.session.runner.shell(self.index)
        except Exception as e:
            self.set_status(f"✗ {s('try.cannot', self.lang)}: {_one_line(e)}", "bold red")
            return
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
        self.check_worker(self.index)

    def launch_shell(self, argv: list[str]) -> int:
        """Suspend the app and hand the terminal to a real shell until it exits.

        Tests replace this method: a headless test app cannot suspend.
        """
        with self.app.suspend():
            # a clean screen: not the previous shell's leftovers above the banner
            print("\033[H\033[2J", end="")
            print(f"\033[1;36mshikumi\033[0m · {self.step.title_in(self.lang)}")
            print(s("try.banner", self.lang))
            tried = self.fill_prose(self.step.try_in(self.lang).strip())
            if tried:
                print("\n" + tried + "\n")
            return subprocess.call(argv)

    @work(thread=True, exclusive=True, group="check", exit_on_error=False)
    def check_worker(self, index: int) -> None:
        session = self.session
        try:
            assert session is not None
            checks = session.runner.check_step(index)
            views = session.runner.refresh_views(index)
        except Exception as e:
            self.post_message(ChecksEnded(index, [], _one_line(e)))
        else:
            self.post_message(ChecksEnded(index, list(checks), views=views))

    def on_checks_ended(self, message: ChecksEnded) -> None:
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
            self.app.progress.mark(self.lesson, step.id, "passed")  # type: ignore[attr-defined]
            self.set_status(f"✓ {s('status.try_ok', lang)} — {s('status.next', lang)}", "green")
        else:
            bad = next(c for c in message.checks if not c.ok)
            why = f"{bad.message}" + (f": {bad.reason}" if bad.reason else "")
            self.set_status(f"✗ {s('status.try_fail', lang)} — {why}", "bold red")
        self.refresh_outline()

    # -- reset, back, language, watch -----------------------------------------------
    async def action_reset(self) -> None:
        await self.close_session()
        self.app.progress.reset(self.lesson)  # type: ignore[attr-defined]
        self.statuses.clear()
        self.hints_shown.clear()
        self.solution_shown.clear()
        self.index = 0
        self.open_session()
        self.show_step()
        self.set_status(s("status.reset", self.lang), "green")

    async def action_back(self) -> None:
        if self.running is not None:  # Esc while running: cancel the step
            self.cancel.set()
            return
        await self.close_session()
        self.app.pop_screen()
        refresh = getattr(self.app.screen, "refresh_entries", None)
        if refresh:
            refresh()

    def relang(self, lang: str) -> None:
        relabel(self, lang)
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
        if mtime == self._mtime or self.running is not None:
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
        self.set_status(s("status.reloaded", self.lang), "green")
