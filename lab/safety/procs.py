"""Processes: identity (pid + start time), finding the lab's by marker, killing."""

from __future__ import annotations

import contextlib
import os
import signal
import time

MARK_VAR = "SHIKUMI_MARK"


def starttime(pid: int) -> int | None:
    """The process's start time in clock ticks since boot (field 22), or None."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            data = f.read()
    except OSError:
        return None
    # comm may hold spaces and parentheses: split after the last ')'
    rest = data[data.rfind(b")") + 2 :].split()
    try:
        return int(rest[19])
    except (IndexError, ValueError):
        return None


PF_EXITING = 0x4
SIGKILL_BIT = 1 << (9 - 1)


def alive(pid: int, start: int | None = None) -> bool:
    """Running, and not on its way out: a zombie, a process already exiting
    (PF_EXITING) or one with a SIGKILL pending counts as gone."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
        if start is not None and int(rest[19]) != start:
            return False
        if rest[0] in (b"Z", b"X") or int(rest[6]) & PF_EXITING:
            return False
        with open(f"/proc/{pid}/status", "rb") as f:
            for line in f:
                if (
                    line.startswith((b"ShdPnd:", b"SigPnd:"))
                    and int(line.split()[1], 16) & SIGKILL_BIT
                ):
                    return False
        return True
    except (OSError, IndexError, ValueError):
        return False


def with_marker(marker: str, prefix: bool = False) -> list[int]:
    """Pids whose environment carries SHIKUMI_MARK=<marker> (or, with *prefix*,
    a marker starting with it), in any pid namespace."""
    needle = f"{MARK_VAR}={marker}".encode()
    found = []
    me = os.getpid()
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            with open(f"/proc/{name}/environ", "rb") as f:
                env = f.read()
        except OSError:
            continue
        values = env.split(b"\0")
        if (any(v.startswith(needle) for v in values) if prefix else needle in values) and alive(
            int(name)
        ):
            found.append(int(name))
    return found


def kill_all(pids: list[int], timeout: float = 2.0) -> list[int]:
    """SIGKILL each pid and wait (bounded) until they have exited — a zombie or
    gone, their files closed and their locks released. Returns the killed."""
    killed = []
    for pid in pids:
        try:
            os.kill(pid, signal.SIGKILL)
            killed.append(pid)
        except ProcessLookupError:
            pass
    deadline = time.monotonic() + timeout
    pending = list(killed)
    while pending and time.monotonic() < deadline:
        for pid in list(pending):
            # reap our own children; others are reaped by their parent or init
            with contextlib.suppress(ChildProcessError):
                os.waitpid(pid, os.WNOHANG)
            if exited(pid):
                pending.remove(pid)
        if pending:
            time.sleep(0.01)
    return killed


def exited(pid: int) -> bool:
    """Gone, or a zombie: it has released everything it held."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return f.read().rsplit(b")", 1)[1].split()[0] in (b"Z", b"X")
    except (OSError, IndexError):
        return True


# programs that only set something up and then run (or fork) the real command
LAUNCHERS = frozenset(
    {
        "unshare",
        "nsenter",
        "setsid",
        "env",
        "timeout",
        "chroot",
        "stdbuf",
        "nice",
        "setpriv",
        "sudo",
        "nohup",
        # `unshare --map-auto` (or --map-users) forks a helper that runs these, then
        # exits: followed, they vanish, and the search goes back up (see innermost)
        "newuidmap",
        "newgidmap",
    }
)
SHELLS = frozenset({"bash", "sh", "dash"})


def comm(pid: int) -> str:
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return ""


def innermost(top: int, wait: float = 2.0, shell_wait: float = 0.3) -> int:
    """Follow launcher chains from *top* down to the process that does the work.

    `unshare --fork CMD` forks: the container's PID 1 is its child. `chroot`
    and `unshare` without --fork exec, so the pid stays the same. A top-level
    shell (`bash -c "…"`) counts as a launcher too, but one that neither execs
    nor forks within *shell_wait* seconds is itself the process. Bounded by *wait*.
    """
    from lab.host.procfs import children  # local: procfs imports nothing from here

    pid = top
    deadline = time.monotonic() + wait
    shell_deadline = time.monotonic() + shell_wait
    while True:
        name = comm(pid)
        if not name or not alive(pid):
            if pid != top and alive(top) and time.monotonic() < deadline:
                pid = top  # a launcher's short-lived helper ended: look again from the top
                time.sleep(0.0005)
                continue
            return pid  # gone (or a zombie): the caller notices
        if name not in LAUNCHERS and not (name in SHELLS and pid == top):
            return pid
        kids = children(pid)
        if comm(pid) != name:
            continue  # it exec'd while we looked (chroot -> hello.sh): its children are not ours
        if len(kids) == 1:
            pid = kids[0]
            continue
        now = time.monotonic()
        if len(kids) > 1 or now > deadline or (name in SHELLS and now > shell_deadline):
            return pid
        time.sleep(0.0005)  # a launcher forks or execs within a millisecond or two
