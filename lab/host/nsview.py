"""What a process sees in its own namespaces, read without a subprocess.

- its mount table (``/proc/PID/mountinfo``: mount points as seen from its root), and
  those of the spawned containers beside it, each mount namespace once;
- its hostname: the node name of its UTS namespace. For a process in another UTS
  namespace, a short-lived thread joins that namespace (``setns(2)`` changes only
  the calling thread's) and reads ``uname``; the thread then ends, and the rest of
  the program never leaves its own namespace;
- its namespaces (and those of a process tree) and, for a user namespace other than
  the lab's, its id maps: What changed's "namespaces"."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import functools
import os
import threading
from collections.abc import Iterable

from lab.host.mounts import VIRTUAL_FS, parse_mountinfo, unescape

CLONE_NEWUTS = 0x04000000
MOUNT_ROOTS = 8  # containers whose own mount tables count, at most
WAIT = 1.0
_libc: ctypes.CDLL | None = None


@functools.cache
def own_ns(kind: str) -> str:
    """The lab's own namespace of *kind* (``mnt:[N]``): it never changes for the
    process (only a short-lived thread joins another one, and /proc/self is the
    process's), so it is read once."""
    try:
        return os.readlink(f"/proc/self/ns/{kind}")
    except OSError:
        return ""


def _setns(fd: int) -> bool:
    global _libc
    if _libc is None:
        _libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    return _libc.setns(fd, CLONE_NEWUTS) == 0


def hostname_of(pid: int) -> str:
    """The hostname *pid* sees ('' when it cannot be read: gone, or no right to join)."""
    try:
        if os.readlink(f"/proc/{pid}/ns/uts") == own_ns("uts"):
            return os.uname().nodename
        fd = os.open(f"/proc/{pid}/ns/uts", os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return ""
    found: list[str] = []

    def inside() -> None:  # this thread only: it ends right after
        if _setns(fd):
            found.append(os.uname().nodename)

    try:
        thread = threading.Thread(target=inside, name="uts-read", daemon=True)
        thread.start()
        thread.join(WAIT)
    finally:
        os.close(fd)
    return found[0] if found else ""


def read_mounts(pid: int) -> frozenset[str]:
    """``TARGET (FSTYPE SOURCE)`` for every mount of *pid*'s mount namespace."""
    out = set()
    with open(f"/proc/{pid}/mountinfo", encoding="utf-8", errors="replace") as f:
        for line in f:
            left, _, right = line.partition(" - ")
            fields, rest = left.split(), right.split()
            if len(fields) < 5 or len(rest) < 2:
                continue
            out.add(f"{unescape(fields[4])} ({rest[0]} {unescape(rest[1])})")
    return frozenset(out)


def mounts_seen(pid: int, roots: tuple[int, ...] = ()) -> frozenset[str]:
    """The mounts of *pid*, and of each process in *roots* (the spawned containers)
    whose mount namespace is another one (neither *pid*'s nor the lab's), as
    ``pid N: TARGET (…)``: a bind mount made
    with ``nsenter -t N -m mount …`` shows, though the host's table has none."""
    out = set(read_mounts(pid))
    seen = {own_ns("mnt")} - {""}  # the lab's own table is the host's: no container
    for p in (pid, *roots[:MOUNT_ROOTS]):
        try:
            ns = os.readlink(f"/proc/{p}/ns/mnt")
            if ns in seen and p != pid:
                continue
            seen.add(ns)
            if p != pid:
                out.update(f"pid {p}: {m}" for m in read_mounts(p))
        except OSError:  # gone meanwhile
            continue
    return frozenset(out)


KERNEL_DIRS = ("/proc", "/sys", "/dev")


def inner_mounts(pid: int) -> list[str]:
    """The writable directory mounts of *pid*'s mount namespace when it is not the
    lab's, as seen from its root (``/tmp``, ``/notes``): a ``--tmpfs /tmp`` or a
    volume mounted inside a container exists only there, so the host's paths never
    show what is written in it. Not its root (the host walks that), nor the kernel's
    own file systems or anything under /proc, /sys or /dev. Only for a process with
    a root of its own (chroot, pivot_root): one that shares the host's root, as
    ``unshare --mount`` alone leaves it, has a copy of every host mount."""
    try:
        if os.readlink(f"/proc/{pid}/ns/mnt") == own_ns("mnt"):
            return []
        if os.readlink(f"/proc/{pid}/root") == "/":
            return []
        with open(f"/proc/{pid}/mountinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    out = []
    for m in parse_mountinfo(text):
        if m.fstype in VIRTUAL_FS or m.fstype == "devtmpfs" or m.target in out:
            continue
        if m.target == "/" or any(
            m.target == d or m.target.startswith(d + "/") for d in KERNEL_DIRS
        ):
            continue
        if "rw" in m.options.split(","):
            out.append(m.target)
    return out


NS_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup")


def ns_of(pid: int) -> list[str]:
    found = []
    for t in NS_TYPES:
        try:
            found.append(os.readlink(f"/proc/{pid}/ns/{t}"))
        except OSError:
            continue
    return found


def _idmaps(pid: int, own: str) -> list[str]:
    """The id maps of *pid*'s user namespace when it is not *own* (the lab's): a line
    per map line (``user:[N] uid_map 0 1001 1``), ``… uid_map empty`` before one is
    written, and its setgroups (``allow``/``deny``)."""
    try:
        user = os.readlink(f"/proc/{pid}/ns/user")
    except OSError:
        return []
    if user == own:
        return []
    out = []
    for name in ("uid_map", "gid_map", "setgroups"):
        try:
            with open(f"/proc/{pid}/{name}") as f:
                rows = [" ".join(line.split()) for line in f if line.strip()]
        except OSError:
            continue
        out += [f"{user} {name} {r}" for r in rows] or [f"{user} {name} empty"]
    return out


def read_namespaces(pid: int, tree: Iterable[int]) -> frozenset[str]:
    """The namespaces of *pid* and of every process in *tree*, the named netns, the
    hostname *pid* sees (its UTS namespace's: `hostname NAME` shows) and the id maps
    of each user namespace other than the lab's (writing uid_map is a change)."""
    out = set()
    name = hostname_of(pid)
    if name:
        out.add(f"hostname {name}")
    own = own_ns("user")
    for p in (pid, *tree):
        out.update(ns_of(p))
        out.update(_idmaps(p, own))
    with contextlib.suppress(OSError):
        out.update(f"netns {n}" for n in os.listdir("/run/netns"))
    return frozenset(out)
