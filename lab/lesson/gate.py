"""The solve gate (`shikumi play … --verify-tries`): every try needs the learner, and
every solution passes.

A lesson is played ROUNDS times, each from a reset (a fresh runner; the journal rolled
back and the lesson's cleanup run between rounds), to catch a try that passes only by
luck. Steps without a try run with their solutions, as `play` runs them. At a try step:

1. the lab's own part runs (commands, spawns, operations, views), then the checks: at
   least one must fail — else the step passes before the learner did anything;
2. the step's solutions are typed into the step's own try shell (the one the learner
   gets: the same `in=` process, directory, environment and recorded session; what it
   starts in the background lives on until the lesson ends), then the checks run
   again: every one must pass.

In the first round, between the two, what the checks look for is typed into the try
shell (each pattern's example text as a comment, then echoed): at least one check
must still fail — a try is passed by changing the world, not by typing.

Each (try, round) gives one ``TryVerdict``; the lesson's report lists them.
"""

from __future__ import annotations

import shlex
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from rich.console import Console
from rich.text import Text

from lab.errors import LabError
from lab.lesson import examples, leaks, typist
from lab.lesson.model import CheckResult, Lesson, StepResult
from lab.lesson.run_events import Event
from lab.lesson.runner import Runner
from lab.safety.journal import Journal

ROUNDS = 2

# verdict -> what it means (the first is the only good one besides "skipped")
VERDICTS = {
    "ok": "needs the learner, and the solution passes",
    "skipped": "skipped: a requirement is missing here",
    "needs-nobody": "every check passed after the lab's own part: nothing for the learner to do",
    "passes-by-typing": "typing what the checks look for passes the step",
    "solution-fails": "after the solution, a check still fails",
    "stage-broken": "the lab's own part of the step failed",
    "cancelled": "cancelled",
}


@dataclass
class TryVerdict:
    step: str
    round: int
    verdict: str  # a key of VERDICTS
    before: list[str] = field(default_factory=list)  # checks failing after the lab's part
    after: list[str] = field(default_factory=list)  # checks failing after the solution
    reason: str = ""
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.verdict in ("ok", "skipped")

    def to_json(self) -> dict[str, Any]:
        return {
            "step": self.step,
            "round": self.round,
            "verdict": self.verdict,
            "ok": self.ok,
            "failing_before": self.before,
            "failing_after": self.after,
            "reason": self.reason,
            "seconds": round(self.seconds, 3),
        }

    def line(self, lesson_id: str) -> Text:
        mark, style = ("✓", "green") if self.ok else ("✗", "bold red")
        head = Text(f"{mark} {lesson_id}#{self.step} (round {self.round}): ", style=style)
        if self.verdict == "ok":
            n = len(self.before)
            return head + Text(
                f"{n} check{'s' if n != 1 else ''} wait for the learner; the solution passes",
                style="green",
            )
        return (
            head
            + Text(VERDICTS[self.verdict], style=style)
            + Text(f" — {self.reason}" if self.reason else "", style="dim")
        )


def _said(checks: list[CheckResult]) -> list[str]:
    return [f"{c.message}: {c.reason}" for c in checks if not c.ok]


def _solve(runner: Runner, index: int, stop: threading.Event) -> StepResult:
    """The step's solutions (typed into its try shell), then its checks."""
    step = runner.lesson.steps[index]
    res = StepResult(step.id, "passed")
    if runner.run_solutions(step, res, stop):
        res.checks = runner.check_step(index)
    return res


def typed_lines(runner: Runner, index: int) -> list[str]:
    """What a learner could type to fool the step's checks: for each pattern a check
    looks for, a text it matches, typed as a comment and echoed."""
    out = []
    for c in runner.lesson.steps[index].of("check"):
        pattern = c.params.get("pattern")
        if not isinstance(pattern, str):
            continue
        try:
            text = examples.example(runner.vars.fill(pattern))
        except LabError:
            continue
        if text.strip():
            out += [f"# {text}", f"echo {shlex.quote(text)}"]
    return out


def _passes_by_typing(runner: Runner, index: int, stop: threading.Event) -> bool:
    """Type typed_lines() into the step's try shell: True if every check then passes."""
    lines = typed_lines(runner, index)
    if not lines:
        return False
    try:
        argv = runner.shell(index)
    except LabError:  # no shell to type into: the solution's turn will say why
        return False
    typist.type_lines(argv, lines, timeout=30.0, cwd=runner.work, cancel=stop)
    return all(c.ok for c in runner.check_step(index))


def verify_try(runner: Runner, index: int, round_: int, stop: threading.Event) -> TryVerdict:
    """Both halves of the gate for the try step at *index* (the steps before it have run)."""
    step = runner.lesson.steps[index]
    t0 = time.monotonic()
    v = TryVerdict(step.id, round_, "ok")
    lab = runner.run_step(index, cancel=stop, solution=False)
    if lab.status in ("skipped", "cancelled"):
        v.verdict, v.reason = lab.status, lab.reason
    elif any(not a.ok for a in lab.actions) or any(x.error for x in lab.views):
        v.verdict, v.reason = "stage-broken", lab.reason
    else:
        v.before = [c.message for c in lab.checks if not c.ok]
        if not v.before:
            v.verdict = "needs-nobody"
            v.reason = "passing: " + "; ".join(c.message for c in lab.checks)
        elif round_ == 1 and _passes_by_typing(runner, index, stop):
            v.verdict = "passes-by-typing"
            v.reason = "typing what the checks look for (as a comment, then echoed) passed them all"
        solved = _solve(runner, index, stop)
        v.after = _said(solved.checks) or ([solved.reason] if solved.status != "passed" else [])
        if stop.is_set():
            v.verdict, v.reason = "cancelled", "cancelled"
        elif v.after and v.verdict == "ok":
            v.verdict, v.reason = "solution-fails", "; ".join(v.after)
        elif v.after:
            v.reason += " (and after the solution: " + "; ".join(v.after) + ")"
    v.seconds = time.monotonic() - t0
    return v


def verify_lesson(
    lesson: Lesson,
    journal: Journal,
    lang: str,
    console: Console,
    stop: threading.Event,
    doctor_checks: list | None,
    rep: Any,
    on_event: Callable[[Event], None] | None = None,
) -> None:
    """Run the gate over *lesson*, ROUNDS times from a reset; fill *rep* (a LessonReport:
    ``tries``, ``failures``, ``leaked``, counts) and print one line per try and round."""
    t0 = time.monotonic()
    rep.tries = []
    for round_ in range(1, ROUNDS + 1):
        if stop.is_set():
            break
        before = leaks.snapshot(journal.home, journal.session)
        runner = Runner(lesson, journal, lang, on_event, doctor_checks)
        try:
            for i, step in enumerate(lesson.steps):
                if stop.is_set():
                    break
                if step.of("try"):
                    v = verify_try(runner, i, round_, stop)
                    rep.tries.append(v.to_json())
                    console.print(v.line(lesson.id))
                    if not v.ok:
                        rep.failures.append(
                            {"step": step.id, "status": v.verdict, "reason": v.reason}
                        )
                    continue
                r = runner.run_step(i, cancel=stop, solution=True)
                if r.status not in ("passed", "skipped"):
                    rep.failed += 1
                    rep.failures.append({"step": step.id, "status": r.status, "reason": r.reason})
                    console.print(Text(f"✗ {lesson.id}#{step.id}: {r.reason}", style="bold red"))
        finally:
            report = runner.finish()
            for u in report.results:
                if not u.ok:
                    rep.failures.append(
                        {
                            "step": "(cleanup)",
                            "reason": f"{u.entry.kind} {u.entry.target}: {u.action}",
                        }
                    )
            after = leaks.snapshot(journal.home, journal.session)
            rep.leaked += leaks.leaked(before, after, journal.home, journal.session)
    # the counts are of tries x rounds (a step without a try that failed counts as failed)
    rep.steps = len(rep.tries)
    rep.passed = len([x for x in rep.tries if x["verdict"] == "ok"])
    rep.skipped = len([x for x in rep.tries if x["verdict"] == "skipped"])
    rep.failed += len(rep.tries) - rep.passed - rep.skipped
    rep.seconds = time.monotonic() - t0
