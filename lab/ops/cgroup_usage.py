"""Reading a cgroup's usage for the live view: memory, OOM kills, CPU time and
throttling, pids, whether it is populated — over v1 and v2 alike."""

from __future__ import annotations

import contextlib
import os
import time
from dataclasses import dataclass
from typing import Any

from lab.doctor.cgroups_probe import _read


@dataclass
class Sample:
    """One reading of a cgroup's usage, for a live plot. None where not available."""

    time: float
    memory_bytes: int | None = None
    memory_limit: int | None = None  # None: no limit
    memory_failcnt: int | None = None  # v1: times the limit was hit
    oom_kills: int | None = None
    cpu_usage_usec: int | None = None
    nr_periods: int | None = None
    nr_throttled: int | None = None
    throttled_usec: int | None = None
    pids_current: int | None = None
    pids_max: int | None = None  # None: max
    pids_refused: int | None = None  # forks refused at pids.max ("max" in pids.events)
    populated: bool | None = None


def parse_keyed(text: str | None) -> dict[str, int]:
    """'key value' lines (cpu.stat, memory.events, memory.oom_control, cgroup.events)."""
    out: dict[str, int] = {}
    for line in (text or "").splitlines():
        parts = line.split()
        if len(parts) == 2:
            with contextlib.suppress(ValueError):
                out[parts[0]] = int(parts[1])
    return out


def parse_max(text: str | None) -> int | None:
    """'max' (v2) or a huge v1 number means no limit: None."""
    t = (text or "").strip().split()
    if not t or t[0] == "max":
        return None
    try:
        n = int(t[0])
    except ValueError:
        return None
    return None if n >= (1 << 62) else n


def _int(text: str | None) -> int | None:
    try:
        return int((text or "").split()[0])
    except (ValueError, IndexError):
        return None


def sample(cg: Any) -> Sample:
    """One reading of *cg*'s usage (a ``cgroups.Cgroup``: its paths, versions, read())."""
    s = Sample(time.monotonic())
    v = cg.versions
    if "memory" in cg.paths:
        if v["memory"] == "v2":
            s.memory_bytes = _int(cg.read("memory", "memory.current"))
            s.memory_limit = parse_max(cg.read("memory", "memory.max"))
            s.oom_kills = parse_keyed(cg.read("memory", "memory.events")).get("oom_kill")
        else:
            s.memory_bytes = _int(cg.read("memory", "memory.usage_in_bytes"))
            s.memory_limit = parse_max(cg.read("memory", "memory.limit_in_bytes"))
            counts = [
                _int(cg.read("memory", f)) for f in ("memory.failcnt", "memory.memsw.failcnt")
            ]
            s.memory_failcnt = max((c for c in counts if c is not None), default=None)
            s.oom_kills = parse_keyed(cg.read("memory", "memory.oom_control")).get("oom_kill")
    if "cpu" in cg.paths:
        stat = parse_keyed(cg.read("cpu", "cpu.stat"))
        s.nr_periods = stat.get("nr_periods")
        s.nr_throttled = stat.get("nr_throttled")
        if v["cpu"] == "v2":
            s.throttled_usec = stat.get("throttled_usec")
            s.cpu_usage_usec = stat.get("usage_usec")
        else:
            t = stat.get("throttled_time")  # nanoseconds
            s.throttled_usec = t // 1000 if t is not None else None
            if "cpuacct" in cg.paths:
                u = _int(cg.read("cpuacct", "cpuacct.usage"))
                s.cpu_usage_usec = u // 1000 if u is not None else None
    if "pids" in cg.paths:
        s.pids_current = _int(cg.read("pids", "pids.current"))
        s.pids_max = parse_max(cg.read("pids", "pids.max"))
        s.pids_refused = parse_keyed(cg.read("pids", "pids.events")).get("max")
    for d in cg.dirs:
        ev = parse_keyed(_read(os.path.join(d, "cgroup.events")))
        if "populated" in ev:
            s.populated = bool(ev["populated"])
            break
    return s
