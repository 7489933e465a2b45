"""Probe: which cgroup version is mounted, and can the lab make a cgroup per controller?

Layouts:
  v2      one cgroup2 hierarchy at /sys/fs/cgroup (most current distros)
  v1      one cgroup hierarchy per controller (/sys/fs/cgroup/memory, …)
  hybrid  v1 controller hierarchies plus a cgroup2 mount (often /sys/fs/cgroup/unified)

The per-controller probe really makes ``shikumi-doctor-<pid>`` in the
controller's hierarchy, checks that its limit file exists and removes it again.
On v2 it does not touch the root's cgroup.subtree_control (that is intrusive):
it says whether the controller is enabled there already or only available.
"""

from __future__ import annotations

import contextlib
import errno
import os
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from lab.doctor.probe import RUN_AS_ROOT, Check, errno_text
from lab.host import mounts

# controller -> (v1 limit file, v2 limit file)
LIMIT_FILES: dict[str, tuple[str, str]] = {
    "memory": ("memory.limit_in_bytes", "memory.max"),
    "cpu": ("cpu.cfs_quota_us", "cpu.max"),
    "pids": ("pids.max", "pids.max"),
    "cpuset": ("cpuset.cpus", "cpuset.cpus"),
}
CONTROLLERS = tuple(LIMIT_FILES)
# every v1 controller name (the rest of a cgroup mount's options are flags)
V1_NAMES = frozenset(
    (
        "cpu",
        "cpuacct",
        "cpuset",
        "memory",
        "devices",
        "freezer",
        "net_cls",
        "net_prio",
        "blkio",
        "perf_event",
        "hugetlb",
        "pids",
        "rdma",
        "misc",
        "debug",
    )
)
CGROUP_ROOT = "/sys/fs/cgroup"


@dataclass(frozen=True)
class CgroupLayout:
    version: str  # "v2", "v1", "hybrid" or "none"
    v1: dict[str, str] = field(default_factory=dict)  # controller (or name=…) -> mount point
    v2_mount: str | None = None
    v2_controllers: tuple[str, ...] = ()  # the v2 root's cgroup.controllers
    v2_subtree_control: tuple[str, ...] = ()  # the v2 root's cgroup.subtree_control

    def where(self, controller: str) -> str:
        """'v1', 'v2' or '' — which hierarchy holds *controller*."""
        if controller in self.v1:
            return "v1"
        if self.v2_mount and controller in self.v2_controllers:
            return "v2"
        return ""

    def summary(self) -> str:
        if self.version == "none":
            return "no cgroup filesystem mounted"
        v2 = f"cgroup2 at {self.v2_mount} ({' '.join(self.v2_controllers) or 'no controllers'})"
        if not self.v1:
            return f"cgroup v2: {v2}"
        ctrls = [c for c in self.v1 if not c.startswith("name=")]
        named = [c for c in self.v1 if c.startswith("name=")]
        paths = list(self.v1.values())
        under = os.path.dirname(paths[0]) if len(paths) == 1 else os.path.commonpath(paths)
        text = (
            f"cgroup {self.version}: "
            + ("" if self.version == "v1" else "v1 ")
            + ", ".join(sorted(ctrls))
            + (f" (+ {', '.join(named)})" if named else "")
            + f" under {under}"
        )
        if self.v2_mount:
            text += f"; also {v2}" + ("; systemd's hybrid layout" if self.version == "v1" else "")
        return text


def _read(path: str) -> str | None:
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


def detect_layout(
    mountinfo: str | None = None, read: Callable[[str], str | None] = _read
) -> CgroupLayout:
    """The cgroup layout from a /proc/self/mountinfo text (default: this process's)."""
    if mountinfo is None:
        mountinfo = read("/proc/self/mountinfo") or ""
    v1: dict[str, str] = {}
    v2_mounts: list[str] = []
    for m in mounts.parse_mountinfo(mountinfo):
        if m.fstype == "cgroup":
            for opt in m.super_options.split(","):
                if opt in V1_NAMES or opt.startswith("name="):
                    v1.setdefault(opt, m.target)
        elif m.fstype == "cgroup2":
            v2_mounts.append(m.target)
    v2 = None
    if v2_mounts:  # prefer the canonical place, else the first one mounted
        v2 = CGROUP_ROOT if CGROUP_ROOT in v2_mounts else v2_mounts[0]
    controllers: tuple[str, ...] = ()
    subtree: tuple[str, ...] = ()
    if v2:
        controllers = tuple((read(os.path.join(v2, "cgroup.controllers")) or "").split())
        subtree = tuple((read(os.path.join(v2, "cgroup.subtree_control")) or "").split())
    real_v1 = [c for c in v1 if not c.startswith("name=")]
    # "hybrid" when the key controllers are split between v1 and v2; v1 controllers
    # beside a cgroup2 that holds none of them (systemd's hybrid mode) count as v1,
    # as Docker counts them
    if real_v1 and v2 and any(c in controllers for c in CONTROLLERS):
        version = "hybrid"
    elif real_v1:
        version = "v1"
    elif v2:
        version = "v2"
    else:
        version = "none"
    return CgroupLayout(version, v1, v2, controllers, subtree)


def probe_layout(layout: CgroupLayout) -> list[Check]:
    """The 'cgroup' check (any usable cgroups) and 'cgroup2' (a cgroup2 hierarchy with controllers)."""
    out = []
    if layout.version == "none":
        out.append(
            Check(
                "cgroup",
                False,
                False,
                "no cgroup filesystem is mounted",
                "mount -t cgroup2 none /sys/fs/cgroup (systemd does this at boot)",
            )
        )
    else:
        out.append(Check("cgroup", True, False, layout.summary(), ""))
    key_v2 = [c for c in CONTROLLERS if c in layout.v2_controllers]
    if layout.v2_mount and key_v2:
        out.append(
            Check(
                "cgroup2", True, False, f"cgroup2 at {layout.v2_mount} with {', '.join(key_v2)}", ""
            )
        )
    elif layout.v2_mount:
        on_v1 = [c for c in CONTROLLERS if c in layout.v1]
        why = (
            f"{', '.join(on_v1)} are on v1 here"
            if on_v1
            else "none of memory, cpu, pids, cpuset is enabled"
        )
        out.append(
            Check(
                "cgroup2",
                False,
                False,
                f"cgroup2 at {layout.v2_mount} holds {' '.join(layout.v2_controllers) or 'no controllers'} ({why})",
                "for cgroup v2 only, boot with systemd.unified_cgroup_hierarchy=1 (lessons use v1 meanwhile)",
            )
        )
    else:
        out.append(
            Check(
                "cgroup2",
                False,
                False,
                "no cgroup2 filesystem mounted (v1 only)",
                "boot with systemd.unified_cgroup_hierarchy=1 for cgroup v2",
            )
        )
    return out


def probe_controller(layout: CgroupLayout, controller: str, journal: object | None = None) -> Check:
    """Make shikumi-doctor-<pid> in *controller*'s hierarchy, check its limit file, remove it."""
    name = f"cgroup.{controller}"
    v1_file, v2_file = LIMIT_FILES[controller]
    where = layout.where(controller)
    if not where:
        return Check(
            name,
            False,
            False,
            f"the {controller} controller is in no cgroup hierarchy",
            _absent_fix(controller, layout),
        )
    parent = layout.v1[controller] if where == "v1" else str(layout.v2_mount)
    limit = v1_file if where == "v1" else v2_file
    enabled = where == "v1" or controller in layout.v2_subtree_control
    path = os.path.join(parent, f"shikumi-doctor-{os.getpid()}")
    entry = journal.record("cgroup", path) if journal is not None else None  # type: ignore[attr-defined]
    try:
        os.mkdir(path)
    except OSError as e:
        if entry is not None:
            journal.release(entry)  # type: ignore[attr-defined]
        fix = (
            RUN_AS_ROOT
            if e.errno in (errno.EACCES, errno.EPERM) and os.geteuid() != 0
            else (
                "the cgroup tree is read-only here (a container?): run the lab on a VM or host"
                if e.errno in (errno.EROFS, errno.EACCES, errno.EPERM)
                else "report this as a bug"
            )
        )
        return Check(
            name, False, False, f"cannot create a cgroup in {parent}: {errno_text(e)}", fix
        )
    try:
        has_limit = os.path.exists(os.path.join(path, limit))
    finally:
        _rmdir(path)
        if entry is not None and not os.path.exists(path):
            journal.release(entry)  # type: ignore[attr-defined]
    if where == "v1":
        if has_limit:
            return Check(
                name, True, False, f"cgroup v1: made and removed {path}, it had {limit}", ""
            )
        return Check(
            name,
            False,
            False,
            f"cgroup v1: made {path}, but it has no {limit}",
            "use a kernel with this controller's limits built in",
        )
    if enabled and has_limit:
        return Check(
            name,
            True,
            False,
            f"cgroup v2: made and removed {path}, it had {limit} ({controller} enabled in {parent}/cgroup.subtree_control)",
            "",
        )
    if enabled:
        return Check(
            name,
            False,
            False,
            f"cgroup v2: {controller} is enabled in subtree_control, but {path} had no {limit}",
            "report this as a bug",
        )
    return Check(
        name,
        True,
        False,
        f"cgroup v2: {controller} available in {parent}/cgroup.controllers, not yet in its subtree_control "
        f"(the lab enables it with +{controller}); made and removed {path}",
        "",
    )


def _rmdir(path: str) -> None:
    for _ in range(50):  # v1 memory cgroups can take a moment to become removable
        try:
            os.rmdir(path)
            return
        except FileNotFoundError:
            return
        except OSError as e:
            if e.errno != errno.EBUSY:
                raise
            time.sleep(0.01)
    with contextlib.suppress(FileNotFoundError):
        os.rmdir(path)


def _absent_fix(controller: str, layout: CgroupLayout) -> str:
    if layout.version == "none":
        return "mount cgroups: mount -t cgroup2 none /sys/fs/cgroup (systemd does this at boot)"
    if controller == "memory":
        return "boot with cgroup_enable=memory cgroup_memory=1 (e.g. Raspberry Pi) or use a distro kernel"
    if layout.version == "v1":
        return f"mount it: mkdir /sys/fs/cgroup/{controller} && mount -t cgroup -o {controller} cgroup /sys/fs/cgroup/{controller}"
    return f"use a kernel with the {controller} controller (CONFIG_CGROUP_{controller.upper()})"
