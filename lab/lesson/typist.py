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
import time
from collections.abc import Sequence
from pathlib import Path

from lab.host import proc_run

QUIET = 0.25  # a prompt counts once nothing more was printed for this long
_ANSI = re.compile(rb"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[@-Z\\-_])")
_PROMPT = re.compile(rb"(?:[#$>] )$")  # "(shikumi) # ", a chroot's "# ", a continuation "> "


class _Pty:
    def __init__(self, fd: int) -> None:
        self.fd = fd
        self.seen = bytearray()
        self.closed = False

    def read_until_prompt(self, deadline: float) -> None:
        """Read until the output ends with a prompt and stays quiet, the shell is gone,
        or *deadline* passes."""
        quiet_since = None
        while not self.closed:
            now = time.monotonic()
            if now >= deadline:
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
                quiet_since = None
                continue
            tail = _ANSI.sub(b"", bytes(self.seen[-200:])).replace(b"\r", b"")
            if _PROMPT.search(tail):
                quiet_since = quiet_since or now
                if now - quiet_since >= QUIET:
                    return

    def type(self, line: str) -> None:
        if not self.closed:
            with contextlib.suppress(OSError):
                os.write(self.fd, line.encode() + b"\n")


def type_lines(
    argv: Sequence[str], lines: Sequence[str], *, timeout: float, cwd: Path | None = None
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
    term = _Pty(master)
    deadline = time.monotonic() + timeout
    try:
        term.read_until_prompt(deadline)
        for line in [*lines, "exit", "exit", "exit"]:
            if term.closed or time.monotonic() >= deadline:
                break
            term.type(line)
            term.read_until_prompt(deadline)
        while not term.closed and time.monotonic() < deadline:
            term.read_until_prompt(deadline)
        try:
            p.wait(timeout=max(0.1, min(2.0, deadline - time.monotonic())))
        except Exception:
            proc_run.stop(p)
    finally:
        if p.poll() is None:
            proc_run.stop(p)
        os.close(master)
    return term.seen.decode(errors="replace")
