"""Which lessons and steps a learner has done (or failed), kept in HOME/progress.json.

    p = Progress.load(home)       # a missing, unreadable or corrupt file: start fresh
    err = p.mark("05-libraries", "ldd", "passed")  # saved at once (temp file + os.replace);
                                                   # "" or why it could not be saved
    p.done("05-libraries")        # {"ldd"}
    p.first_unfinished(lesson)    # index of the first step not passed (0 when all are)
    p.is_complete(lesson)
    p.reset("05-libraries")

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

from lab.lesson.model import Lesson

FILE = "progress.json"
DONE = ("passed",)  # a step counts as done when it passed
VERSION = 1


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
        """Write atomically; False (and .error set) if it could not."""
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
        self.lessons.setdefault(lesson_id, {})[step_id] = {"status": status, "at": int(time.time())}
        return "" if self.save() else self.error

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
