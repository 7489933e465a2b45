"""The cgroups What changed reads: the lab's and the learner's (named ``shikumi*``,
in every hierarchy, v1 or v2) and each Docker container's, with their limit files
and freezer state, as plain lines. Reads only."""

from __future__ import annotations

import os

CGROUP_ROOT = "/sys/fs/cgroup"
PROBES = "shikumi-doctor-"  # `shikumi doctor`'s passing probes (runc's cgroup): not news
LIMIT_FILES = (
    "memory.max",
    "memory.limit_in_bytes",
    "memory.swap.max",
    "cpu.max",
    "cpu.cfs_quota_us",
    "cpu.weight",
    "cpu.shares",
    "pids.max",
    "cpuset.cpus",
)
FREEZER = ("freezer.state", "cgroup.freeze")  # v1, v2: docker pause, or a learner's echo
FROZEN = ("FROZEN", "FREEZING", "1")
DOCKER_CGROUPS = 16  # Docker containers' cgroups read, at most, per hierarchy


def _limits(path: str) -> str:
    """`` FILE=VALUE`` for each limit file *path* has ('' for none)."""
    limits = []
    for lf in LIMIT_FILES:
        try:
            with open(os.path.join(path, lf)) as f:
                limits.append(f"{lf}={f.read().strip()}")
        except OSError:
            continue
    return "".join(" " + x for x in limits)


def _frozen(path: str) -> str:
    """`` FILE=VALUE`` of *path*'s freezer when it is frozen ('' when it runs)."""
    for ff in FREEZER:
        try:
            with open(os.path.join(path, ff)) as f:
                value = f.read().strip()
        except OSError:
            continue
        if value in FROZEN:
            return f" {ff}={value}"
    return ""


def docker_cgroups(top: str) -> list[tuple[str, str]]:
    """(path, shown as) of each Docker container's cgroup in hierarchy *top*: Docker's
    cgroupfs driver puts it at ``docker/ID``, its systemd driver at
    ``system.slice/docker-ID.scope``; shown as ``docker/ID12`` (the id ``docker ps``
    prints). They are Docker's, not the lab's, and many: only a frozen one
    (``docker pause``) is listed."""
    out = []
    for parent, prefix, suffix in (("docker", "", ""), ("system.slice", "docker-", ".scope")):
        try:
            names = sorted(os.listdir(os.path.join(top, parent)))
        except OSError:
            continue
        for name in names:
            cid = name[len(prefix) : len(name) - len(suffix)]
            if name.startswith(prefix) and name.endswith(suffix) and len(cid) == 64:
                out.append((os.path.join(top, parent, name), f"docker/{cid[:12]}"))
    return out[:DOCKER_CGROUPS]


def read_cgroups(root: str = CGROUP_ROOT) -> frozenset[str]:
    """``HIERARCHY:PATH FILE=VALUE`` of each cgroup named shikumi* (and those below
    it) in each hierarchy, for its limit files and its freezer when frozen;
    ``HIERARCHY:PATH`` alone if it has none; and ``HIERARCHY:docker/ID12
    freezer.state=FROZEN`` (v2: ``cgroup.freeze=1``) of each frozen Docker container."""
    out: set[str] = set()
    try:
        tops = [root] + [
            os.path.join(root, d)
            for d in os.listdir(root)
            if os.path.isdir(os.path.join(root, d))
            and not os.path.exists(f"{root}/{d}/cgroup.subtree_control")
        ]
    except OSError:
        return frozenset()
    for top in tops:
        hier = os.path.basename(top) if top != root else "unified"
        try:
            names = [
                d for d in os.listdir(top) if d.startswith("shikumi") and not d.startswith(PROBES)
            ]
        except OSError:
            continue
        for name in names:
            for path, dirnames, _ in os.walk(os.path.join(top, name)):
                if path.count(os.sep) - top.count(os.sep) > 3:
                    dirnames.clear()
                out.add(f"{hier}:{os.path.relpath(path, top)}{_limits(path)}{_frozen(path)}")
        for path, shown in docker_cgroups(top):
            if frozen := _frozen(path):
                out.add(f"{hier}:{shown}{frozen}")
    return frozenset(out)
