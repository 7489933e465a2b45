"""What a lesson session reports when one of its blocking methods ends
(lab/lesson/session.py): opened, closed, a step run, the checks after a try."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from lab.lesson.model import CheckResult, StepResult, ViewResult


@dataclass
class Opened:
    """The session is open (``session``), or could not be (``error``: one line)."""

    session: Any
    error: str = ""


@dataclass
class Closed:
    """The session was closed; ``error``: one line if cleaning up failed."""

    error: str = ""


@dataclass
class StepEnded:
    """``run_step`` returned (``result``) or raised (``error``: one line)."""

    index: int
    result: StepResult | None = None
    error: str = ""
    solution: bool = False


@dataclass
class ChecksEnded:
    """``check_step`` returned after the learner's own turn (or raised: ``error``)."""

    index: int
    checks: list[CheckResult] = field(default_factory=list)
    error: str = ""
    views: list[ViewResult] = field(default_factory=list)


SessionEvent = Opened | Closed | StepEnded | ChecksEnded
