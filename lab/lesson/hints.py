"""Hints that answer the failure: a check may carry its own hint (``hint``,
``hint_ja``); ``h`` shows first the hint of the step's first failing check, then
the step's general hints."""

from __future__ import annotations

from lab.lesson.checks import hint_of
from lab.lesson.model import CheckResult, Step


def hints_for(step: Step, seen: list[CheckResult], lang: str) -> list[str]:
    """*step*'s hints in the order they are shown, given its checks as last *seen*
    (in the order of its check fences): the first failing check's hint, in *lang*,
    then the step's own."""
    failing = next((i for i, c in enumerate(seen) if not c.ok), None)
    actions = step.of("check")
    first = []
    if failing is not None and failing < len(actions):
        hint = hint_of(actions[failing], lang)
        first = [hint] if hint else []
    return first + step.hints_in(lang)
