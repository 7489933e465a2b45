"""What a running lesson tells its listener (the headless player, the app), and
how a finished command is judged and a try's transcript read.

Plain data: the runner emits these from whatever thread runs the step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from lab.lesson import execute
from lab.lesson.check_words import say
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


def judge(
    c: execute.Completed, expected: int | None, timeout: float, lang: str = "en"
) -> tuple[bool, str]:
    """(ok, note) for a finished command against its expected status, in *lang*."""
    if c.cancelled:
        return False, say("run.cancelled", lang)
    if c.timed_out:
        return False, say("run.timeout", lang, seconds=f"{timeout:g}")
    if c.error:
        return False, say("run.nostart", lang, error=c.error)
    cut = say("run.cut", lang) if c.truncated else ""
    if expected is None:
        return True, (say("run.exited", lang, status=c.exit) if c.exit else "") + cut
    if c.exit == expected:
        note = say("run.expected.ok", lang, status=expected) if expected else ""
        return True, note + cut
    if expected:
        return False, say("run.expected.bad", lang, status=expected, exit=c.exit) + cut
    return False, say("run.exited", lang, status=c.exit) + cut
