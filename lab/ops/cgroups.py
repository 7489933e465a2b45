"""cgroups by hand: one API over v1 (a hierarchy per controller) and v2 (one tree).

A lab cgroup is ``shikumi/<name>`` in each hierarchy its controllers need, made
through the journal (undo kills everything inside and removes it). The layout
comes from ``cgroups_probe.detect_layout`` (the doctor's parser).

    v1                                         v2
    memory/…/memory.limit_in_bytes             memory.max
    memory.memsw.limit_in_bytes (swap off)     memory.swap.max = 0
    cpu.cfs_quota_us + cpu.cfs_period_us       cpu.max ("QUOTA PERIOD")
    cpu.shares (1024 = default)                cpu.weight (100 = default)
    cpuset.cpus + cpuset.mems (both required)  cpuset.cpus (+ cpuset.mems)
    pids.max                                   pids.max
"""

from __future__ import annotations

import contextlib
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field

from lab.doctor.cgroups_probe import CgroupLayout, _read, detect_layout
from lab.errors import LabError
from lab.ops.cgroup_usage import Sample, parse_keyed, parse_max, sample
from lab.safety.journal import Entry, Journal

PARENT = "shikumi"
_NAME = re.compile(r"^[A-Za-z0-9_.-]{1,60}$")
CONTROLLERS = ("memory", "cpu", "cpuset", "pids")


@dataclass
class Written:
    """One value written to a cgroup file (what the learner would `echo`)."""

    path: str
    value: str

    @property
    def command(self) -> str:
        return f"echo {self.value} > {self.path}"


@dataclass
class Cgroup:
    name: str
    layout: CgroupLayout
    paths: dict[str, str]  # controller -> this cgroup's directory ("" key: a bare v2 cgroup)
    versions: dict[str, str]  # controller -> "v1" | "v2"
    entries: list[Entry] = field(default_factory=list)
    written: list[Written] = field(default_factory=list)

    def path(self, controller: str) -> str:
        try:
            return self.paths[controller]
        except KeyError:
            raise LabError(
                f"the cgroup {self.name} was made without the {controller} controller"
            ) from None

    def version(self, controller: str) -> str:
        return self.versions.get(controller, "")

    @property
    def dirs(self) -> list[str]:
        """Each directory once (co-mounted v1 controllers and v2 share one)."""
        return sorted(set(self.paths.values()))

    def write(self, controller: str, file: str, value: object) -> Written:
        p = os.path.join(self.path(controller), file)
        _write(p, str(value))
        w = Written(p, str(value))
        self.written.append(w)
        return w

    def read(self, controller: str, file: str) -> str | None:
        return _read(os.path.join(self.path(controller), file))

    def pids(self) -> list[int]:
        out: set[int] = set()
        for d in self.dirs:
            out.update(int(x) for x in (_read(os.path.join(d, "cgroup.procs")) or "").split())
        return sorted(out)


# -- reading and writing files ---------------------------------------------------------


def _write(path: str, value: str) -> None:
    try:
        with open(path, "w") as f:
            f.write(value)
    except OSError as e:
        raise LabError(f"echo {value} > {path}: {os.strerror(e.errno or 0)}") from None


# -- creating ----------------------------------------------------------------------------


def _validate_name(name: str) -> None:
    if not _NAME.match(name):
        raise LabError(f"bad cgroup name {name!r}: letters, digits, '.', '_', '-' only")


def placement(layout: CgroupLayout, controllers: Iterable[str], prefer: str = "") -> dict[str, str]:
    """controller -> 'v1'/'v2' for each controller this machine has (missing ones left out).

    *prefer* "v2" places a controller on v2 when both have it (hybrid machines)."""
    out: dict[str, str] = {}
    for c in controllers:
        on_v2 = bool(layout.v2_mount) and c in layout.v2_controllers
        if prefer == "v2" and on_v2:
            out[c] = "v2"
        elif c in layout.v1:
            out[c] = "v1"
        elif on_v2:
            out[c] = "v2"
    return out


def create(
    j: Journal,
    name: str,
    controllers: Iterable[str] = CONTROLLERS,
    layout: CgroupLayout | None = None,
    prefer: str = "",
) -> Cgroup:
    """Make ``shikumi/<name>`` in each hierarchy *controllers* need (through the journal).

    With no controllers and ``prefer="v2"`` it is a bare cgroup2 cgroup (for a
    cgroup2 mount with no controllers, as on systemd's hybrid layout)."""
    _validate_name(name)
    layout = layout or detect_layout()
    wanted = list(dict.fromkeys(controllers))
    where = placement(layout, wanted, prefer)
    missing = [c for c in wanted if c not in where]
    if missing:
        raise LabError(
            f"no cgroup hierarchy has the {', '.join(missing)} controller here ({layout.summary()})",
            "run `shikumi doctor` to see which cgroup controllers this machine has",
        )
    # v1 cpu usage lives in cpuacct (often co-mounted as cpu,cpuacct)
    if where.get("cpu") == "v1" and "cpuacct" in layout.v1:
        where["cpuacct"] = "v1"
    cg = Cgroup(name, layout, {}, dict(where))
    v2 = [c for c, v in where.items() if v == "v2"]
    if v2 or (not where and prefer == "v2" and layout.v2_mount):
        path = _make_v2(j, cg, str(layout.v2_mount), v2)
        for c in v2:
            cg.paths[c] = path
        if not v2:
            cg.paths[""] = path
    for c, v in where.items():
        if v == "v1":
            cg.paths[c] = _make_v1(j, cg, layout.v1[c], c)
    if not cg.paths:
        raise LabError("no cgroup hierarchy to make a cgroup in", "run `shikumi doctor`")
    return cg


def _mkdir_child(j: Journal, cg: Cgroup, parent: str) -> str:
    path = os.path.join(parent, cg.name)
    if os.path.isdir(path):
        raise LabError(f"{path} exists already", "run `shikumi cleanup` first")
    entry = j.record("cgroup", path, prune_parent=True)
    cg.entries.append(entry)
    os.mkdir(path)
    return path


def _ensure_parent(mount: str) -> tuple[str, bool]:
    parent = os.path.join(mount, PARENT)
    try:
        os.mkdir(parent)
        return parent, True
    except FileExistsError:
        return parent, False


def _make_v1(j: Journal, cg: Cgroup, mount: str, controller: str) -> str:
    for d in cg.dirs:  # co-mounted with a controller already made (cpu,cpuacct)
        if d.startswith(mount + "/"):
            return d
    parent, _ = _ensure_parent(mount)
    if controller == "cpuset":  # v1 cpusets start empty: copy the root's, or nothing can join
        for f in ("cpuset.cpus", "cpuset.mems"):
            if not (_read(os.path.join(parent, f)) or "").strip():
                _write(os.path.join(parent, f), (_read(os.path.join(mount, f)) or "").strip())
    path = _mkdir_child(j, cg, parent)
    if controller == "cpuset":
        for f in ("cpuset.cpus", "cpuset.mems"):
            cg.written.append(
                Written(os.path.join(path, f), (_read(os.path.join(parent, f)) or "").strip())
            )
            _write(os.path.join(path, f), cg.written[-1].value)
    return path


def _enable(cg: Cgroup, j: Journal | None, directory: str, controllers: list[str]) -> None:
    """`echo +c > DIR/cgroup.subtree_control` for each controller not yet enabled there."""
    have = set((_read(os.path.join(directory, "cgroup.subtree_control")) or "").split())
    for c in controllers:
        if c in have:
            continue
        target = os.path.join(directory, "cgroup.subtree_control")
        if j is not None:  # a setting outside the lab's own cgroups: restore it on undo
            cg.entries.append(j.record("cgcontrol", target, controller=c))
        _write(target, f"+{c}")
        cg.written.append(Written(target, f"+{c}"))


def _make_v2(j: Journal, cg: Cgroup, mount: str, controllers: list[str]) -> str:
    _enable(cg, j, mount, controllers)
    parent, _ = _ensure_parent(mount)
    _enable(cg, None, parent, controllers)  # inside the lab's own parent: goes with it
    return _mkdir_child(j, cg, parent)


# -- limits --------------------------------------------------------------------------------


def set_memory(cg: Cgroup, limit: int, swap: bool = False) -> list[Written]:
    """A memory limit in bytes; without *swap* the limit is real (no swapping out past it)."""
    out = []
    if cg.version("memory") == "v2":
        out.append(cg.write("memory", "memory.max", limit))
        if not swap and os.path.exists(os.path.join(cg.path("memory"), "memory.swap.max")):
            out.append(cg.write("memory", "memory.swap.max", 0))
    else:
        out.append(cg.write("memory", "memory.limit_in_bytes", limit))
        if not swap:
            if os.path.exists(os.path.join(cg.path("memory"), "memory.memsw.limit_in_bytes")):
                out.append(cg.write("memory", "memory.memsw.limit_in_bytes", limit))
            with contextlib.suppress(LabError):  # not writable on some kernels
                out.append(cg.write("memory", "memory.swappiness", 0))
    return out


def set_cpu_quota(cg: Cgroup, quota_us: int | None, period_us: int = 100_000) -> list[Written]:
    """At most *quota_us* of CPU time every *period_us* (None: no limit). 50_000/100_000 = half a CPU."""
    if cg.version("cpu") == "v2":
        return [cg.write("cpu", "cpu.max", f"{quota_us if quota_us else 'max'} {period_us}")]
    return [
        cg.write("cpu", "cpu.cfs_period_us", period_us),
        cg.write("cpu", "cpu.cfs_quota_us", quota_us if quota_us else -1),
    ]


def shares_to_weight(shares: int) -> int:
    """cgroup v1 cpu.shares (2…262144, 1024 default) → v2 cpu.weight (1…10000), as runc converts."""
    return 1 + ((max(2, min(shares, 262144)) - 2) * 9999) // 262142


def weight_to_shares(weight: int) -> int:
    return 2 + ((max(1, min(weight, 10000)) - 1) * 262142) // 9999


def set_cpu_weight(cg: Cgroup, weight: int) -> list[Written]:
    """A relative CPU weight in v2 terms (100 = default); v1 gets the equivalent cpu.shares."""
    if cg.version("cpu") == "v2":
        return [cg.write("cpu", "cpu.weight", weight)]
    return [cg.write("cpu", "cpu.shares", weight_to_shares(weight))]


def set_cpuset(cg: Cgroup, cpus: str, mems: str | None = None) -> list[Written]:
    out = [cg.write("cpuset", "cpuset.cpus", cpus)]
    if mems is not None:
        out.append(cg.write("cpuset", "cpuset.mems", mems))
    return out


def set_pids_max(cg: Cgroup, n: int | None) -> list[Written]:
    return [cg.write("pids", "pids.max", n if n else "max")]


def add(cg: Cgroup, pid: int) -> list[Written]:
    """Move *pid* into the cgroup in every hierarchy (`echo PID > …/cgroup.procs`)."""
    out = []
    for d in cg.dirs:
        p = os.path.join(d, "cgroup.procs")
        _write(p, str(pid))
        out.append(Written(p, str(pid)))
    cg.written += out
    return out


def join_commands(cg: Cgroup) -> list[str]:
    """Shell lines that put the shell running them into the cgroup (before it execs)."""
    return [f"echo 0 > {os.path.join(d, 'cgroup.procs')}" for d in cg.dirs]


def lab_dirs_of(pid: int, layout: CgroupLayout | None = None) -> list[str]:
    """The directories of the lab's cgroups (``shikumi/…``) that *pid* is in, one per
    hierarchy (from /proc/PID/cgroup): where `docker exec` would put a process run in
    that container. Empty when the process is in none of the lab's cgroups or is gone."""
    layout = layout or detect_layout()
    text = _read(f"/proc/{pid}/cgroup") or ""
    out: set[str] = set()
    for line in text.splitlines():
        _, ctrls, rel = line.split(":", 2) if line.count(":") >= 2 else ("", "", "")
        if not rel.startswith(f"/{PARENT}/"):
            continue
        if not ctrls:
            mount = layout.v2_mount
        else:
            mount = next((layout.v1[c] for c in ctrls.split(",") if c in layout.v1), None)
        if mount and os.path.isdir(os.path.join(mount, rel.lstrip("/"))):
            out.add(os.path.join(mount, rel.lstrip("/")))
    return sorted(out)


def remove(j: Journal, cg: Cgroup) -> None:
    """Kill everything inside and remove the cgroup (undo in reverse)."""
    for entry in reversed(cg.entries):
        r = j.undo(entry)
        if not r.ok:
            raise LabError(f"could not remove {entry.target}: {r.action}")
    cg.entries.clear()


# -- reading usage -------------------------------------------------------------------------


def find_lab_cgroups(layout: CgroupLayout | None = None) -> list[str]:
    """Every cgroup directory named shikumi* in any hierarchy (for leak checks)."""
    layout = layout or detect_layout()
    mounts = set(layout.v1.values()) | ({layout.v2_mount} if layout.v2_mount else set())
    found = []
    for m in sorted(mounts):
        with contextlib.suppress(OSError):
            for n in os.listdir(m):
                if n.startswith(PARENT) and os.path.isdir(os.path.join(m, n)):
                    found.append(os.path.join(m, n))
    return found


def prune_parent(path: str) -> None:
    """Remove the shared ``shikumi`` parent if it is empty (another session may hold it)."""
    parent = os.path.dirname(path)
    if os.path.basename(parent) != PARENT:
        return
    with contextlib.suppress(OSError):
        os.rmdir(parent)


__all__ = ["Cgroup", "Sample", "Written", "create", "parse_keyed", "parse_max", "sample"]
