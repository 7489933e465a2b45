"""``spawn name=X``: start a long-running process and find the pid that matters.

``unshare --pid --fork sleep 600`` is three processes deep from the lab's point
of view (a shell may exec it, unshare forks, the child execs sleep). Lessons
want the innermost one — the process inside the new namespaces — so ``start()``
follows launcher chains down: while a process is a launcher with exactly one
child, descend; a launcher with no child yet is waited for (bounded).
"""

from __future__ import annotations

import contextlib
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab.safety import procs, resources
from lab.safety.journal import Entry, Journal

WAIT = 2.0  # bound on the descent
SHELL_WAIT = 0.3  # a top-level shell that neither execs nor forks by then is the process
_SHELL_CHARS = set("|&;<>()$`*?[]{}~!#\\\"'\n")


@dataclass
class Spawned:
    name: str
    command: str
    popen: subprocess.Popen
    entry: Entry
    pid: int  # the innermost pid
    start: int | None  # its start time (identity)
    log: Path

    def alive(self) -> bool:
        return procs.alive(self.pid, self.start)


def argv_for(body: str) -> list[str]:
    """A single plain command runs directly; anything with shell syntax via bash -c."""
    text = body.strip()
    if text and not (_SHELL_CHARS & set(text)):
        with contextlib.suppress(ValueError):
            return shlex.split(text)
    return ["bash", "-c", text]


def start(
    journal: Journal, name: str, argv: list[str], *, cwd: Path, env: dict[str, str], log: Path
) -> Spawned:
    """Start *argv* through the journal and wait for its innermost pid."""
    with open(log, "wb") as out:
        popen, entry = resources.spawn(
            journal,
            argv,
            name,
            env=env,
            cwd=str(cwd),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    pid = procs.innermost(popen.pid, WAIT, SHELL_WAIT)
    st = procs.starttime(pid)
    journal.update(entry, inner=pid, inner_start=st)
    return Spawned(name, shlex.join(argv), popen, entry, pid, st, log)
