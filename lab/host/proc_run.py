"""A short command, bounded in time for its whole process group.

``subprocess.run(timeout=…)`` kills only the process it started: a child of that
process (the loader `ldd` runs, the shell's pipeline) lives on. ``run()`` starts the
command in a session of its own and, at the timeout (or on any exception, Ctrl-C
included), kills the whole group, then raises ``CommandTimeout`` — a ``LabError``
(one clear line for the user) that is also a ``subprocess.TimeoutExpired``.

Long-running processes the lab keeps (spawns, containers) are not started here:
they go through ``resources.spawn`` and the journal.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
from collections.abc import Sequence
from typing import Any

from lab.errors import LabError

DRAIN = 1.0  # after the kill, how long to read what is left in the pipes
REAP = 2.0  # after the kill, how long to wait for the process to be gone


class CommandTimeout(LabError, subprocess.TimeoutExpired):
    def __init__(
        self, argv: Sequence[str], timeout: float, output: Any = None, stderr: Any = None
    ) -> None:
        subprocess.TimeoutExpired.__init__(self, list(argv), timeout, output, stderr)
        self.message = (
            f"`{shlex.join(argv)}` did not finish within {timeout:g} s: stopped "
            "(its whole process group was killed)"
        )
        self.fix = ""
        Exception.__init__(self, self.message)

    def __str__(self) -> str:
        return LabError.__str__(self)


def kill_group(p: subprocess.Popen) -> None:
    """SIGKILL to the process group *p* leads (it was started with ``start``)."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGKILL)


def start(argv: Sequence[str], **popen: Any) -> subprocess.Popen:
    """Start *argv* in a new session (its own process group); finish it with ``finish``."""
    popen.pop("start_new_session", None)
    return subprocess.Popen(list(argv), start_new_session=True, **popen)


def finish(p: subprocess.Popen, timeout: float, input: Any = None) -> tuple[Any, Any]:
    """``p.communicate()`` within *timeout* s; past it, or on any exception, the whole
    group is killed (then ``CommandTimeout`` / the exception is raised)."""
    try:
        return p.communicate(input, timeout=timeout)
    except subprocess.TimeoutExpired:
        out, err = stop(p)
        raise CommandTimeout(p.args, timeout, out, err) from None  # type: ignore[arg-type]
    except BaseException:
        stop(p)
        raise


def stop(p: subprocess.Popen) -> tuple[Any, Any]:
    """Kill *p*'s whole group, read what is left (DRAIN s at most), reap it (REAP s at
    most); (stdout, stderr) as far as they could be read. Never raises."""
    kill_group(p)
    out = err = None
    try:
        out, err = p.communicate(timeout=DRAIN)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        # something outside the group still holds the pipes: stop reading
        for f in (p.stdin, p.stdout, p.stderr):
            if f is not None:
                with contextlib.suppress(OSError):
                    f.close()
    with contextlib.suppress(subprocess.TimeoutExpired):
        p.wait(timeout=REAP)
    return out, err


def run(
    argv: Sequence[str],
    *,
    timeout: float,
    input: Any = None,
    capture_output: bool = False,
    check: bool = False,
    **popen: Any,
) -> subprocess.CompletedProcess:
    """Like ``subprocess.run``, with a timeout that is required and kills the group."""
    if input is not None:
        popen.setdefault("stdin", subprocess.PIPE)
    if capture_output:
        popen.setdefault("stdout", subprocess.PIPE)
        popen.setdefault("stderr", subprocess.PIPE)
    p = start(argv, **popen)
    out, err = finish(p, timeout, input)  # communicate() closes the pipes and reaps it
    r = subprocess.CompletedProcess(list(argv), p.returncode, out, err)
    if check:
        r.check_returncode()
    return r
