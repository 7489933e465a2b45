"""A learner's progress as a file an instructor collects (docs/classroom.md).

    data = build(progress, lessons, learner="aiko@learner-1")  # a dict, JSON-ready
    ex = read(path)            # an Export; ExportError (one line naming the file) if
                               # the file is damaged, foreign or from a newer shikumi
    kind(record)               # "solution" | "hinted" | "done" | "tried" | "not_reached"

The format (version 1)::

    {"format": "shikumi-progress", "version": 1,
     "learner": "aiko@learner-1", "host": "learner-1", "exported": "2026-11-27T18:00:00Z",
     "lab": "0.1.0",
     "lessons": [{"id": "05-libraries", "title": {"en": "...", "ja": "..."},
                  "steps": [{"id": "ldd", "title": {"en": "...", "ja": "..."},
                             "status": "passed", "done": true, "at": 1795000000, "attempts": 2,
                             "hints": 1, "solutions": 0, "seconds": 95.0,
                             "predictions": ["2"]}]}]}

Every bundled lesson is listed with every step, in order (a step never reached
has status "" and zeros), then any lesson the progress knows but the lab no
longer ships. A reader takes any version up to ``VERSION``; fields it does not
know are ignored, so adding one does not need a new version, while changing the
meaning of one does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from lab.lesson.model import Lesson
from lab.lesson.progress import COUNTERS, Progress, StepRecord

FORMAT = "shikumi-progress"
VERSION = 1
MAX_BYTES = 8 * 1024 * 1024  # an export is a few kB; anything this big is not one
KINDS = ("done", "hinted", "solution", "tried", "not_reached")


class ExportError(ValueError):
    """An export that cannot be used: ``str()`` is one line naming the file."""


@dataclass
class StepRow:
    id: str
    title: dict[str, str]
    record: StepRecord


@dataclass
class LessonRow:
    id: str
    title: dict[str, str]
    steps: list[StepRow] = field(default_factory=list)


@dataclass
class Export:
    path: str
    learner: str
    host: str = ""
    exported: str = ""
    lessons: list[LessonRow] = field(default_factory=list)


def kind(rec: StepRecord) -> str:
    """How a step went: passed with the solution shown or run, passed after hints,
    passed on one's own, reached but not passed, or never reached."""
    if rec.status == "passed":
        return "solution" if rec.solutions else ("hinted" if rec.hints else "done")
    if rec.status or rec.attempts or rec.hints or rec.solutions or rec.seconds:
        return "tried"
    return "not_reached"


def _titles(obj: Any) -> dict[str, str]:
    return {lang: obj.title_in(lang) for lang in ("en", "ja")}


def _step_json(step_id: str, title: dict[str, str], rec: StepRecord) -> dict[str, Any]:
    out: dict[str, Any] = {"id": step_id, "title": title, "status": rec.status, "at": rec.at}
    out["done"] = rec.status == "passed"
    out.update({k: getattr(rec, k) for k in COUNTERS})
    out.update(seconds=round(rec.seconds, 1), predictions=list(rec.predictions))
    return out


def build(
    progress: Progress, lessons: list[Lesson], learner: str, host: str = ""
) -> dict[str, Any]:
    """The export of *progress*: every lesson of *lessons* in order, then the rest."""
    rows = []
    for lesson in lessons:
        steps = [
            _step_json(s.id, _titles(s), progress.step_record(lesson.id, s.id))
            for s in lesson.steps
        ]
        known = {s.id for s in lesson.steps}
        steps += [  # steps since removed from the lesson, still in the progress
            _step_json(sid, {"en": sid, "ja": sid}, progress.step_record(lesson.id, sid))
            for sid in sorted(progress.lessons.get(lesson.id, {}))
            if sid not in known
        ]
        rows.append({"id": lesson.id, "title": _titles(lesson), "steps": steps})
    shipped = {lesson.id for lesson in lessons}
    for lesson_id in sorted(set(progress.lessons) - shipped):
        steps = [
            _step_json(sid, {"en": sid, "ja": sid}, progress.step_record(lesson_id, sid))
            for sid in sorted(progress.lessons[lesson_id])
        ]
        rows.append({"id": lesson_id, "title": {"en": lesson_id, "ja": lesson_id}, "steps": steps})
    from lab import __version__

    return {
        "format": FORMAT,
        "version": VERSION,
        "learner": learner,
        "host": host,
        "exported": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "lab": __version__,
        "lessons": rows,
    }


def _title(value: Any, fallback: str) -> dict[str, str]:
    if isinstance(value, str):
        return {"en": value, "ja": value}
    if isinstance(value, dict):
        en = value.get("en") if isinstance(value.get("en"), str) else fallback
        ja = value.get("ja") if isinstance(value.get("ja"), str) else en
        return {"en": en, "ja": ja}
    return {"en": fallback, "ja": fallback}


def _damaged(path: str, why: str) -> ExportError:
    return ExportError(f"{path}: damaged export ({why}); left out")


def read(path: str | Path) -> Export:
    """The export in *path*; ExportError (one line naming the file) if it cannot be used."""
    name = str(path)
    try:
        with open(path, "rb") as f:
            raw = f.read(MAX_BYTES + 1)
    except OSError as e:
        raise ExportError(f"{name}: cannot read it ({e.strerror or e}); left out") from None
    if len(raw) > MAX_BYTES:
        raise ExportError(f"{name}: over {MAX_BYTES // 2**20} MiB, not a progress export; left out")
    try:
        data = json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError:
        raise _damaged(name, "not UTF-8 text") from None
    except json.JSONDecodeError as e:
        raise _damaged(name, f"not JSON: {e.msg} at line {e.lineno}") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise ExportError(
            f'{name}: not a shikumi progress export (no "format": "{FORMAT}"); left out'
        )
    version = data.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 1:
        raise _damaged(name, f"version {version!r} is not a format version")
    if version > VERSION:
        raise ExportError(
            f"{name}: made by a newer shikumi (format version {version}; this one reads up to"
            f" {VERSION}): update shikumi to include it; left out"
        )
    learner = data.get("learner")
    if not isinstance(learner, str) or not learner.strip():
        raise _damaged(name, "no learner name")
    lessons = data.get("lessons")
    if not isinstance(lessons, list):
        raise _damaged(name, '"lessons" is not a list')
    out = Export(
        name, learner.strip(), str(data.get("host") or ""), str(data.get("exported") or "")
    )
    for i, lesson in enumerate(lessons):
        if not isinstance(lesson, dict) or not isinstance(lesson.get("id"), str):
            raise _damaged(name, f"lesson {i + 1} has no id")
        steps = lesson.get("steps")
        if not isinstance(steps, list):
            raise _damaged(name, f'lesson {lesson["id"]}: "steps" is not a list')
        row = LessonRow(lesson["id"], _title(lesson.get("title"), lesson["id"]))
        for j, step in enumerate(steps):
            if not isinstance(step, dict) or not isinstance(step.get("id"), str):
                raise _damaged(name, f"lesson {lesson['id']}, step {j + 1} has no id")
            row.steps.append(
                StepRow(step["id"], _title(step.get("title"), step["id"]), StepRecord.of(step))
            )
        out.lessons.append(row)
    return out
