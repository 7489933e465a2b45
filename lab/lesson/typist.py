"""Typing into a try shell, as a learner would: for the solve gate and its tests.

``type_lines(argv, lines, timeout=…)`` starts *argv* (a step's try shell, from
``Runner.shell``) on a pseudo-terminal of its own, waits for its prompt, types each
line and waits for the next prompt, then types ``exit``. What the learner's shell
keeps (its recorded session, what it started in the background: a `sleep 260 &`
lives on, carrying the lab's marker, until the lesson ends) is exactly what a
learner at the keyboard would leave; the checks then judge it the same way.

Bounded in time: past *timeout* the shell's whole group is killed.
"""

from __future__ import annotations

import contextlib
import os
import re
import select
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.host import proc_run
from lab.lesson.model import ActionResult, StepResult
from lab.lesson.run_events import (
    ActionFinished,
    ActionStarted,
    Output,
    printed_only,
    transcript_text,
)

QUIET = 0.1  # a prompt counts once nothing more was printed for this long
IDLE = 3.0  # no prompt seen, but nothing printed for this long: type the next line anyway
_ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_LAB_PROMPT = re.compile(rb"\(shikumi[^)\n]*\) # ")  # the try shell's PS1, wherever it is
_ANY_PROMPT = re.compile(rb"(?:[#$>] )$")  # a chroot's "# ", a continuation "> " at the end


class _Pty:
    def __init__(self, fd: int, cancel: threading.Event | None = None) -> None:
        self.fd = fd
        self.cancel = cancel
        self.seen = bytearray()
        self.closed = False

    def _ready(self, since: int, after_enter: bool) -> bool:
        """Has a prompt appeared since byte *since* (after the echoed Enter, when a line
        was typed: readline may redraw the prompt before it)?"""
        new = _ANSI.sub(b"", bytes(self.seen[since:])).replace(b"\r", b"")
        if after_enter:
            nl = new.find(b"\n")
            if nl < 0:
                return False
            new = new[nl + 1 :]
        return bool(_LAB_PROMPT.search(new) or _ANY_PROMPT.search(new[-200:]))

    def wait_prompt(self, deadline: float, since: int, after_enter: bool) -> None:
        """Read until a prompt appeared after *since* and the output stays quiet (output
        a background job prints after the prompt does not matter), the shell is gone,
        nothing was printed for IDLE s, or *deadline* passes."""
        last = time.monotonic()
        while not self.closed:
            now = time.monotonic()
            if now >= deadline or (self.cancel is not None and self.cancel.is_set()):
                return
            ready, _, _ = select.select([self.fd], [], [], min(QUIET / 2, deadline - now))
            if ready:
                try:
                    chunk = os.read(self.fd, 65536)
                except OSError:  # EIO: the shell ended and the terminal closed
                    chunk = b""
                if not chunk:
                    self.closed = True
                    return
                self.seen += chunk
                last = time.monotonic()
                continue
            quiet = now - last
            if quiet >= IDLE or (quiet >= QUIET and self._ready(since, after_enter)):
                return

    def type(self, line: str) -> None:
        if not self.closed:
            with contextlib.suppress(OSError):
                os.write(self.fd, line.encode() + b"\n")


def type_lines(
    argv: Sequence[str],
    lines: Sequence[str],
    *,
    timeout: float,
    cwd: Path | None = None,
    cancel: threading.Event | None = None,
) -> str:
    """Type *lines* into the interactive shell *argv*, one per prompt, then `exit`.
    Returns what the terminal showed (escape sequences and all)."""
    master, slave = os.openpty()
    env = dict(os.environ, TERM="dumb")
    try:
        p = proc_run.start(
            list(argv), stdin=slave, stdout=slave, stderr=slave, cwd=cwd, env=env, close_fds=True
        )
    finally:
        os.close(slave)
    term = _Pty(master, cancel)
    deadline = time.monotonic() + timeout
    try:
        term.wait_prompt(deadline, 0, after_enter=False)
        for line in [*lines, "exit", "exit", "exit"]:
            if term.closed or time.monotonic() >= deadline:
                break
            since = len(term.seen)
            term.type(line)
            term.wait_prompt(deadline, since, after_enter=True)
        while not term.closed and time.monotonic() < deadline:
            term.wait_prompt(deadline, len(term.seen), after_enter=True)
        try:
            p.wait(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        except Exception:
            proc_run.stop(p)
    finally:
        if p.poll() is None:
            proc_run.stop(p)
        os.close(master)
    return term.seen.decode(errors="replace")


def solve(runner: Any, index: int, res: StepResult, cancel: threading.Event | None = None) -> None:
    """A try step's solutions typed, line by line, into the step's own try shell (the one
    the learner gets: the same process context, directory, environment and recorded
    session); the step's checks then read that shell's session as they would a learner's.
    *runner* is the lesson's ``Runner``; *res* fails if the solution cannot be typed."""
    step = runner.lesson.steps[index]
    try:
        lines = [
            line
            for a in step.of("solution")
            for line in runner.vars.fill_shell(a.body.strip()).splitlines()
        ]
        argv = runner.shell(index)
    except LabError as e:
        res.status, res.reason = "failed", f"solution: {e.message}"
        return
    shown = "\n".join(lines)
    runner._emit(ActionStarted(step.id, index, "solution", shown))
    timeout = float(step.timeout or 60.0) + 10.0
    seen = type_lines(argv, lines, timeout=timeout, cwd=runner.work, cancel=cancel)
    printed = printed_only(transcript_text(seen.encode()))
    for line in printed.strip("\n").splitlines():
        runner._emit(Output(step.id, index, "stdout", line))
    r = ActionResult("solution", shown, exit=0, stdout=printed)
    res.actions.append(r)
    runner._emit(ActionFinished(step.id, index, r))
