"""The lesson screen's questions: before a reset throws progress away, when a step
is run whose earlier steps this session has not run (offer to run them first, then it),
and a step's predict question before it runs (asked once; its reveal after the run).
Answers come from ``ConfirmScreen`` and ``PredictScreen`` (small modals, in the app's
language).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual.widgets import Static

from lab.lesson import serving
from lab.tui.screens.confirm import ConfirmScreen, yes
from lab.tui.screens.lesson_layout import LayoutScreen
from lab.tui.screens.predict import PredictScreen
from lab.tui.strings import s
from lab.tui.widgets.explain import folded_text
from lab.tui.widgets.reveal import reveal_text


def _numbers(indexes: list[int]) -> str:
    """1-based step numbers, runs joined: [0, 1, 2, 4] → "1–3, 5"."""
    runs: list[list[int]] = []
    for i in indexes:
        if runs and runs[-1][-1] == i - 1:
            runs[-1].append(i)
        else:
            runs.append([i])
    return ", ".join(f"{r[0] + 1}–{r[-1] + 1}" if len(r) > 1 else f"{r[0] + 1}" for r in runs)


class AskScreen(LayoutScreen):
    explanation: Any
    chain: list[int]
    chain_solution = False
    results: dict[int, Any]

    def action_run(self, solution: bool = False, deps_checked: bool = False) -> None:
        raise NotImplementedError

    async def reset_now(self) -> None:
        raise NotImplementedError

    def action_reset(self) -> None:
        if self.ctl.closing:
            return
        if not (self.statuses or self.busy or self.results):  # nothing to lose: no question
            self.call_later(self.reset_now)
            return
        lang = self.lang
        running = f" {s('confirm.reset_running', lang)}" if self.busy else ""

        def chosen(value: str | None) -> None:
            if value == "yes":
                self.call_later(self.reset_now)

        self.app.push_screen(
            ConfirmScreen(s("confirm.reset", lang) + running, yes(lang), lang), chosen
        )

    def ask_deps(self, missing: list[int], solution: bool) -> None:
        lang, here = self.lang, self.index
        which = s("confirm.step" if len(missing) == 1 else "confirm.steps", lang)
        which = which.format(n=_numbers(missing))
        question = s("confirm.deps", lang).format(which=which, step=here + 1)
        choices = [("deps", s("confirm.deps_run", lang)), ("only", s("confirm.deps_only", lang))]

        def chosen(value: str | None) -> None:
            if value == "deps":
                self.chain = [*missing, here]
                self.chain_solution = solution  # S: the asked-for step runs its solution
                self.run_chain()
            elif value == "only":
                self.action_run(solution, deps_checked=True)

        self.app.push_screen(ConfirmScreen(question, choices, lang), chosen)

    def ask_prediction(self, solution: bool) -> bool:
        """Before the step runs: ask its predict question not answered yet. True when
        asked (the run follows the answer). Not asked for a step run on the way to the
        one asked for (a chain), nor where nothing may run (a read-only view)."""
        index = self.index
        on_the_way = len(self.chain) > 1 or serving.read_only()
        pending = None if on_the_way else self.ctl.pending_prediction(index)
        if pending is None:  # the run starts: the fold shows what runs until the reveal
            self.show_reveal(reveal=False)
            return False

        def answered(value: int | str | None) -> None:
            if value is None:  # Esc: back to the step, nothing runs
                self.chain = []
                return
            self.ctl.predicted(index, value if isinstance(value, int) else None)
            if self.index == index:
                self.action_run(solution, deps_checked=True)  # the next question, or the run

        params = self.step.of("predict")[pending].params
        self.app.push_screen(PredictScreen(params, self.lang), answered)
        return True

    def folded_summary(self, reveal: bool = True) -> Text:
        """What the explanation folds to after a run: the step's title and its commands,
        or, once a step with a predict question ran, its title and the reveal (the
        commands are in the transcript; the bench keeps its room for the evidence)."""
        index, lang, steps = self.index, self.lang, self.lesson.steps
        summary = folded_text(self.step, index + 1, len(steps), lang, self.fill_prose)
        asks = [a.params for a in self.step.of("predict")]
        picks = self.ctl.picks(index) if asks else []
        earlier = self.results.get(index)
        status = earlier[0].status if earlier is not None else ""
        if not (reveal and picks) or status in ("", "cancelled", "skipped"):
            return summary  # not run yet, or the run showed nothing: nothing to reveal
        title = summary.split("\n")[0]
        return Text("\n").join([title, reveal_text(asks, picks, lang)])

    def show_reveal(self, reveal: bool = True) -> None:
        """After a run (or back at a step that ran): the fold with the reveal, if any."""
        self.explanation.query_one("#explain-fold", Static).update(self.folded_summary(reveal))

    def run_chain(self) -> None:
        """Run the next step of ``chain``; an earlier try-it-yourself step runs with its solution."""
        if not self.chain or not self.ctl.go(self.chain[0]):
            self.chain = []
            return
        self.show_step()
        last = len(self.chain) == 1
        step = self.step
        if not last:
            self.app.notify(
                s("status.chain", self.lang).format(step=self.index + 1, target=self.chain[-1] + 1)
            )
        earlier_try = bool(step.of("try") and step.of("solution"))
        with_solution = self.chain_solution if last else earlier_try
        self.action_run(with_solution, deps_checked=True)

    def chain_step_ended(self, index: int, result: Any, waits: bool) -> None:
        if not self.chain or self.chain[0] != index:
            return
        self.chain.pop(0)
        if self.chain and result is not None and (result.status == "passed" or waits):
            self.call_later(self.run_chain)
        else:
            self.chain = []
