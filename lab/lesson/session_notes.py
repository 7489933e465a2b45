"""What a lesson session records of the learner besides a step's verdict: the time
each step is on screen (a mixin for ``LessonSession``), through the progress
store's ``note`` (attempts, hints and solutions are noted where they happen).

Moving to another step (anything that sets ``index``) or closing (``leave``)
adds the time the step was on screen; each visit counts at most
``progress.VISIT_CAP``, and under a second not at all.

Predict, then run: ``picks(i)`` are the choices made at step *i*'s predict
questions, in order (None: run without guessing), from this session or else
from the progress kept; ``pending_prediction(i)`` is the question still to ask
(a learner who answered is never asked again, until the lesson is reset);
``predicted(i, choice)`` keeps a choice, in the progress too (the number the
learner saw, "1"…; "-" for no guess).
"""

from __future__ import annotations

import time
from typing import Any

from lab.lesson.model import Lesson

NO_GUESS = "-"  # in the progress: the step was run without guessing


class StepNotes:
    lesson: Lesson
    progress: Any
    _index = 0
    _entered = 0.0  # when the current step came on screen (monotonic; 0: not yet)
    _picks: dict[str, list[int | None]] | None = None  # step id -> choices (this session)

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

    # -- predict, then run ----------------------------------------------------------
    def picks(self, index: int) -> list[int | None]:
        """The choices made at step *index*'s predict questions, in order."""
        if self._picks is None:
            self._picks = {}
        step = self.lesson.steps[index]
        if step.id not in self._picks:
            kept = getattr(self.progress, "predictions", None)
            earlier = list(kept(self.lesson, step.id)) if kept is not None else []
            asks = step.of("predict")
            self._picks[step.id] = [
                _choice(str(value), len(a.params.get("choices") or []))
                for value, a in zip(earlier, asks, strict=False)
            ]
        return self._picks[step.id]

    def pending_prediction(self, index: int) -> int | None:
        """Which of step *index*'s predict questions to ask now (None: none left)."""
        made = len(self.picks(index))
        return made if made < len(self.lesson.steps[index].of("predict")) else None

    def predicted(self, index: int, choice: int | None) -> None:
        """The learner answered step *index*'s next question (None: no guess)."""
        self.picks(index).append(choice)
        value = NO_GUESS if choice is None else str(choice + 1)
        self.note(self.lesson.steps[index].id, prediction=value)

    def forget_picks(self) -> None:
        """The lesson was reset: every question is asked again."""
        self._picks = None


def _choice(value: str, choices: int) -> int | None:
    """A kept prediction ("2") as a choice index; None for no guess or a value that no
    longer fits the question (the lesson changed)."""
    return int(value) - 1 if value.isdigit() and 0 < int(value) <= choices else None


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
