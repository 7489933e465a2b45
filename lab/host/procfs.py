"""/proc/PID/status and friends, as typed data (slides 13–14)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field

# the fields the lessons explain, in the order they are shown
KEY_FIELDS = (
    "Name",
    "State",
    "Pid",
    "PPid",
    "Uid",
    "Gid",
    "Threads",
    "VmRSS",
    "VmSize",
    "NSpid",
    "CapEff",
    "Cpus_allowed_list",
)


@dataclass
class ProcStatus:
    pid: int
    fields: dict[str, str] = field(default_factory=dict)

    def get(self, key: str, default: str = "") -> str:
        return self.fields.get(key, default)

    @property
    def name(self) -> str:
        return self.get("Name")

    @property
    def ppid(self) -> int:
        return int(self.get("PPid", "0") or 0)


def parse_status(text: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for line in text.splitlines():
        key, sep, value = line.partition(":")
        if sep:
            out[key.strip()] = " ".join(value.split())
    return out


def status(pid: int | str = "self") -> ProcStatus:
    with open(f"/proc/{pid}/status", encoding="utf-8", errors="replace") as f:
        fields = parse_status(f.read())
    return ProcStatus(int(fields.get("Pid", os.getpid() if pid == "self" else pid)), fields)


def cmdline(pid: int) -> list[str]:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            return [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
    except OSError:
        return []


def children(pid: int) -> list[int]:
    """Direct children, from /proc/PID/task/*/children (needs CONFIG_PROC_CHILDREN)."""
    kids: list[int] = []
    supported = False
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                supported = True
                kids.extend(int(x) for x in f.read().split())
    except FileNotFoundError:
        if not os.path.exists(f"/proc/{pid}"):
            return []  # the process is gone
    except OSError:
        pass
    if supported:
        return sorted(set(kids))
    # a kernel without CONFIG_PROC_CHILDREN: scan every process's PPid
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                if status(name).ppid == pid:
                    found.append(int(name))
            except OSError:
                continue
    return sorted(found)


def find_by_name(*names: str) -> list[int]:
    """Pids whose comm is one of *names* (like `pidof`), oldest first."""
    found = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/comm") as f:
                if f.read().strip() in names:
                    found.append(int(entry))
        except OSError:
            continue
    return sorted(found)
