"""The lesson screen: step outline | explanation over the results bench, a status line.

It only draws. The session's state and rules live in ``LessonSession``
(lab/lesson/session.py): this screen calls it from thread workers of the one
group ``engine`` (opening — which may first undo a dead session —, a run, a
check, closing) and turns what it reports into typed messages
(lab/tui/messages.py), handled below with ``@on``. The session's lock keeps a
run and a check from ever sharing the journal, and makes Reset/close wait for
what runs (after cancelling it). The event loop never waits on the engine.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Footer, Header, OptionList

from lab.lesson.model import Lesson, Step
from lab.lesson.variables import uses_own_values
from lab.tui import applog, commands, engine, messages
from lab.tui.screens.lesson_session import SessionScreen, handles
from lab.tui.strings import s
from lab.tui.widgets.bench import Bench
from lab.tui.widgets.explain import Explanation, step_markdown
from lab.tui.widgets.outline import StepOutline
from lab.tui.widgets.statusline import StatusLine, running_line, status_for

NARROW = 100  # below this width the outline hides (o shows it)


@applog.guarded
class LessonScreen(SessionScreen):
    BINDINGS = commands.bindings("lesson")  # keys, palette and help: lab/tui/commands.py

    def __init__(
        self,
        lesson: Lesson,
        step: int | None = None,
        watch: bool = False,
        problems: list[Any] | None = None,
    ) -> None:
        super().__init__(lesson, watch)
        self.start_step = step
        self.follow_file = watch  # --watch: reload when the lesson file changes
        self.run_started = 0.0
        self.outline_forced: bool | None = None
        self._checks: list[Any] = []

    # -- layout --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        self.outline = StepOutline(id="outline")
        self.explanation = Explanation(id="explain")
        self.bench = Bench(id="bench")
        self.status_line = StatusLine(id="statusbar")
        self.footer = Footer()
        yield Header(show_clock=False, icon="⚙")
        with Horizontal(id="body"):
            yield self.outline
            with Vertical(id="main"):
                yield self.explanation
                yield self.bench
        yield self.status_line
        yield self.footer

    @property
    def step(self) -> Step:
        return self.ctl.step

    def on_mount(self) -> None:
        self.owner = app = self.app
        self.ctl.progress = app.progress
        self.set_class(app.big, "-big")
        self.bench.big = app.big
        commands.localize(self, self.lang)
        self.watch(self.app, "lang", self.relang, init=False)  # the app's state
        self.watch(self.app, "big", self.set_big, init=False)
        done, failed = app.progress.done(self.lesson), app.progress.failed(self.lesson)
        self.ctl.start_at(done, failed, self.start_step, app.progress.first_unfinished(self.lesson))
        self.open_session()
        self.show_step()
        if self.follow_file:
            self.set_interval(1.0, self.poll_file)
        self.set_interval(0.25, self.tick)

    def on_resize(self) -> None:
        self.apply_outline()
        self.footer.compact = self.size.width < 110

    def apply_outline(self) -> None:
        auto = self.size.width >= NARROW and not self.app.big  # type: ignore[attr-defined]
        self.outline.display = auto if self.outline_forced is None else self.outline_forced

    def set_status(self, text: Any, style: str = "") -> None:
        self.status_line.show(text, style)

    # -- showing a step ------------------------------------------------------------
    def show_step(self) -> None:
        lesson, lang = self.lesson, self.lang
        self.title = f"{lesson.id} · {lesson.title_in(lang)}"
        if not lesson.steps:
            self.sub_title = ""
            self.explanation.show(lesson.intro_in(lang) or lesson.summary_in(lang))
            return
        self.sub_title = f"{s('step', lang)} {self.index + 1}/{len(lesson.steps)}"
        self.refresh_outline()
        self.refresh_explanation()
        self.bench.setup(self.step, lang)
        self.add_class("-fresh")
        self.show_requirements()
        if self.opening:  # (maybe cleaning up a dead session first): say so
            self.set_status(*self.opening_status)
        else:
            self.set_status(self.status_for(self.statuses.get(self.step.id, "")))

    def refresh_outline(self) -> None:
        self.outline.show(self.lesson, self.ctl.shown_statuses(), self.index, self.lang)

    def fill_prose(self, text: str) -> str:
        return self.ctl.fill(text, self.lang)

    def refresh_explanation(self, keep_scroll: bool = False) -> None:
        lang, index = self.lang, self.index
        md = step_markdown(
            self.step,
            index + 1,
            len(self.lesson.steps),
            lang,
            self.hints_shown.get(index, 0),
            index in self.solution_shown,
            fill=self.fill_prose,
        )
        if index == 0 and self.lesson.intro_in(lang).strip():
            md = self.lesson.intro_in(lang).strip() + "\n\n" + md
        self.explanation.show(md, keep_scroll)

    def show_requirements(self) -> None:
        """Before running: if the machine lacks what the step needs, say what and how to fix it."""
        transcript = self.bench.transcript
        if self.session is None:
            if self.session_error:
                transcript.note(f"✗ {self.session_error}", "bold red")
            return
        reqs = list(dict.fromkeys([*self.lesson.requires, *self.step.requires]))
        try:  # doctor's checks were made at start-up, in a worker: no probing here
            lacking = [
                f"{c.name}: {c.detail}" + (f" — fix: {c.fix}" if c.fix else "")
                for c in engine.missing(reqs, self.owner.checks)
            ]
        except Exception:
            lacking = []
        if lacking:
            lines = [s("step.needs", self.lang) + ":", *(f"  ✗ {why}" for why in lacking)]
            transcript.note("\n".join(lines), "yellow")

    def status_for(self, status: str) -> str:
        return status_for(status, self.index == len(self.lesson.steps) - 1, self.lang)

    def go(self, index: int) -> None:
        if not self.lesson.steps:
            return
        if not self.ctl.go(index):
            self.app.notify(s("status.busy", self.lang), severity="warning")
            return
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
        shown = self.ctl.next_hint(self.lang)
        if shown == "shown":
            self.refresh_explanation(keep_scroll=True)
        else:
            self.app.notify(
                s("step.no_hints" if shown == "none" else "step.no_more_hints", self.lang)
            )

    def action_solution(self) -> bool:
        if not self.ctl.show_solution():
            self.app.notify(s("step.no_solution", self.lang))
            return False
        self.refresh_explanation(keep_scroll=True)
        return True

    def action_run_solution(self) -> None:
        if self.action_solution():
            self.action_run(solution=True)

    def action_outline(self) -> None:
        self.outline_forced = not self.outline.display
        self.apply_outline()

    # -- running a step -------------------------------------------------------------
    def action_run(self, solution: bool = False) -> None:
        if not self.lesson.steps or not self.ready("run_solution" if solution else "run"):
            return
        self.bench.setup(self.step, self.lang)
        self._checks = []
        cancel = self.ctl.begin_run()
        self.run_started = time.monotonic()
        kinds = ("run", "spawn", "view", "check")
        total = len([a for a in self.step.actions if a.kind in kinds])
        self.status_line.start(total + (len(self.step.of("solution")) if solution else 0))
        self.remove_class("-fresh")
        self.running = self.run_step_worker(self.index, cancel, solution)
        self.refresh_outline()
        self.tick()

    def tick(self) -> None:
        if self.running is not None:
            self.set_status(running_line(time.monotonic() - self.run_started, self.lang))

    @handles(messages.ActionStarted)
    def action_started(self, message: messages.ActionStarted) -> None:
        if self.ctl.accepts(message.event):
            self.bench.transcript.started(message.event.command)

    @handles(messages.StepOutput)
    def step_output(self, message: messages.StepOutput) -> None:
        if self.ctl.accepts(message.event):
            text = message.event.text  # the runner sends lines
            self.bench.transcript.output(
                text if text.endswith("\n") else text + "\n", message.event.stream
            )

    @handles(messages.ActionFinished)
    def action_finished(self, message: messages.ActionFinished) -> None:
        if self.ctl.accepts(message.event):
            self.bench.transcript.finished(message.event.result)
            self.status_line.advance()

    @handles(messages.ViewReady)
    def view_ready(self, message: messages.ViewReady) -> None:
        if self.ctl.accepts(message.event):
            self.bench.view_ready(message.event.view)
            self.status_line.advance()

    @handles(messages.CheckDone)
    def check_done(self, message: messages.CheckDone) -> None:
        if self.ctl.accepts(message.event):
            self._checks.append(message.event.result)
            self.bench.show_checks(self._checks)
            self.status_line.advance()

    @handles(messages.StepEnded)
    def step_ended(self, message: messages.StepEnded) -> None:
        event = message.event
        self.status_line.stop()
        waits, error = self.ctl.step_ended(event)
        if error:
            self.owner.show_error(error)
        self.refresh_outline()
        if event.index != self.index:
            return
        bench, lang = self.bench, self.lang
        if event.error:
            crash = f"✗ {s('status.crash', lang)}: {event.error}"
            bench.transcript.note(crash, "bold red")
            self.set_status(crash, "bold red")
            return
        result = event.result
        if uses_own_values(self.step, lang):  # its prose names what it made: show the value
            self.refresh_explanation(keep_scroll=True)
        if not self.ctl.events_seen:  # a runner that reports only at the end: show it all now
            bench.replay(result)
        if bench.transcript.untouched:  # "press r to run" would read as if r had not worked
            bench.transcript.note(s("bench.no_commands", lang), "dim italic")
        if result.checks:
            bench.show_checks(result.checks, pending=waits)
        if waits:
            bench.transcript.note(f"✎ {s('status.your_turn', lang)}", "bold cyan")
            tried = self.fill_prose(self.step.try_in(lang).strip())
            if tried:  # the explanation has shrunk to make room: say here what to do
                bench.transcript.note(tried, "cyan")
            self.set_status(f"✎ {s('status.your_turn', lang)}", "bold cyan")
            return
        self.set_status(*bench.explain(result, self.status_for("passed")))

    @handles(messages.ChecksEnded)
    def checks_ended(self, message: messages.ChecksEnded) -> None:
        event, lang = message.event, self.lang
        ok, error = self.ctl.checks_ended(event)
        if event.error:
            self.set_status(f"✗ {event.error}", "bold red")
            return
        if error:
            self.owner.show_error(error)
        if event.views and event.index == self.index:
            self.bench.replace_views(event.views)
        self.bench.show_checks(event.checks)
        if ok:
            self.set_status(f"✓ {s('status.try_ok', lang)} — {s('status.next', lang)}", "green")
        else:
            bad = next(c for c in event.checks if not c.ok)
            why = f"{bad.message}" + (f": {bad.reason}" if bad.reason else "")
            self.set_status(f"✗ {s('status.try_fail', lang)} — {why}", "bold red")
        self.refresh_outline()

    # -- reset, back, language, watch -----------------------------------------------
    async def action_reset(self) -> None:
        if self.ctl.closing:
            return
        await self.close_session()
        error = self.ctl.reset()
        if error:
            self.owner.show_error(error)
        self.open_session()
        self.show_step()
        self.after_open = (s("status.reset", self.lang), "green")

    async def action_back(self) -> None:
        if self.running is not None:  # Esc while running: cancel the step
            self.ctl.cancel()
            self.set_status(f"◌ {s('status.cancelling', self.lang)}", "yellow")
            return
        if self.ctl.closing:
            return
        await self.close_session()
        self.app.pop_screen()
        refresh = getattr(self.app.screen, "refresh_entries", None)
        if refresh:
            refresh()

    def relang(self, lang: str) -> None:
        commands.localize(self, lang)
        self.ctl.set_lang(lang)
        self.refresh_explanation(keep_scroll=True)
        self.refresh_outline()
        self.bench.relang(lang)
        self.title = f"{self.lesson.id} · {self.lesson.title_in(lang)}"
        if self.lesson.steps:
            self.sub_title = f"{s('step', lang)} {self.index + 1}/{len(self.lesson.steps)}"
        if self.running is None:
            self.set_status(
                self.status_for(self.statuses.get(self.step.id, "")) if self.lesson.steps else ""
            )

    def set_big(self, big: bool) -> None:
        self.set_class(big, "-big")
        self.bench.big = big
        self.bench.relayout()
        self.apply_outline()

    async def poll_file(self) -> None:
        if not self.ctl.changed(engine.lesson_mtime(self.lesson.path)):
            return
        lesson, problems = await asyncio.to_thread(engine.load, Path(self.lesson.path), self.lang)
        if lesson is None or problems:
            first = f": {problems[0]}" if problems else ""
            self.app.notify(s("status.reload_bad", self.lang) + first, severity="error", timeout=8)
            return
        await self.close_session()
        self.ctl.reload(lesson)
        self.open_session()
        self.show_step()
        self.after_open = (s("status.reloaded", self.lang), "green")
