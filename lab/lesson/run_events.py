"""What a running lesson tells its listener (the headless player, the app), and
how a finished command is judged and a try's transcript read.

Plain data: the runner emits these from whatever thread runs the step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.lesson import execute
from lab.lesson.model import ActionResult, CheckResult, StepResult, ViewResult


@dataclass
class ActionStarted:
    step_id: str
    index: int
    kind: str
    command: str


@dataclass
class Output:
    step_id: str
    index: int
    stream: str
    text: str


@dataclass
class ActionFinished:
    step_id: str
    index: int
    result: ActionResult


@dataclass
class ViewReady:
    step_id: str
    view: ViewResult


@dataclass
class CheckDone:
    step_id: str
    result: CheckResult


@dataclass
class StepFinished:
    result: StepResult


Event = ActionStarted | Output | ActionFinished | ViewReady | CheckDone | StepFinished


_ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")


def transcript_text(raw: bytes) -> str:
    """A `script` typescript as plain text: no escape sequences, no carriage returns."""
    text = _ANSI.sub(b"", raw).replace(b"\r\n", b"\n").replace(b"\r", b"")
    lines = [ln for ln in text.decode(errors="replace").split("\n") if not ln.startswith("Script ")]
    return "\n".join(lines)


_PROMPT = re.compile(r"^\(shikumi[^)]*\) # ")


def printed_only(transcript: str) -> str:
    """A try shell's transcript without the lines the learner typed (each starts with
    the `(shikumi…) # ` prompt): what the commands printed, for the output checks."""
    return "\n".join(ln for ln in transcript.split("\n") if not _PROMPT.match(ln))


def judge(c: execute.Completed, expected: int | None, timeout: float) -> tuple[bool, str]:
    """(ok, note) for a finished command against its expected status."""
    if c.cancelled:
        return False, "cancelled"
    if c.timed_out:
        return False, f"timed out after {timeout:g} s (its whole process group was killed)"
    if c.error:
        return False, f"could not start: {c.error}"
    cut = " (output cut)" if c.truncated else ""
    if expected is None:
        return True, (f"exited {c.exit}" if c.exit else "") + cut
    if c.exit == expected:
        note = f"expected to fail with status {expected}: it did" if expected else ""
        return True, note + cut
    if expected:
        return False, f"expected to fail with status {expected}, but it exited {c.exit}{cut}"
    return False, f"exited {c.exit}{cut}"
