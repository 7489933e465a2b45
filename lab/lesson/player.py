"""The headless player: every step of the lessons, for real, printed with Rich.

``play(folders, lang, console)`` opens one journal, runs each lesson's steps
(with solutions, as a learner who got it right would), prints the commands
exactly as run, their output, the views and the checks, runs the lesson's
cleanup, and reports anything left behind. A stop request (Ctrl-C, SIGTERM)
cancels the running command, cleans up, and is reported as ``interrupted``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.markdown import Markdown
from rich.rule import Rule
from rich.text import Text

from lab import views
from lab.lesson import leaks, predict, scope
from lab.lesson.i18n import t
from lab.lesson.loader import load_lesson
from lab.lesson.model import Lesson, StepResult
from lab.lesson.run_events import (
    ActionFinished,
    ActionStarted,
    CheckDone,
    Event,
    Output,
    ViewReady,
)
from lab.lesson.runner import Runner
from lab.lesson.variables import fill_display
from lab.ops import changes
from lab.safety.journal import Journal

_STATUS_STYLE = {
    "passed": "green",
    "failed": "bold red",
    "timeout": "bold red",
    "skipped": "yellow",
    "cancelled": "red",
}


@dataclass
class LessonReport:
    id: str
    steps: int = 0
    passed: int = 0
    failed: int = 0
    skipped: int = 0
    seconds: float = 0.0
    failures: list[dict[str, str]] = field(default_factory=list)
    skips: list[dict[str, str]] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    changes: list[dict[str, Any]] | None = None  # per step: what its run changed
    tries: list[dict[str, Any]] | None = None  # --verify-tries: one verdict per try and round
    predictions: list[dict[str, Any]] = field(default_factory=list)  # asked, never answered

    def to_json(self) -> dict[str, Any]:
        extra = {} if self.changes is None else {"changes": self.changes}
        if self.tries is not None:
            extra["tries"] = self.tries
        if self.predictions:
            extra["predictions"] = self.predictions
        return {
            "id": self.id,
            "steps": self.steps,
            "passed": self.passed,
            "failed": self.failed,
            "skipped": self.skipped,
            "seconds": round(self.seconds, 3),
            "failures": self.failures,
            "skips": self.skips,
            **extra,
        }


@dataclass
class PlayReport:
    lessons: list[LessonReport] = field(default_factory=list)
    leaked: list[str] = field(default_factory=list)
    interrupted: bool = False

    @property
    def ok(self) -> bool:
        return (
            not self.interrupted
            and not self.leaked
            and all(not r.failed and not r.failures for r in self.lessons)
        )

    def to_json(self) -> dict[str, Any]:
        return {"lessons": [r.to_json() for r in self.lessons], "leaked": self.leaked}


class _Printer:
    """Turns runner events into console lines."""

    def __init__(self, console: Console, lang: str) -> None:
        self.console = console
        self.lang = lang

    def __call__(self, ev: Event) -> None:
        c = self.console
        if isinstance(ev, ActionStarted):
            label = {"solution": t("Solution", self.lang), "cleanup": "cleanup"}.get(ev.kind, "")
            prefix = f"[{label}] " if label else ""
            verb = "spawn " if ev.kind == "spawn" else ""
            c.print(Text(f"{prefix}$ {verb}{ev.command}", style="bold"))
        elif isinstance(ev, Output):
            c.print(Text("  " + ev.text, style="dim red" if ev.stream == "stderr" else ""))
        elif isinstance(ev, ActionFinished):
            r = ev.result
            if r.note or not r.ok:
                style = "green" if r.ok else "bold red"
                c.print(Text(f"  → {r.note or f'exited {r.exit}'}", style=style))
        elif isinstance(ev, ViewReady):
            v = ev.view
            if v.error:
                c.print(Text(f"  view {v.name}: {v.error}", style="bold red"))
            else:
                c.print(views.get(v.name).render(v.data, self.lang))
        elif isinstance(ev, CheckDone):
            r = ev.result
            mark, style = ("✓", "green") if r.ok else ("✗", "bold red")
            c.print(Text(f"{mark} {r.message}", style=style) + Text(f" — {r.reason}", style="dim"))


_CJK_BREAK = re.compile(r"(?<=[^\x00-\x7f])\n(?=[^\x00-\x7f])")


def _md(text: str, lang: str) -> Markdown:
    """Markdown; in Japanese a line break inside a paragraph joins without a space."""
    return Markdown(_CJK_BREAK.sub("", text) if lang == "ja" else text)


def _print_lesson_head(console: Console, lesson: Lesson, lang: str) -> None:
    console.print(Rule(Text(f"{lesson.id}: {lesson.title_in(lang)}", style="bold")))
    if lesson.summary_in(lang):
        console.print(Text(lesson.summary_in(lang), style="italic"))
    if lesson.intro_in(lang).strip():
        console.print(_md(lesson.intro_in(lang), lang))


def _print_step_head(
    console: Console, lesson: Lesson, index: int, lang: str, fill: Callable[[str], str] = str
) -> None:
    step = lesson.steps[index]
    n = f"{t('Step', lang)} {index + 1}/{len(lesson.steps)}"
    console.print()
    console.print(
        Text(f"{n} · {step.title_in(lang)}", style="bold cyan") + Text(f"  #{step.id}", style="dim")
    )
    if step.text_in(lang).strip():
        console.print(_md(fill(step.text_in(lang)), lang))
    for a in step.of("predict"):  # headless: the question and its choices, answered after
        p = predict.of(a.params, lang)
        console.print(Text(f"{t('Predict', lang)}: ", style="bold yellow") + Text(p.question))
        for n, c in enumerate(p.choices, 1):
            console.print(Text(f"  {n}. {c.text}"))
    tried = fill(step.try_in(lang).strip())
    if tried:
        console.print(Text(f"{t('Try it yourself', lang)}: ", style="bold magenta") + Text(tried))


def _record_progress(home: Path, lesson: Lesson, results: list[StepResult]) -> str:
    """Record passed and failed steps in the learner's progress. Never fails a play:
    "" or one line saying what went wrong with the progress (the caller prints it)."""
    try:
        from lab.lesson.progress import Progress

        store = Progress.load(home)
        problems = [store.error] if store.error else []
        by_solution = {s.id for s in getattr(lesson, "steps", ()) if s.of("solution")}
        for r in results:
            if r.status in ("passed", "failed", "timeout"):
                status = "passed" if r.status == "passed" else "failed"
                seconds = getattr(r, "seconds", 0.0)  # play runs the solution for the learner
                store.note(
                    lesson.id,
                    r.step_id,
                    attempt=True,
                    seconds=seconds,
                    save=False,
                    solution=r.step_id in by_solution,
                )
                err = store.mark(lesson.id, r.step_id, status)
                if err:
                    problems.append(err)
                    break
        return "; ".join(problems)
    except Exception as e:
        return f"progress not recorded: {type(e).__name__}: {e}"


def play_lesson(
    lesson: Lesson,
    journal: Journal,
    lang: str,
    console: Console,
    stop: threading.Event,
    doctor_checks: list | None,
    track_changes: bool = False,
) -> LessonReport:
    rep = LessonReport(lesson.id, steps=len(lesson.steps))
    rep.changes = [] if track_changes else None
    t0 = time.monotonic()
    before = leaks.snapshot(journal.home, journal.session)
    _print_lesson_head(console, lesson, lang)
    runner = Runner(lesson, journal, lang, _Printer(console, lang), doctor_checks)
    results: list[StepResult] = []
    try:
        for i, step in enumerate(lesson.steps):
            if stop.is_set():
                break
            _print_step_head(  # values known now; words naming the step for the others
                console,
                lesson,
                i,
                lang,
                lambda x, i=i: fill_display(x, runner.vars, lesson.steps, lang, i),
            )
            tracked = scope.StepChanges(runner, i) if rep.changes is not None else None
            r = runner.run_step(i, cancel=stop, solution=True)
            if tracked is not None and rep.changes is not None:
                rep.changes.append({"step": step.id, "changes": changes.to_json(tracked.after())})
            results.append(r)
            for a in step.of("predict"):  # nobody to answer: the question, then the reveal
                p = predict.of(a.params, lang)
                for line in predict.reveal(p, None, lang):
                    console.print(Text(line, style="yellow"))
                rep.predictions.append(
                    {"step": step.id, "question": p.question, "answer": p.answer, "chosen": None}
                    | {"choices": [{"text": c.text, "why": c.why} for c in p.choices]}
                )
            style = _STATUS_STYLE.get(r.status, "")
            word = t(r.status, lang)
            console.print(
                Text(f"[{word}] {step.id}" + (f": {r.reason}" if r.reason else ""), style=style)
            )
            if r.status == "passed":
                rep.passed += 1
            elif r.status == "skipped":
                rep.skipped += 1
                rep.skips.append({"step": step.id, "reason": r.reason})
            else:  # failed, timeout, cancelled: never counted as passed
                rep.failed += 1
                rep.failures.append({"step": step.id, "status": r.status, "reason": r.reason})
    finally:
        report = runner.finish()
        for u in report.results:
            if not u.ok:
                rep.failures.append(
                    {"step": "(cleanup)", "reason": f"{u.entry.kind} {u.entry.target}: {u.action}"}
                )
        after = leaks.snapshot(journal.home, journal.session)
        rep.leaked = leaks.leaked(before, after, journal.home, journal.session)
        rep.seconds = time.monotonic() - t0
    progress_error = _record_progress(journal.home, lesson, results)
    if progress_error:
        console.print(Text(f"warning: {progress_error}", style="yellow"))
    summary = (
        f"{lesson.id}: {rep.passed} {t('passed', lang)}, {rep.failed} {t('failed', lang)}, "
        f"{rep.skipped} {t('skipped', lang)} ({rep.seconds:.1f} s)"
    )
    console.print(Text(summary, style="bold green" if not rep.failed else "bold red"))
    for f in rep.failures:
        console.print(Text(f"  ✗ {lesson.id} step {f['step']}: {f['reason']}", style="red"))
    for leak in rep.leaked:
        console.print(Text(f"  leaked: {leak}", style="bold red"))
    return rep


def verify_lesson(
    lesson: Lesson,
    journal: Journal,
    lang: str,
    console: Console,
    stop: threading.Event,
    doctor_checks: list | None,
) -> LessonReport:
    """The solve gate over one lesson: a line per try and round, then its summary."""
    from lab.lesson import gate

    rep = LessonReport(lesson.id)
    console.print(Rule(Text(f"{lesson.id}: {lesson.title_in(lang)}", style="bold")))
    gate.verify_lesson(lesson, journal, lang, console, stop, doctor_checks, rep)
    ok = not rep.failed and not rep.failures and not rep.leaked
    console.print(
        Text(
            f"{lesson.id}: {rep.passed} tr{'y' if rep.passed == 1 else 'ies'} verified"
            f" ({gate.ROUNDS} rounds), {rep.failed} failed, {rep.skipped} skipped"
            f" ({rep.seconds:.1f} s)",
            style="bold green" if ok else "bold red",
        )
    )
    for leak in rep.leaked:
        console.print(Text(f"  leaked: {leak}", style="bold red"))
    return rep


def play(
    folders: list[Path],
    lang: str,
    console: Console,
    stop: threading.Event | None = None,
    home: Path | None = None,
    track_changes: bool = False,
    verify_tries: bool = False,
) -> PlayReport:
    """Play *folders*; with *verify_tries*, run the solve gate over them instead (gate.py)."""
    stop = stop or threading.Event()
    out = PlayReport()
    journal = Journal.open(home)
    try:
        loaded: list[tuple[Path, Lesson | None, list]] = [
            (f, *load_lesson(f, lang)) for f in folders
        ]
        doctor_checks = None
        if any(
            les and (les.requires or any(s.requires for s in les.steps)) for _, les, _ in loaded
        ):
            from lab.doctor import doctor

            doctor_checks = doctor.run_checks(journal.home)
        for folder, lesson, problems in loaded:
            if stop.is_set():
                break
            errors = [p for p in problems if getattr(p, "severity", "error") == "error"]
            if lesson is None:
                rep = LessonReport(folder.name)
                rep.failures = [{"step": "", "reason": str(p)} for p in errors or problems]
                console.print(Text(f"{folder.name}: cannot load the lesson", style="bold red"))
                for f in rep.failures:
                    console.print(Text(f"  {f['reason']}", style="red"))
                out.lessons.append(rep)
                continue
            for p in problems:
                console.print(Text(f"warning: {p}", style="yellow"))
            if verify_tries:
                rep = verify_lesson(lesson, journal, lang, console, stop, doctor_checks)
            else:
                rep = play_lesson(
                    lesson, journal, lang, console, stop, doctor_checks, track_changes
                )
            out.lessons.append(rep)
            out.leaked += [f"{lesson.id}: {x}" for x in rep.leaked]
    finally:
        journal.close()
        out.interrupted = stop.is_set()
    return out
