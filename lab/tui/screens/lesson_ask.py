"""The lesson screen's questions: before a reset throws progress away, and when a step
is run whose earlier steps this session has not run (offer to run them first, then it).
Answers come from ``ConfirmScreen`` (a small modal, in the app's language).
"""

from __future__ import annotations

from typing import Any

from lab.tui.screens.confirm import ConfirmScreen, yes
from lab.tui.screens.lesson_layout import LayoutScreen
from lab.tui.strings import s


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
