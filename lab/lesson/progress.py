"""Which lessons and steps a learner has done (or failed), kept in HOME/progress.json.

    p = Progress.load(home)       # a missing, unreadable or corrupt file: start fresh
    err = p.mark("05-libraries", "ldd", "passed")  # saved at once (temp file + os.replace);
                                                   # "" or why it could not be saved
    p.done("05-libraries")        # {"ldd"}
    p.first_unfinished(lesson)    # index of the first step not passed (0 when all are)
    p.is_complete(lesson)
    p.reset("05-libraries")
    p.note("05-libraries", "ldd", attempt=True, hints=1, solution=True, seconds=12.5,
           prediction="2")        # what the learner did on a step (saved at once)
    p.step_record("05-libraries", "ldd")   # a full StepRecord (zeros where nothing is known)

Each step's record in the file: ``status`` and ``at`` (the last run's verdict and
when), and what the learner did: ``attempts`` (the times the step's checks judged
a run or a try), ``hints`` (hints shown), ``solutions`` (times the solution was
shown or run), ``seconds`` (time the step was on screen, each visit capped at
``VISIT_CAP``), ``predictions`` (the choices made at a predict question, in order:
the number the learner saw, "1"…, or "-" for a run without a guess).
Every one of them is optional: older files have only ``status`` and ``at``.

A corrupt file is kept as progress.json.bak. Saving never raises (progress is a
convenience, and losing it must not stop a lesson), but it never fails silently
either: ``mark``/``reset``/``save`` return one line saying why the progress could
not be saved (also in ``.error``), and ``load`` puts in ``.error`` why an earlier
file could not be used; the caller shows it.
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.lesson import serving
from lab.lesson.model import Lesson

FILE = "progress.json"
DONE = ("passed",)  # a step counts as done when it passed
VERSION = 1
VISIT_CAP = 30 * 60.0  # a visit counts at most this long (a learner who walked away)
COUNTERS = ("attempts", "hints", "solutions")


@dataclass(frozen=True)
class StepRecord:
    """What is known of one step: the verdict, and what the learner did on it."""

    status: str = ""  # "" (never judged), passed, failed, skipped, cancelled
    at: int = 0
    attempts: int = 0
    hints: int = 0
    solutions: int = 0
    seconds: float = 0.0
    predictions: tuple[str, ...] = ()

    @classmethod
    def of(cls, rec: dict[str, Any] | None) -> StepRecord:
        """From a record in the file, tolerant of missing or wrongly typed fields."""
        rec = rec or {}

        def num(key: str) -> int:
            v = rec.get(key, 0)
            return max(0, int(v)) if isinstance(v, int | float) and not isinstance(v, bool) else 0

        secs = rec.get("seconds", 0.0)
        preds = rec.get("predictions", [])
        return cls(
            status=str(rec.get("status", "") or ""),
            at=num("at"),
            attempts=num("attempts"),
            hints=num("hints"),
            solutions=num("solutions"),
            seconds=float(secs) if isinstance(secs, int | float) and secs > 0 else 0.0,
            predictions=tuple(str(p) for p in preds) if isinstance(preds, list) else (),
        )


@dataclass
class Progress:
    path: Path
    # lesson id -> step id -> {"status": ..., "at": unix time}
    lessons: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)
    error: str = ""  # why an earlier file could not be used / saved ("" if fine)

    @classmethod
    def load(cls, home: Path | None = None) -> Progress:
        if home is None:
            from lab.safety.home import home_dir

            home = home_dir()
        path = Path(home) / FILE
        progress = cls(path)
        try:
            raw = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return progress
        except (OSError, UnicodeDecodeError) as e:
            progress.error = f"cannot read {path}: {e}"
            progress._keep_backup()
            return progress
        try:
            data = json.loads(raw)
            progress.lessons = _validated(data)
        except (ValueError, TypeError) as e:
            progress.error = f"{path} is corrupt ({e}); starting fresh, the old file is {FILE}.bak"
            progress._keep_backup()
        return progress

    def _keep_backup(self) -> None:
        try:
            os.replace(self.path, self.path.with_name(FILE + ".bak"))
        except FileNotFoundError:
            pass
        except OSError as e:
            self.error += f" (it could not be kept as {FILE}.bak: {e.strerror or e})"

    def save(self) -> bool:
        """Write atomically; False (and .error set) if it could not. A read-only view
        (``shikumi serve --read-only``) keeps its changes in memory and writes nothing."""
        if serving.read_only():
            return True
        data = {"version": VERSION, "lessons": self.lessons}
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=".progress-", suffix=".tmp", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as f:
                    json.dump(data, f, indent=1, sort_keys=True)
                    f.flush()
                    os.fsync(f.fileno())
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError as e:
            self.error = f"cannot save progress to {self.path}: {e.strerror or e}"
            return False
        return True

    def mark(self, lesson_id: str, step_id: str, status: str) -> str:
        """Record *status* (passed / failed / skipped / cancelled) for a step, and save:
        "" if saved, else why not (one line, also in ``.error``)."""
        rec = self.lessons.setdefault(lesson_id, {}).setdefault(step_id, {})
        rec.update(status=status, at=int(time.time()))  # what the learner did is kept
        return "" if self.save() else self.error

    def note(
        self,
        lesson_id: str,
        step_id: str,
        *,
        attempt: bool = False,
        hints: int = 0,
        solution: bool = False,
        seconds: float = 0.0,
        prediction: str | None = None,
        save: bool = True,
    ) -> str:
        """Add what the learner did on a step (an attempt, hints shown, the solution
        shown or run, time on screen, a predict choice) and save (unless *save* is
        false: a ``mark`` follows): "" or why not."""
        rec = self.lessons.setdefault(lesson_id, {}).setdefault(step_id, {})
        for key, add in (
            ("attempts", int(attempt)),
            ("hints", hints),
            ("solutions", int(solution)),
        ):
            if add:
                rec[key] = getattr(StepRecord.of(rec), key) + max(0, int(add))
        if seconds > 0:
            total = StepRecord.of(rec).seconds + min(float(seconds), VISIT_CAP)
            rec["seconds"] = round(total, 1)
        if prediction is not None:
            rec["predictions"] = [*StepRecord.of(rec).predictions, str(prediction)]
        return "" if not save or self.save() else self.error

    def step_record(self, lesson_id: str, step_id: str) -> StepRecord:
        return StepRecord.of(self.lessons.get(lesson_id, {}).get(step_id))

    def mark_done(self, lesson_id: str, step_id: str) -> str:
        return self.mark(lesson_id, step_id, "passed")

    def status(self, lesson_id: str, step_id: str) -> str:
        return str(self.lessons.get(lesson_id, {}).get(step_id, {}).get("status", ""))

    def done(self, lesson_id: str) -> set[str]:
        steps = self.lessons.get(lesson_id, {})
        return {s for s, rec in steps.items() if rec.get("status") in DONE}

    def failed(self, lesson_id: str) -> set[str]:
        steps = self.lessons.get(lesson_id, {})
        return {s for s, rec in steps.items() if rec.get("status") == "failed"}

    def done_count(self, lesson: Lesson) -> int:
        done = self.done(lesson.id)
        return sum(1 for s in lesson.steps if s.id in done)

    def first_unfinished(self, lesson: Lesson) -> int:
        """Index of the first step not yet passed; 0 when every step is (start over)."""
        done = self.done(lesson.id)
        for i, step in enumerate(lesson.steps):
            if step.id not in done:
                return i
        return 0

    def is_complete(self, lesson: Lesson) -> bool:
        done = self.done(lesson.id)
        return bool(lesson.steps) and all(s.id in done for s in lesson.steps)

    def reset(self, lesson_id: str) -> str:
        """Forget a lesson's steps and save: "" if saved (or nothing to forget), else why not."""
        if self.lessons.pop(lesson_id, None) is not None and not self.save():
            return self.error
        return ""

    def reset_all(self) -> str:
        """Forget every lesson and save: "" if saved (or nothing to forget), else why not."""
        had, self.lessons = bool(self.lessons), {}
        if had and not self.save():
            return self.error
        return ""


def _validated(data: Any) -> dict[str, dict[str, dict[str, Any]]]:
    """The lessons table from the file's JSON; raises ValueError on a wrong shape."""
    if not isinstance(data, dict) or not isinstance(data.get("lessons", {}), dict):
        raise ValueError("not a progress file")
    out: dict[str, dict[str, dict[str, Any]]] = {}
    for lesson_id, steps in data.get("lessons", {}).items():
        if not isinstance(steps, dict):
            raise ValueError(f"lesson {lesson_id!r} is not a table")
        out[str(lesson_id)] = {
            str(s): dict(rec) if isinstance(rec, dict) else {"status": str(rec)}
            for s, rec in steps.items()
        }
    return out
