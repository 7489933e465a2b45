"""``cgusage``: a cgroup's usage, sampled for a few seconds, drawn against its limit.

The cgroup is the one a process is in (``pid``: a spawned name, a number) or a
directory (``cgroup``). ``show`` picks what to plot: ``memory`` (bytes in use vs
the memory limit), ``cpu`` (share of one CPU per interval vs the quota, with the
throttling counters) or ``pids`` (tasks vs ``pids.max``). Works on cgroup v1 and
v2 alike: the sample comes from ``lab.ops.cgroups.sample``.
"""

from __future__ import annotations

import contextlib
import itertools
import os
import time
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from lab.doctor.cgroups_probe import CgroupLayout, detect_layout
from lab.ops import cgroup_usage, cgroups

PARAMS: dict[str, tuple[Any, bool]] = {
    "show": (str, True),  # memory | cpu | pids
    "pid": ((str, int), False),  # the process whose cgroup to sample
    "cgroup": (str, False),  # or the cgroup's directory
    "seconds": ((int, float), False),  # default 2.5
    "samples": (int, False),  # default 12
    "title": (str, False),
    "title_ja": (str, False),
}
SHOWS = ("memory", "cpu", "pids")
BLOCKS = " ▁▂▃▄▅▆▇█"
WIDTH = 40


@dataclass
class Point:
    t: float  # seconds since the first sample
    value: float  # bytes, share of one CPU (0–1+), or tasks


@dataclass
class Usage:
    show: str
    where: str  # the cgroup directory sampled
    version: str  # v1 | v2
    points: list[Point] = field(default_factory=list)
    limit: float | None = None  # same unit as the points; None: no limit
    counters: dict[str, int] = field(default_factory=dict)  # throttling, oom kills, failcnt…
    title: str = ""
    title_ja: str = ""


# -- finding the cgroup ---------------------------------------------------------------------


def _controllers_of(path: str, layout: CgroupLayout) -> tuple[dict[str, str], dict[str, str]]:
    """The controllers whose hierarchy holds *path*: (controller -> dir, controller -> version)."""
    paths: dict[str, str] = {}
    versions: dict[str, str] = {}
    for c, mount in layout.v1.items():
        if path == mount or path.startswith(mount.rstrip("/") + "/"):
            paths[c], versions[c] = path, "v1"
    if not paths and layout.v2_mount and path.startswith(str(layout.v2_mount)):
        have = set((cgroups._read(os.path.join(path, "cgroup.controllers")) or "").split())
        for c in have:
            paths[c], versions[c] = path, "v2"
        _v2_cpu_stat(path, paths, versions)
        if not have:
            paths[""], versions[""] = path, "v2"
    return paths, versions


def _v2_cpu_stat(d: str, paths: dict[str, str], versions: dict[str, str]) -> None:
    """On v2 every cgroup has cpu.stat (usage_usec…) even where the cpu controller
    is not enabled for it: its CPU use can be sampled all the same (no quota then)."""
    if "cpu" not in paths and os.path.exists(os.path.join(d, "cpu.stat")):
        paths["cpu"], versions["cpu"] = d, "v2"


def cgroup_of_pid(pid: int, layout: CgroupLayout | None = None) -> cgroups.Cgroup:
    """The cgroups *pid* is in, as one ``Cgroup`` (from /proc/PID/cgroup)."""
    layout = layout or detect_layout()
    try:
        with open(f"/proc/{pid}/cgroup") as f:
            lines = f.read().splitlines()
    except OSError:
        raise ValueError(f"process {pid} is gone") from None
    paths: dict[str, str] = {}
    versions: dict[str, str] = {}
    for ln in lines:
        _, ctrls, rel = ln.split(":", 2)
        if not ctrls:  # the cgroup2 line
            if layout.v2_mount:
                d = os.path.join(str(layout.v2_mount), rel.lstrip("/"))
                for c in (cgroups._read(os.path.join(d, "cgroup.controllers")) or "").split():
                    if c not in paths:
                        paths[c], versions[c] = d, "v2"
                _v2_cpu_stat(d, paths, versions)
            continue
        for c in ctrls.split(","):
            if c in layout.v1:
                paths[c], versions[c] = os.path.join(layout.v1[c], rel.lstrip("/")), "v1"
    return cgroups.Cgroup(f"pid {pid}", layout, paths, versions)


def cgroup_at(path: str, layout: CgroupLayout | None = None) -> cgroups.Cgroup:
    layout = layout or detect_layout()
    path = os.path.abspath(path)
    if not os.path.isdir(path):
        raise ValueError(f"{path} is not a cgroup directory")
    paths, versions = _controllers_of(path, layout)
    if not paths:
        raise ValueError(f"{path} is in no cgroup hierarchy this machine mounts")
    return cgroups.Cgroup(os.path.basename(path), layout, paths, versions)


def _cpu_quota(cg: cgroups.Cgroup) -> float | None:
    """The quota as a share of one CPU (0.2 = a fifth), or None."""
    if "cpu" not in cg.paths:
        return None
    if cg.version("cpu") == "v2":
        parts = (cg.read("cpu", "cpu.max") or "").split()
        if len(parts) == 2 and parts[0] != "max":
            return int(parts[0]) / int(parts[1])
        return None
    q = cgroup_usage._int(cg.read("cpu", "cpu.cfs_quota_us"))
    per = cgroup_usage._int(cg.read("cpu", "cpu.cfs_period_us"))
    return q / per if q and q > 0 and per else None


def _waited_out(ctx: Any, seconds: float) -> bool:
    """Sleep between samples; True when the step was cancelled meanwhile."""
    cancel = getattr(ctx, "cancel", None)
    if cancel is None:
        time.sleep(seconds)
        return False
    return bool(cancel.wait(seconds))


def _proc_cpu_usec(pid: int) -> int | None:
    """The CPU time of *pid* (for v1 when the process's cpuacct is not the lab's cgroup):
    the scheduler's own count in nanoseconds (/proc/PID/schedstat), else utime + stime,
    which move in clock ticks (10 ms: a quarter of a 20 ms quota, too coarse to plot)."""
    with contextlib.suppress(OSError, IndexError, ValueError), open(f"/proc/{pid}/schedstat") as f:
        return int(f.read().split()[0]) // 1000
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        ticks = int(fields[11]) + int(fields[12])
    except (OSError, IndexError, ValueError):
        return None
    return ticks * 1_000_000 // os.sysconf("SC_CLK_TCK")


# -- collect --------------------------------------------------------------------------------


def from_samples(
    show: str, samples: list[cgroups.Sample], cpu_limit: float | None = None
) -> tuple[list[Point], float | None, dict[str, int]]:
    """Points, the limit and the last counters from raw samples (pure: tested with fixed data)."""
    if not samples:
        return [], None, {}
    t0 = samples[0].time
    points: list[Point] = []
    limit: float | None = None
    last = samples[-1]
    counters: dict[str, int] = {}
    if show == "memory":
        points = [Point(s.time - t0, float(s.memory_bytes or 0)) for s in samples]
        limit = float(last.memory_limit) if last.memory_limit else None
        first = samples[0]
        for k in ("oom_kills", "memory_failcnt"):
            v, v0 = getattr(last, k), getattr(first, k)
            if v is not None:
                counters[k] = v
                if v0 is not None:
                    counters[k + "_during"] = v - v0
    elif show == "pids":
        points = [Point(s.time - t0, float(s.pids_current or 0)) for s in samples]
        limit = float(last.pids_max) if last.pids_max else None
        if last.pids_refused is not None:
            counters["pids_refused"] = last.pids_refused
            if samples[0].pids_refused is not None:
                counters["pids_refused_during"] = last.pids_refused - samples[0].pids_refused
    elif show == "cpu":
        for a, b in itertools.pairwise(samples):
            if a.cpu_usage_usec is None or b.cpu_usage_usec is None or b.time <= a.time:
                continue
            share = (b.cpu_usage_usec - a.cpu_usage_usec) / 1e6 / (b.time - a.time)
            points.append(Point(b.time - t0, max(0.0, share)))
        limit = cpu_limit
        first = samples[0]
        for k in ("nr_periods", "nr_throttled", "throttled_usec"):
            v, v0 = getattr(last, k), getattr(first, k)
            if v is not None:
                counters[k] = v
                if v0 is not None:
                    counters[k + "_during"] = v - v0
    else:
        raise ValueError(f"show must be one of {', '.join(SHOWS)} (got {show!r})")
    return points, limit, counters


def collect(ctx: Any, **p: Any) -> Usage:
    show = str(p["show"])
    if show not in SHOWS:
        raise ValueError(f"show must be one of {', '.join(SHOWS)} (got {show!r})")
    pid = ctx.pid(p["pid"]) if p.get("pid") not in (None, "") else None
    if p.get("cgroup"):
        cg = cgroup_at(str(p["cgroup"]))
    elif pid is not None:
        cg = cgroup_of_pid(pid)
    else:
        raise ValueError("cgusage needs pid (a process) or cgroup (a directory)")
    ctrl = "cpu" if show == "cpu" else show
    if ctrl not in cg.paths:
        raise ValueError(f"{cg.name} has no {ctrl} controller to sample")
    n = max(2, min(int(p.get("samples") or 12), 100))
    seconds = max(0.2, min(float(p.get("seconds") or 2.5), 10.0))
    # v1 counts cpu time in cpuacct: use it only if it is the same (lab) cgroup, else the process
    own_acct = show == "cpu" and cg.version("cpu") == "v1"
    if own_acct and os.path.basename(cg.paths.get("cpuacct", "")) != os.path.basename(
        cg.path("cpu")
    ):
        cg.paths.pop("cpuacct", None)
    raw: list[cgroups.Sample] = []
    for i in range(n):
        s = cgroups.sample(cg)
        if show == "cpu" and s.cpu_usage_usec is None and pid is not None:
            s.cpu_usage_usec = _proc_cpu_usec(pid)
        raw.append(s)
        if i < n - 1 and _waited_out(ctx, seconds / (n - 1)):
            break  # Esc: the step is cancelled, the samples so far are enough
    points, limit, counters = from_samples(show, raw, _cpu_quota(cg) if show == "cpu" else None)
    return Usage(
        show,
        cg.path(ctrl),
        cg.version(ctrl),
        points,
        limit,
        counters,
        str(p.get("title") or ""),
        str(p.get("title_ja") or ""),
    )


# -- render ---------------------------------------------------------------------------------


def _fmt(show: str, v: float | None) -> str:
    if v is None:
        return "max"
    if show == "memory":
        return f"{v / (1 << 20):.1f} MiB"
    if show == "cpu":
        return f"{v * 100:.0f}%"
    return f"{v:.0f}"


_LABELS = {
    "en": {
        "memory": "memory in use",
        "cpu": "CPU used (share of one CPU)",
        "pids": "tasks (processes and threads)",
        "limit": "limit",
        "peak": "peak",
        "last": "now",
        "none": "no limit",
        "over": "time →",
        "oom_kills": "OOM kills",
        "memory_failcnt": "times the limit was hit (failcnt)",
        "pids_refused": "forks refused at the limit (pids.events max)",
        "nr_periods": "periods elapsed (nr_periods)",
        "nr_throttled": "throttled periods (nr_throttled)",
        "throttled_usec": "time throttled (throttled_usec)",
        "during": "while sampling",
        "nodata": "no samples",
    },
    "ja": {
        "memory": "使用中のメモリ",
        "cpu": "使った CPU（CPU 1 個に対する割合）",
        "pids": "タスク数（プロセスとスレッド）",
        "limit": "上限",
        "peak": "最大",
        "last": "最後",
        "none": "上限なし",
        "over": "時間 →",
        "oom_kills": "OOM kill の回数",
        "memory_failcnt": "上限に当たった回数（failcnt）",
        "pids_refused": "上限で拒否された fork（pids.events の max）",
        "nr_periods": "経過した周期（nr_periods）",
        "nr_throttled": "止められた周期（nr_throttled）",
        "throttled_usec": "止められていた時間（throttled_usec）",
        "during": "計測中",
        "nodata": "サンプルなし",
    },
}


def _count(key: str, v: int) -> str:
    """A counter for reading: microseconds as seconds, big numbers with separators."""
    if key.startswith("throttled_usec"):
        return f"{v / 1e6:.1f} s" if v >= 100_000 else f"{v / 1e3:.0f} ms"
    return f"{v:,}"


def render(data: Usage, lang: str = "en") -> Group:
    L = _LABELS["ja" if lang == "ja" else "en"]
    title = (data.title_ja if lang == "ja" and data.title_ja else data.title) or L[data.show]
    head = Text(f"{title}\n", style="bold")
    head.append(f"{data.where} (cgroup {data.version})", style="dim")
    if not data.points:
        return Group(head, Text(L["nodata"], style="yellow"))
    values = [pt.value for pt in data.points]
    peak = max(values)
    top = max(peak, data.limit or 0.0) or 1.0
    if data.show == "cpu":
        top = max(top, 1.0)  # a share of one CPU: the whole CPU on top, the quota a line below it
    # one column per sample, a block as high as the value; the limit as a red line
    bars = Text()
    rows = 6
    limit_row = round(data.limit / top * rows) if data.limit else None
    for r in range(rows, 0, -1):
        for v in values:
            level = v / top * rows
            if level >= r:
                ch, style = (
                    "█",
                    "green" if (data.limit is None or v < data.limit * 0.9) else "yellow",
                )
            elif level > r - 1:
                ch = BLOCKS[max(1, round((level - (r - 1)) * 8))]
                style = "green" if (data.limit is None or v < data.limit * 0.9) else "yellow"
            elif limit_row == r:
                ch, style = "─", "red"
            else:
                ch, style = " ", ""
            bars.append(ch * 2, style=style)
        if r == rows and limit_row != r:
            bars.append(f" {_fmt(data.show, top)}", style="dim")
        if limit_row == r:
            bars.append(f" ← {L['limit']} {_fmt(data.show, data.limit)}", style="bold red")
        bars.append("\n")
    bars.append("─" * (2 * len(values)) + f" {L['over']} {data.points[-1].t:.1f} s", style="dim")
    t = Table(show_header=False, box=None, padding=(0, 1))
    t.add_column(style="bold", overflow="fold")
    t.add_column(justify="right", no_wrap=True)
    t.add_row(L["limit"], _fmt(data.show, data.limit) if data.limit else L["none"])
    t.add_row(L["peak"], _fmt(data.show, peak))
    t.add_row(L["last"], _fmt(data.show, values[-1]))
    for k, v in data.counters.items():
        if k.endswith("_during"):
            continue
        during = data.counters.get(k + "_during")
        show = _count(k, v)
        extra = f"  (+{_count(k, during)} {L['during']})" if during is not None else ""
        # lit when it happened while sampling (an OOM kill of an earlier step is history)
        hit = k in ("oom_kills", "nr_throttled", "pids_refused") and bool(
            v if during is None else during
        )
        with contextlib.suppress(KeyError):
            t.add_row(
                Text(L[k], style="bold red" if hit else "bold"),
                Text(f"{show}{extra}", style="bold red" if hit else ""),
            )
    return Group(head, bars, t)
