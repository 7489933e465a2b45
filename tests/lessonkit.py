"""Building lessons in tests: Lesson objects directly, or lesson folders on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lab.lesson.model import Action, Lesson, Step


def act(kind: str, body: str = "", **attrs: str) -> Action:
    """An action as the loader builds it: ``spawn name=X`` keeps X in attrs."""
    return Action(kind, body, 1, attrs=dict(attrs))


def check(kind: str, message: str = "it holds", **params: Any) -> Action:
    return Action("check", "", 1, name=kind, params={"message": message, **params})


def view(name: str, **params: Any) -> Action:
    return Action("view", "", 1, name=name, params=dict(params))


def lesson(*steps: Step, lesson_id: str = "00-test", path: Path | None = None) -> Lesson:
    return Lesson(lesson_id, path or Path("/tmp"), "Test lesson", steps=list(steps))


def step(step_id: str, *actions: Action, **kw: Any) -> Step:
    return Step(step_id, step_id.title(), 1, actions=list(actions), **kw)


def write_lesson(root: Path, lesson_id: str, text: str, ja: str | None = None) -> Path:
    folder = root / lesson_id
    folder.mkdir(parents=True)
    (folder / "lesson.md").write_text(text)
    if ja is not None:
        (folder / "lesson.ja.md").write_text(ja)
    return folder
