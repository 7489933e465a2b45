"""What a lesson session records of the learner besides a step's verdict: the time
each step is on screen (a mixin for ``LessonSession``), through the progress
store's ``note`` (attempts, hints and solutions are noted where they happen).

Moving to another step (anything that sets ``index``) or closing (``leave``)
adds the time the step was on screen; each visit counts at most
``progress.VISIT_CAP``, and under a second not at all.
"""

from __future__ import annotations

import time
from typing import Any

from lab.lesson.model import Lesson


class StepNotes:
    lesson: Lesson
    progress: Any
    _index = 0
    _entered = 0.0  # when the current step came on screen (monotonic; 0: not yet)

    @property
    def index(self) -> int:
        return self._index

    @index.setter
    def index(self, value: int) -> None:
        self.leave()
        self._index = value

    def leave(self) -> None:
        """The current step leaves the screen (or is shown again): count its time."""
        now = time.monotonic()
        since, self._entered = self._entered, now
        steps = self.lesson.steps
        if since and now - since >= 1.0 and 0 <= self._index < len(steps):
            self.note(steps[self._index].id, seconds=now - since)

    def note(self, step_id: str, **what: Any) -> None:
        """Record what the learner did on a step (``Progress.note``'s keywords). A
        store that cannot save logs why; the step's next mark says it too."""
        note = getattr(self.progress, "note", None)
        if note is not None:
            note(self.lesson, step_id, **what)


def refusal(action: str, session: Any) -> Any:
    """*session*, unless *action* ("run", "shell") may not happen here: then LabError
    with the line that says why (read-only; a shell in a browser) in its language."""
    from lab.errors import LabError
    from lab.lesson import serving

    lang = str(getattr(getattr(session, "runner", None), "lang", "en") or "en")
    if serving.read_only():
        raise LabError(serving.say("read_only", lang))
    if action == "shell" and serving.in_browser():
        raise LabError(serving.say("browser_shell", lang))
    return session
