"""Namespaces of a process, as /proc/PID/ns shows them (slides 37–41)."""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field

NS_TYPES = ("cgroup", "ipc", "mnt", "net", "pid", "time", "user", "uts")
_LINK = re.compile(r"^(\w+):\[(\d+)\]$")


@dataclass(frozen=True)
class NsSet:
    pid: int
    inodes: dict[str, int] = field(default_factory=dict)  # type -> inode number

    def differs_from(self, other: NsSet) -> list[str]:
        """The namespace types in which the two processes differ."""
        return sorted(
            t for t in self.inodes if t in other.inodes and self.inodes[t] != other.inodes[t]
        )


def of(pid: int | str = "self") -> NsSet:
    """Read /proc/PID/ns/* (the `ls -l /proc/$$/ns` of the slides)."""
    inodes: dict[str, int] = {}
    base = f"/proc/{pid}/ns"
    for name in sorted(os.listdir(base)):
        if name.endswith("_for_children"):
            continue
        try:
            m = _LINK.match(os.readlink(f"{base}/{name}"))
        except OSError:
            continue
        if m:
            inodes[name] = int(m.group(2))
    real = os.getpid() if pid == "self" else int(pid)
    return NsSet(real, inodes)


def nspid(pid: int) -> list[int]:
    """The pid as seen from each nested PID namespace, outermost first (NSpid)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("NSpid:"):
                return [int(x) for x in line.split()[1:]]
    return [pid]
