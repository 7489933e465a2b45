"""Reading the mount table and undoing mounts."""

from __future__ import annotations

import errno
import os
from dataclasses import dataclass

from lab.host import libc

# file systems whose files are the kernel's own (what `df -Th` calls virtual):
# never a place where a learner's files are
VIRTUAL_FS = frozenset(
    [
        "proc",
        "sysfs",
        "cgroup",
        "cgroup2",
        "devpts",
        "mqueue",
        "securityfs",
        "debugfs",
        "tracefs",
        "pstore",
        "bpf",
        "configfs",
        "fusectl",
        "hugetlbfs",
        "binfmt_misc",
        "nsfs",
        "autofs",
        "rpc_pipefs",
        "efivarfs",
        "selinuxfs",
    ]
)


@dataclass(frozen=True)
class Mount:
    mount_id: int
    parent_id: int
    target: str
    root: str
    fstype: str
    source: str
    options: str
    super_options: str


def unescape(field: str) -> str:
    """A mountinfo field as it is: its octal escapes (``\\040`` …) undone."""
    # mountinfo escapes space, tab, newline and backslash as octal (\040 …)
    out, i = [], 0
    while i < len(field):
        if field[i] == "\\" and i + 3 < len(field) and field[i + 1 : i + 4].isdigit():
            out.append(chr(int(field[i + 1 : i + 4], 8)))
            i += 4
        else:
            out.append(field[i])
            i += 1
    return "".join(out)


def parse_mountinfo(text: str) -> list[Mount]:
    mounts = []
    for line in text.splitlines():
        parts = line.split(" ")
        try:
            sep = parts.index("-")
            mounts.append(
                Mount(
                    mount_id=int(parts[0]),
                    parent_id=int(parts[1]),
                    root=unescape(parts[3]),
                    target=unescape(parts[4]),
                    options=parts[5],
                    fstype=parts[sep + 1],
                    source=unescape(parts[sep + 2]),
                    super_options=parts[sep + 3] if len(parts) > sep + 3 else "",
                )
            )
        except (ValueError, IndexError):
            continue
    return mounts


def mounts(pid: int | str = "self") -> list[Mount]:
    with open(f"/proc/{pid}/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
        return parse_mountinfo(f.read())


def under(path: str, table: list[Mount] | None = None) -> list[Mount]:
    """Mounts at *path* or below it, deepest first."""
    path = os.path.abspath(path).rstrip("/") or "/"
    table = mounts() if table is None else table
    found = [m for m in table if m.target == path or m.target.startswith(path + "/")]
    return sorted(found, key=lambda m: (m.target.count("/"), m.mount_id), reverse=True)


def unmount_tree(path: str) -> list[str]:
    """Unmount everything at or below *path*, deepest first; lazily if busy.

    Returns the mount points it detached. Idempotent: nothing mounted, nothing done.
    """
    done = []
    for _ in range(8):  # stacked mounts on one target need several passes
        found = under(path)
        if not found:
            break
        for m in found:
            try:
                libc.umount(m.target)
            except OSError as e:
                if e.errno in (errno.EBUSY,):
                    libc.umount(m.target, libc.MNT_DETACH)
                elif e.errno in (errno.EINVAL, errno.ENOENT):
                    continue  # already gone (or not a mount point any more)
                else:
                    raise
            done.append(m.target)
    return done
