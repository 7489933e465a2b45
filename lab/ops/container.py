"""A container started by hand: namespaces + a new root, as on slides 34–36.

The command is the real `unshare` a learner would type, shown before it runs:
  unshare --uts --ipc --pid --net --mount --fork --root ROOT --mount-proc CMD
"""

from __future__ import annotations

import shlex
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.host import namespaces
from lab.safety import procs
from lab.safety.journal import Entry, Journal
from lab.safety.resources import spawn

DEFAULT_NS = ("uts", "ipc", "pid", "net", "mount")


@dataclass
class Container:
    name: str
    root: Path
    argv: list[str]  # exactly what was run
    launcher: int  # the unshare process
    pid: int  # the container's PID 1, as the host sees it
    entry: Entry
    popen: subprocess.Popen = field(repr=False)

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def alive(self) -> bool:
        return procs.alive(self.pid)

    def ns(self) -> namespaces.NsSet:
        return namespaces.of(self.pid)


def argv(
    root: Path | None,
    cmd: Sequence[str],
    hostname: str | None = None,
    ns: Sequence[str] = DEFAULT_NS,
    mount_proc: bool = True,
) -> list[str]:
    """The unshare command line for a container (shown to the learner verbatim)."""
    out = ["unshare", *[f"--{t}" for t in ns], "--fork"]
    if "mount" in ns:
        out += ["--propagation", "private"]
    if root is not None:
        out += ["--root", str(root)]
    if mount_proc and "pid" in ns and "mount" in ns:
        out += ["--mount-proc"]
    if hostname:
        if "uts" not in ns:
            raise LabError("setting a hostname needs a UTS namespace")
        out += ["/bin/sh", "-c", 'hostname "$0" && exec "$@"', hostname, *cmd]
    else:
        out += list(cmd)
    return out


def start(
    j: Journal,
    name: str,
    root: Path | None,
    cmd: Sequence[str],
    hostname: str | None = None,
    ns: Sequence[str] = DEFAULT_NS,
    log: Path | None = None,
    running: bool = True,
    mount_proc: bool = True,
) -> Container:
    """Start a container process (journaled) and find its PID 1.

    With *running* (the default) a container that exits at once is an error;
    without it, a short command (`/bin/true`) may finish before this returns."""
    line = argv(root, cmd, hostname, ns, mount_proc)
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    try:
        p, entry = spawn(
            j, line, name, stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    pid = procs.innermost(p.pid)
    if "pid" in ns:  # PID 1 of its own namespace: when it dies, everything inside dies
        j.update(entry, inner=pid, inner_start=procs.starttime(pid), pidns=True)
    # with a hostname, PID 1 is a shell until it execs the command: wait for that
    want = Path(cmd[0]).name[:15] if cmd else ""
    deadline = time.monotonic() + 2
    while (
        running
        and want
        and procs.comm(pid) != want
        and p.poll() is None
        and time.monotonic() < deadline
    ):
        time.sleep(0.001)
    if running and p.poll() is not None:
        raise LabError(
            f"the container {name} exited at once (status {p.returncode})",
            f"run it by hand to see why: {shlex.join(line)}",
        )
    return Container(name, root or Path("/"), line, p.pid, pid, entry, p)


def exec_argv(c: Container | int, cmd: Sequence[str]) -> list[str]:
    """Run a command inside a running container's namespaces and root (nsenter)."""
    pid = c.pid if isinstance(c, Container) else c
    return [
        "nsenter",
        "--target",
        str(pid),
        "--mount",
        "--uts",
        "--ipc",
        "--net",
        "--pid",
        "--root",
        "--wd",
        *cmd,
    ]


def stop(j: Journal, c: Container) -> None:
    j.undo(c.entry)
    c.popen.wait(timeout=5)
