"""What checks and views see of a running lesson: variables, spawned processes,
the output of earlier steps, and a way to run a short command."""

from __future__ import annotations

import os
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lab.errors import LabError
from lab.lesson.execute import Completed
from lab.lesson.model import ActionResult
from lab.lesson.spawn import Spawned
from lab.lesson.variables import Variables
from lab.safety import procs

# (command, in_name or "", timeout) -> Completed
CommandRunner = Callable[[str, str, float], Completed]


class ContextError(LabError):
    pass


def _ns_readable(pid: int) -> bool:
    try:
        os.readlink(f"/proc/{pid}/ns/mnt")
        os.readlink(f"/proc/{pid}/ns/pid")
    except OSError:
        return False
    return True


def host_pid() -> int:
    """The process that stands for "the host": pid 1 when /proc/1/ns is readable.

    Inside some sandboxes pid 1 hides its namespaces even from root
    (``readlink /proc/1/ns/mnt``: permission denied); then the oldest process
    whose namespaces are readable stands in (often ``kthreadd``, pid 2: kernel
    threads always live in the initial namespaces).
    """
    if _ns_readable(1):
        return 1
    found: list[tuple[int, int]] = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            st = procs.starttime(int(name))
            if st is not None:
                found.append((st, int(name)))
    for _st, pid in sorted(found):
        if _ns_readable(pid):
            return pid
    return 1


@dataclass
class Context:
    vars: Variables
    step_id: str = ""
    lang: str = "en"
    results: dict[str, list[ActionResult]] = field(default_factory=dict)  # step id -> run/solution
    op_results: dict[str, Any] = field(default_factory=dict)  # step id -> data of its last op
    spawned: dict[str, Spawned] = field(default_factory=dict)
    runner: CommandRunner | None = None
    tries: frozenset[str] = frozenset()  # ids of the steps the learner works in (a try)
    cancel: threading.Event | None = None  # the running step's Esc: views that wait stop early

    def fill(self, text: str) -> str:
        return self.vars.fill(text)

    def pid(self, spec: str | int) -> int:
        """A pid from ``1234``, ``"self"`` (the lab), ``"host"`` or a spawned name.

        ``"host"`` is pid 1 when its namespaces can be read (a VM, a bare
        machine), else the oldest process whose namespaces can (see host_pid).
        """
        if isinstance(spec, int):
            return spec
        s = self.fill(str(spec)).strip()
        if s == "self":
            return os.getpid()
        if s == "host":
            return host_pid()
        if s.isdigit():
            return int(s)
        if s.startswith("pid."):
            s = s[4:]
        if s in self.spawned:
            return self.spawned[s].pid
        raise ContextError(f"no process named {s!r} was spawned (yet)")

    def last(self, step_id: str = "") -> ActionResult | None:
        """The last run/solution of *step_id* (default: the current step)."""
        found = self.results.get(step_id or self.step_id) or []
        return found[-1] if found else None

    def output(self, step_id: str = "", stream: str = "stdout") -> str:
        r = self.last(step_id)
        if r is None:
            raise ContextError(f"step {step_id or self.step_id!r} has no command output (yet)")
        if stream == "stderr":
            return r.stderr
        if stream == "both":
            return r.stdout + r.stderr
        return r.stdout

    def run(self, command: str, in_name: str = "", timeout: float = 10.0) -> Completed:
        if self.runner is None:
            raise ContextError("this context cannot run commands")
        return self.runner(command, in_name, timeout)
