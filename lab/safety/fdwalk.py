"""Writing a tar's members under a directory by descriptors: every path is walked
one component at a time from an open directory with O_NOFOLLOW, so a symlink (in
the tar or already on disk) is never followed. The extractor (``safetar``) uses
these; nothing else writes files this way.
"""

from __future__ import annotations

import copy
import errno
import os
import stat
import tarfile

from lab.safety.remove import DIR_NOFOLLOW, remove_at


class Refused(Exception):
    """A member the extractor will not write (the message says why)."""


def _open_parent(root_fd: int, path: str, create: bool) -> int | None:
    """An fd of *path*'s parent directory, walked from *root_fd* without following any
    symlink; missing directories are made when *create* (else None)."""
    fd = os.dup(root_fd)
    try:
        walked = ""
        for part in path.split("/")[:-1]:
            walked = f"{walked}/{part}" if walked else part
            try:
                nxt = os.open(part, DIR_NOFOLLOW, dir_fd=fd)
            except FileNotFoundError:
                if not create:
                    os.close(fd)
                    return None
                os.mkdir(part, 0o755, dir_fd=fd)
                nxt = os.open(part, DIR_NOFOLLOW, dir_fd=fd)
            except OSError as ex:
                if ex.errno in (errno.ELOOP, errno.ENOTDIR):  # (a symlink gives either)
                    st = _lstat_at(fd, part)
                    link = st is not None and stat.S_ISLNK(st.st_mode)
                    what = "a symlink" if link else "not a directory"
                    raise Refused(f"goes through {walked!r}, which is {what}") from None
                raise
            os.close(fd)
            fd = nxt
    except BaseException:
        os.close(fd)
        raise
    return fd


def _lstat_at(fd: int, name: str) -> os.stat_result | None:
    try:
        return os.stat(name, dir_fd=fd, follow_symlinks=False)
    except FileNotFoundError:
        return None


def _clear(fd: int, name: str, keep_dir: bool) -> bool:
    """Remove what is at *name* (unless it is a directory and *keep_dir*); True if a
    directory is kept. Never writes through what was there."""
    st = _lstat_at(fd, name)
    if st is None:
        return False
    if keep_dir and stat.S_ISDIR(st.st_mode):
        return True
    try:
        remove_at(fd, name)
    except RuntimeError as ex:
        raise Refused(str(ex)) from None
    return False


def _renamed(m: tarfile.TarInfo, **attrs: str) -> tarfile.TarInfo:
    """A copy of *m* with *attrs* changed (TarInfo.replace is Python ≥ 3.11.4)."""
    c = copy.copy(m)
    for k, v in attrs.items():
        setattr(c, k, v)
    return c


def _owner(fd: int | None, m: tarfile.TarInfo, name: str = "", dir_fd: int | None = None) -> None:
    if os.geteuid() != 0:
        return
    try:
        if fd is not None:
            os.fchown(fd, m.uid, m.gid)
        else:
            os.chown(name, m.uid, m.gid, dir_fd=dir_fd, follow_symlinks=False)
    except (OSError, OverflowError, ValueError, TypeError):
        pass  # an id the filesystem cannot hold: keep root's


def _times(
    m: tarfile.TarInfo, fd: int | None = None, name: str = "", dir_fd: int | None = None
) -> None:
    try:
        ns = int(m.mtime * 10**9)
        if fd is not None:
            os.utime(fd, ns=(ns, ns))
        else:
            os.utime(name, ns=(ns, ns), dir_fd=dir_fd, follow_symlinks=False)
    except (OSError, OverflowError, ValueError, TypeError):
        pass  # a time the filesystem cannot hold: keep now


def _open_dir(root_fd: int, path: str) -> int | None:
    pfd = _open_parent(root_fd, path, create=False)
    if pfd is None:
        return None
    try:
        return os.open(path.rsplit("/", 1)[-1], DIR_NOFOLLOW, dir_fd=pfd)
    except FileNotFoundError:
        return None
    except OSError as ex:
        if ex.errno in (errno.ELOOP, errno.ENOTDIR):
            raise Refused(f"goes through {path!r}, which is not a directory") from None
        raise
    finally:
        os.close(pfd)
