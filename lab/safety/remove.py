"""Removing files, the only code in the lab that deletes them: by directory file
descriptors, never following a symlink, never crossing a mount, never outside
the lab home.

``safe_rmtree(path, home)`` removes a tree inside the home (a directory swapped
for a symlink mid-walk is unlinked, not followed; mounts are left in place and
reported); ``remove_at(dir_fd, name)`` removes one entry relative to an open
directory (the tar extractor replaces files this way).
"""

from __future__ import annotations

import errno
import os
import stat
from pathlib import Path

from lab.safety.home import is_inside

# a directory opened without following a symlink in its place (also fdwalk's and safetar's)
DIR_NOFOLLOW = os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC


def _mnt_id(fd: int) -> int:
    """The mount an open file descriptor is on (/proc/self/fdinfo's mnt_id; -1 if unknown).

    Unlike st_dev it tells a bind mount of the same filesystem apart."""
    try:
        with open(f"/proc/self/fdinfo/{fd}", "rb") as f:
            for line in f:
                if line.startswith(b"mnt_id:"):
                    return int(line.split()[1])
    except (OSError, ValueError, IndexError):
        pass
    return -1


def _open_dir(name: str, dir_fd: int | None) -> int:
    """Open directory *name* (relative to *dir_fd*) without following a symlink in its place."""
    return os.open(name, DIR_NOFOLLOW, dir_fd=dir_fd)


def _open_parent(path: str, home: Path) -> tuple[int, str]:
    """An fd of *path*'s parent directory, reached from the home one component at a
    time without following any symlink (so nothing swapped in can lead outside), and
    the last component's name."""
    real_home = os.path.realpath(home)
    abspath = os.path.abspath(path)
    parent = os.path.dirname(abspath)
    for base in (real_home, os.path.abspath(home)):  # the rest is walked, not resolved
        rel = os.path.relpath(parent, base)
        if rel != ".." and not rel.startswith("../"):
            break
    else:
        raise RuntimeError(f"{path} is outside the lab home")
    fd = _open_dir(real_home, None)
    try:
        for part in [] if rel == "." else rel.split("/"):
            nxt = _open_dir(part, fd)
            os.close(fd)
            fd = nxt
    except OSError as ex:
        os.close(fd)
        if ex.errno in (errno.ELOOP, errno.ENOTDIR):
            raise RuntimeError(
                f"{path}: a directory on the way became a symlink; not removing"
            ) from None
        raise
    return fd, os.path.basename(abspath)


def _rm_contents(dfd: int, where: str, mnt: int, dev: int, crossed: list[str]) -> int:
    """Remove everything in the open directory *dfd*; never follows a symlink, never
    leaves the mount *mnt*. Returns how many entries it removed.

    Scans again after a pass (a process still writing may have added entries), a
    few times at most; what is left in place (a mount) is not scanned again."""
    count = 0
    kept: set[str] = set()
    for _ in range(5):
        with os.scandir(dfd) as it:
            names = [e.name for e in it if e.name not in kept]
        if not names:
            break
        for name in names:
            removed = _rm_entry(dfd, name, f"{where}/{name}", mnt, dev, crossed)
            if removed < 0:
                kept.add(name)
            else:
                count += removed
    return count


def _rm_entry(dfd: int, name: str, here: str, mnt: int, dev: int, crossed: list[str]) -> int:
    """Remove *name* in *dfd* (and what it holds); how many entries, -1 if it holds a mount."""
    try:
        st = os.stat(name, dir_fd=dfd, follow_symlinks=False)
    except FileNotFoundError:
        return 0
    if not stat.S_ISDIR(st.st_mode):
        try:
            os.unlink(name, dir_fd=dfd)  # a symlink is removed, never followed
        except FileNotFoundError:
            return 0
        return 1
    if st.st_dev != dev:
        crossed.append(here)
        return -1
    try:
        cfd = _open_dir(name, dfd)
    except FileNotFoundError:
        return 0
    except OSError as ex:
        if ex.errno not in (errno.ELOOP, errno.ENOTDIR):
            raise
        # swapped for a symlink (or a file) since the stat: remove that, not what it points to
        try:
            os.unlink(name, dir_fd=dfd)
        except FileNotFoundError:
            return 0
        return 1
    try:
        if (
            os.fstat(cfd).st_dev != dev or _mnt_id(cfd) != mnt
        ):  # a mount (a bind of the same fs too)
            crossed.append(here)
            return -1
        before = len(crossed)
        count = _rm_contents(cfd, here, mnt, dev, crossed)
    finally:
        os.close(cfd)
    if len(crossed) > before:
        return -1  # holds a mount left in place: keep the directories above it
    try:
        os.rmdir(name, dir_fd=dfd)
    except FileNotFoundError:
        return count
    return count + 1


def remove_at(dir_fd: int, name: str) -> int:
    """Remove *name* in the open directory *dir_fd* (and all it holds) by descriptors:
    no symlink followed, no mount crossed (raises RuntimeError, leaving it). How many
    entries were removed."""
    crossed: list[str] = []
    n = _rm_entry(dir_fd, name, name, _mnt_id(dir_fd), os.fstat(dir_fd).st_dev, crossed)
    if crossed:
        raise RuntimeError(f"{crossed[0]} is a mount point; left in place")
    return n


def safe_rmtree(path: str, home: Path) -> int:
    """Remove *path* (inside *home*) without following symlinks or crossing mounts.

    The walk goes by directory file descriptors: the parent is reached from the home
    component by component with O_NOFOLLOW, every directory is opened with
    O_NOFOLLOW and every entry removed relative to its directory's fd, so a process
    that swaps a directory for a symlink mid-walk gets its symlink removed, never
    followed. Returns how many entries it removed. Anything on another mount (a
    bind mount of the same filesystem too) is left in place and reported (raises
    RuntimeError after removing the rest), never descended into.
    """
    if not is_inside(path, home):
        raise RuntimeError(f"{path} is outside the lab home")
    pfd, name = _open_parent(path, home)
    try:
        try:
            top = os.stat(name, dir_fd=pfd, follow_symlinks=False)
        except FileNotFoundError:
            return 0
        if not stat.S_ISDIR(top.st_mode):
            os.unlink(name, dir_fd=pfd)
            return 1
        try:
            fd = _open_dir(name, pfd)
        except OSError as ex:
            if ex.errno not in (errno.ELOOP, errno.ENOTDIR):
                raise
            os.unlink(name, dir_fd=pfd)  # became a symlink since the stat
            return 1
        crossed: list[str] = []
        try:
            st = os.fstat(fd)
            mnt = _mnt_id(fd)
            if st.st_dev != os.fstat(pfd).st_dev or mnt != _mnt_id(pfd):
                raise RuntimeError(f"{path} is a mount point; not removing it")
            count = _rm_contents(fd, os.path.abspath(path), mnt, st.st_dev, crossed)
        finally:
            os.close(fd)
        if crossed:
            raise RuntimeError(f"left {len(crossed)} mounted dir(s) in place, e.g. {crossed[0]}")
        os.rmdir(name, dir_fd=pfd)
        return count + 1
    finally:
        os.close(pfd)
