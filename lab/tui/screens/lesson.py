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
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.widgets import Header

from lab.lesson.model import Lesson, Step
from lab.lesson.variables import uses_own_values
from lab.tui import applog, commands, engine, messages
from lab.tui.screens.lesson_ask import AskScreen
from lab.tui.screens.lesson_session import handles
from lab.tui.strings import s
from lab.tui.widgets.bench import Bench
from lab.tui.widgets.explain import (
    Explanation,
    commands_of,
    paragraphs,
    step_markdown,
)
from lab.tui.widgets.footer import LabFooter
from lab.tui.widgets.outline import StepOutline
from lab.tui.widgets.statusline import StatusLine, running_line, status_for


@applog.guarded
class LessonScreen(AskScreen):
    BINDINGS = commands.bindings("lesson")  # keys, palette and help: lab/tui/commands.py
    AUTO_FOCUS = "#explain"  # the text first (the outline hides on a narrow screen)

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
        self._checks: list[Any] = []
        self.results: dict[int, tuple[Any, bool]] = {}  # each step's last result (waits)
        self.chain: list[int] = []  # steps to run in turn (the ones a step builds on, then it)

    # -- layout --------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        self.outline = StepOutline(id="outline")
        self.explanation = Explanation(id="explain")
        self.bench = Bench(id="bench")
        self.status_line = StatusLine(id="statusbar")
        self.footer = LabFooter()
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
        self.watch(self.app, "lang", self.relang, init=False)  # the app's state
        self.watch(self.app, "big", self.set_big, init=False)
        done, failed = app.progress.done(self.lesson), app.progress.failed(self.lesson)
        self.ctl.start_at(done, failed, self.start_step, app.progress.first_unfinished(self.lesson))
        self.open_session()
        self.show_step()
        if self.follow_file:
            self.set_interval(1.0, self.poll_file)
        self.set_interval(0.25, self.tick)

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
        self.bench.setup(self.step, lang, bool(commands_of(self.step)))
        earlier = self.results.get(self.index)
        if earlier is not None:  # back at a step that ran: its results, not "press r"
            self.show_result(*earlier)
        else:
            self.add_class("-fresh")
            self.folded = False
        self.show_requirements()
        if self.opening:  # (maybe cleaning up a dead session first): say so
            self.set_status(*self.opening_status)
        else:
            self.set_status(self.status_for(self.statuses.get(self.step.id, "")))

    def refresh_outline(self) -> None:
        self.outline.show(self.lesson, self.ctl.shown_statuses(), self.index, self.lang)

    def fill_prose(self, text: str) -> str:
        return self.ctl.fill(text, self.lang)

    def refresh_explanation(self, keep_scroll: bool = False, stay: bool = False) -> None:
        lang, index = self.lang, self.index
        md = step_markdown(
            self.step,
            index + 1,
            len(self.lesson.steps),
            lang,
            self.hints_shown.get(index, 0),
            index in self.solution_shown,
            fill=self.fill_prose,
            hints=self.ctl.hints(lang),  # a failing check's own hint first
        )
        if index == 0 and self.lesson.intro_in(lang).strip():
            md = self.lesson.intro_in(lang).strip() + "\n\n" + md
        self.explanation.show(md, keep_scroll, stay)
        self.explanation.query_one("#explain-fold").update(self.folded_summary())

    def show_requirements(self) -> None:
        """Before running: if the machine lacks what the step needs, say what and how to fix it."""
        if self.session is None:
            if self.session_error:
                self.bench.note(f"✗ {self.session_error}", "bold red")
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
            self.bench.note("\n".join(lines), "yellow")

    def status_for(self, status: str) -> str:
        return status_for(status, self.index == len(self.lesson.steps) - 1, self.lang)

    def go(self, index: int) -> None:
        if not self.lesson.steps:
            return
        before = self.index
        if not self.ctl.go(index):
            self.app.notify(s("status.busy", self.lang), severity="warning")
            return
        if self.index != before:
            self.end_practice()  # the shell beside belongs to the step left
        self.show_step()

    # -- actions -------------------------------------------------------------------
    def action_hint(self) -> None:
        shown = self.ctl.next_hint(self.lang)
        if shown == "shown":
            self.folded = False  # the hint is at the end of the whole text: unfold to it
            self.refresh_explanation(keep_scroll=True)
        else:
            self.app.notify(
                s("step.no_hints" if shown == "none" else "step.no_more_hints", self.lang)
            )

    def action_solution(self) -> bool:
        if not self.ctl.show_solution():
            self.app.notify(s("step.no_solution", self.lang))
            return False
        self.folded = False  # the solution is at the end of the whole text: unfold to it
        self.refresh_explanation(keep_scroll=True)
        return True

    def action_run_solution(self) -> None:
        if self.action_solution():
            self.action_run(solution=True)

    # -- running a step -------------------------------------------------------------
    def action_run(self, solution: bool = False, deps_checked: bool = False) -> None:
        if not self.lesson.steps or not self.ready("run_solution" if solution else "run"):
            return
        missing = [] if deps_checked else self.ctl.not_run_before(self.index)
        if missing:  # the step builds on earlier ones this session has not run: offer them
            self.ask_deps(missing, solution)
            return
        if self.ask_prediction(solution):  # a predict question first (screens/lesson_ask.py)
            return
        self.end_practice()  # the stage is set again: so is the learner's turn (t again)
        self.bench.setup(self.step, self.lang, bool(commands_of(self.step)))
        self._checks = []
        cancel = self.ctl.begin_run()
        self.run_started = time.monotonic()
        kinds = ("run", "spawn", "view", "check")
        total = len([a for a in self.step.actions if a.kind in kinds])
        self.status_line.start(total + (len(self.step.of("solution")) if solution else 0))
        self.remove_class("-fresh")
        self.folded = True  # the results get the room; e unfolds the text
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
        if event.result is not None:
            self.results[event.index] = (event.result, waits)
        self.chain_step_ended(event.index, event.result, waits)
        if event.index != self.index:
            return
        if event.error:
            crash = f"✗ {s('status.crash', self.lang)}: {event.error}"
            self.bench.note(crash, "bold red")
            self.set_status(crash, "bold red")
            return
        if uses_own_values(self.step, self.lang):  # its prose names what it made: show the value
            self.refresh_explanation(keep_scroll=True)
        self.show_result(event.result, waits, replay=not self.ctl.events_seen)

    def show_result(self, result: Any, waits: bool, replay: bool = True) -> None:
        """A step's result on the bench: after its run, or again when the learner comes back
        to it (*replay*: its commands' output and views drawn from the result)."""
        bench, lang = self.bench, self.lang
        self.remove_class("-fresh")
        self.folded = True
        if replay:
            bench.replay(result)
        if result.status == "cancelled":  # what the checks saw is no verdict: never a ✓
            bench.show_cancelled()
            bench.note(s("status.cancelled_line", lang), "yellow")
            self.set_status(s("status.cancelled_line", lang), "yellow")
            return
        if bench.transcript.untouched and not bench.has_class("-no-output"):
            bench.transcript.note(s("bench.no_commands", lang), "dim italic")
        if result.checks:
            bench.show_checks(result.checks, pending=waits)
        self.show_reveal()
        bench.show_point()
        if waits:
            self.offer_second_terminal()  # outside tmux: `shikumi shell` gets this step
            bench.note(f"✎ {s('status.your_turn', lang)}", "bold cyan")
            tried = self.fill_prose(self.step.try_in(lang).strip())
            if tried:  # the explanation has folded to make room: say here what to do
                bench.note(paragraphs(tried), "cyan")
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
        earlier = self.results.get(event.index)
        if earlier is not None:  # coming back to this step shows these checks
            views = event.views or earlier[0].views
            status = "passed" if ok else earlier[0].status
            kept = replace(earlier[0], checks=event.checks, views=views, status=status)
            self.results[event.index] = (kept, not ok)
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
    async def reset_now(self) -> None:
        if self.ctl.closing:
            return
        self.chain = []
        await self.close_session()
        self.results.clear()
        error = self.ctl.reset()
        if error:
            self.owner.show_error(error)
        self.open_session()
        self.show_step()
        self.after_open = (s("status.reset", self.lang), "green")

    async def action_back(self) -> None:
        if self.maximized is not None:  # Esc on a zoomed panel: back to the layout
            self.minimize()
            return
        if self.running is not None:  # Esc while running: cancel the step
            self.chain = []
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
        self.ctl.set_lang(lang)
        self.refresh_explanation(stay=True)  # the learner stays where they were
        self.refresh_outline()
        self.bench.relang(lang)
        self.title = f"{self.lesson.id} · {self.lesson.title_in(lang)}"
        if self.lesson.steps:
            self.sub_title = f"{s('step', lang)} {self.index + 1}/{len(self.lesson.steps)}"
        if self.running is None:
            self.set_status(
                self.status_for(self.statuses.get(self.step.id, "")) if self.lesson.steps else ""
            )

    async def poll_file(self) -> None:
        if not self.ctl.changed(engine.lesson_mtime(self.lesson.path)):
            return
        lesson, problems = await asyncio.to_thread(engine.load, Path(self.lesson.path), self.lang)
        if lesson is None or problems:
            first = f": {problems[0]}" if problems else ""
            self.app.notify(s("status.reload_bad", self.lang) + first, severity="error", timeout=8)
            return
        await self.close_session()
        self.results.clear()
        self.ctl.reload(lesson)
        self.open_session()
        self.show_step()
        self.after_open = (s("status.reloaded", self.lang), "green")
