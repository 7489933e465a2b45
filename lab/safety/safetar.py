"""The one tar extractor: every tar the lab unpacks goes through here.

Python 3.11.2 (Debian 12) has no extraction filters, and a rootfs or an image
layer is hostile input (a lesson from a directory the user names, a `docker
save` of anything). So nothing here relies on ``tarfile.extract*``:

- every member name is checked first: no absolute path, no ``..``, no empty or
  over-long component; a hard link must name an earlier member of the same tar
  (a regular file), a relative symlink must stay inside the tree when followed
  from where it sits (an absolute one is normal in a rootfs: it means the
  rootfs's own root, and is kept as a link);
- writing never follows a symlink: directories are walked one component at a
  time from the destination's descriptor with O_NOFOLLOW, files are created with
  O_EXCL|O_NOFOLLOW after removing whatever was there, links and attributes are
  set relative to directory descriptors. A member whose path goes through a
  symlink (one from the tar, or one already on disk) is refused;
- device nodes and fifos are skipped with a note (or refused);
- image-layer whiteouts (``.wh.NAME``, ``.wh..wh..opq``) are applied (``apply``:
  delete from the layers below) or kept the overlayfs way (``overlay``: a char
  device 0/0, the opaque xattr), when asked.

Every problem is a LabError naming the tar and the member.
"""

from __future__ import annotations

import errno
import os
import posixpath
import shutil
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.host.overlayfs import OPAQUE_XATTR
from lab.safety.fdwalk import (
    Refused as _Refused,
)
from lab.safety.fdwalk import (
    _clear,
    _lstat_at,
    _open_dir,
    _open_parent,
    _owner,
    _renamed,
    _times,
)
from lab.safety.remove import DIR_NOFOLLOW, remove_at

WH = ".wh."
OPAQUE = ".wh..wh..opq"
NAME_MAX = 255
PATH_MAX = 4096


@dataclass
class Extracted:
    """What an extraction did."""

    members: list[tarfile.TarInfo] = field(default_factory=list)  # written; names normalized
    whiteouts: list[tuple[str, str]] = field(default_factory=list)  # (path, "whiteout"|"opaque")
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (member name, why)


def member_path(name: str) -> str:
    """A member name as a clean relative path ("" for the root); raises _Refused if it
    is absolute, climbs with `..`, or has an impossible component."""
    if "\x00" in name:
        raise _Refused("has a NUL byte in its name")
    if name.startswith("/"):
        raise _Refused("is an absolute path")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise _Refused("climbs out with '..'")
    if any(len(p.encode()) > NAME_MAX for p in parts):
        raise _Refused(f"has a name component longer than {NAME_MAX} bytes")
    path = "/".join(parts)
    if len(path.encode()) >= PATH_MAX:
        raise _Refused(f"is longer than {PATH_MAX} bytes")
    return path


def _symlink_escapes(path: str, target: str) -> bool:
    """Does a relative symlink at *path* pointing to *target* leave the tree when
    followed from where it sits? (An absolute target means the tree's own root.)"""
    if target.startswith("/"):
        return False
    depth = len(path.split("/")) - 1  # directories above the link, inside the tree
    for part in target.split("/"):
        if part in ("", "."):
            continue
        depth += -1 if part == ".." else 1
        if depth < 0:
            return True
    return False


def _whiteout(path: str) -> tuple[str, str] | None:
    """(the path it deletes, "whiteout"|"opaque") for a whiteout member, else None."""
    parent, base = posixpath.split(path)
    if base == OPAQUE:
        return parent, "opaque"
    if base.startswith(WH):
        name = base[len(WH) :]
        if name in ("", ".", "..") or "/" in name:
            raise _Refused("is a whiteout of nothing")
        return posixpath.join(parent, name), "whiteout"
    return None


def _is_whiteout_device(m: tarfile.TarInfo) -> bool:
    return m.ischr() and m.devmajor == 0 and m.devminor == 0


# -- extracting -------------------------------------------------------------------------


def extract(
    tar_path: Path,
    dest: Path,
    *,
    whiteouts: str | None = None,
    devices: str = "skip",
    duplicates: bool = True,
) -> Extracted:
    """Unpack *tar_path* into the existing directory *dest*, safely (see the module).

    whiteouts: None (``.wh.`` files are ordinary files), "apply" (delete what they
    name from *dest*, before this tar's files) or "overlay" (keep them as overlayfs
    does, after). devices: "skip" (with a note) or "refuse" device nodes (a fifo is
    always skipped with a note). duplicates: False refuses a path that appears twice
    (two directories excepted).
    """
    if whiteouts not in (None, "apply", "overlay"):
        raise ValueError(whiteouts)
    if devices not in ("skip", "refuse"):
        raise ValueError(devices)
    dest = Path(dest)
    try:
        tf = tarfile.open(tar_path)  # noqa: SIM115 - closed by the with below
    except (OSError, tarfile.TarError, EOFError, ValueError) as ex:
        raise LabError(f"{tar_path}: cannot read it as a tar ({ex}); not unpacked") from None
    with tf:
        try:
            members = tf.getmembers()
        except (OSError, tarfile.TarError, EOFError, ValueError) as ex:
            raise LabError(f"{tar_path}: a broken tar ({ex}); not unpacked") from None
        plan, out = _plan(tar_path, dest, members, whiteouts, devices, duplicates)
        try:
            root_fd = os.open(dest, DIR_NOFOLLOW)
        except OSError as ex:
            raise LabError(
                f"{tar_path}: cannot unpack into {dest}: {ex.strerror or ex}"
                + (" (it is a symlink)" if ex.errno == errno.ELOOP else "")
            ) from None
        current = "?"
        try:
            if whiteouts == "apply":
                for path, kind in out.whiteouts:
                    current = path
                    _apply_deletion(root_fd, path, kind)
            dirs: list[tarfile.TarInfo] = []
            for m in plan:
                current = m.name
                _write(tf, root_fd, m)
                if m.isdir():
                    dirs.append(m)
            for m in reversed(dirs):  # modes and times last: children are written by then
                current = m.name
                _dir_attrs(root_fd, m)
            if whiteouts == "overlay":
                for path, kind in out.whiteouts:
                    current = path
                    _keep_deletion(root_fd, path, kind)
        except _Refused as ex:
            where = f", which could lead outside {dest}" if "goes through" in str(ex) else ""
            raise LabError(f"{tar_path}: entry {current!r} {ex}{where}; not unpacking it") from None
        except (OSError, tarfile.TarError, EOFError, ValueError, OverflowError) as ex:
            why = ex.strerror if isinstance(ex, OSError) and ex.strerror else str(ex)
            raise LabError(f"{tar_path}: entry {current!r}: {why}; not unpacked") from None
        finally:
            os.close(root_fd)
    out.members = plan
    return out


def _plan(
    tar_path: Path,
    dest: Path,
    members: list[tarfile.TarInfo],
    whiteouts: str | None,
    devices: str,
    duplicates: bool,
) -> tuple[list[tarfile.TarInfo], Extracted]:
    """Check every member before anything is written; the members to write, renamed."""
    out = Extracted()
    plan: list[tarfile.TarInfo] = []
    kinds: dict[str, str] = {}  # path -> "dir" / "file" / "symlink" / "other", as the tar goes

    def refuse(m: tarfile.TarInfo, why: str) -> LabError:
        return LabError(f"{tar_path}: entry {m.name!r} {why}; not unpacking it into {dest}")

    def through_link(path: str) -> str:
        parts = path.split("/")
        for i in range(1, len(parts)):
            prefix = "/".join(parts[:i])
            if kinds.get(prefix) == "symlink":
                return prefix
            if kinds.get(prefix) in ("file", "other"):
                return prefix
        return ""

    for m in members:
        try:
            path = member_path(m.name)
            wh = _whiteout(path) if whiteouts and path else None
        except _Refused as ex:
            raise refuse(m, f"{ex}, which would land outside {dest}") from None
        if not path:
            continue  # the root itself: dest exists
        via = through_link(wh[0] + "/x" if wh and wh[1] == "opaque" else path)
        if via:
            raise refuse(m, f"goes through {via!r}, a symlink or file in the tar, outside {dest}")
        if wh:
            out.whiteouts.append(wh)
            continue
        if m.ischr() or m.isblk():
            if _is_whiteout_device(m):
                out.skipped.append((m.name, "a whiteout device (0/0) of an overlay upper"))
                continue
            if devices == "refuse":
                raise refuse(m, "is a device file")
            out.skipped.append((m.name, "a device file: not made"))
            continue
        if m.isfifo():
            out.skipped.append((m.name, "a fifo: not made"))
            continue
        if not (m.isreg() or m.isdir() or m.issym() or m.islnk()):
            out.skipped.append((m.name, f"an entry of tar type {m.type!r}: not made"))
            continue
        prev = kinds.get(path)
        if prev is not None and not duplicates and not (prev == "dir" and m.isdir()):
            raise refuse(m, "appears twice")
        if m.issym():
            if not m.linkname or "\x00" in m.linkname:
                raise refuse(m, "is a symlink to nothing")
            if _symlink_escapes(path, m.linkname):
                raise refuse(m, f"is a symlink to {m.linkname!r}, outside {dest}")
        elif m.islnk():
            try:
                target = member_path(m.linkname)
            except _Refused as ex:
                raise refuse(m, f"is a hard link that {ex}, outside {dest}") from None
            if kinds.get(target) != "file" or target == path:
                raise refuse(
                    m,
                    f"is a hard link to {m.linkname!r}, which is not a file earlier in the tar"
                    f" (a link outside {dest}, or to a missing member)",
                )
            m = _renamed(m, linkname=target)
        # a new kind at this path: what was below it (if it was a dir) is no longer reachable
        if prev == "dir" and not m.isdir():
            for k in [k for k in kinds if k.startswith(path + "/")]:
                del kinds[k]
        kinds[path] = (
            "dir" if m.isdir() else "symlink" if m.issym() else "file" if m.isfile() else "other"
        )
        plan.append(_renamed(m, name=path))
    return plan, out


def _write(tf: tarfile.TarFile, root_fd: int, m: tarfile.TarInfo) -> None:
    pfd = _open_parent(root_fd, m.name, create=True)
    assert pfd is not None
    name = m.name.rsplit("/", 1)[-1]
    try:
        kept_dir = _clear(pfd, name, keep_dir=m.isdir())
        if m.isdir():
            if not kept_dir:
                os.mkdir(name, 0o700, dir_fd=pfd)
        elif m.issym():
            os.symlink(m.linkname, name, dir_fd=pfd)
            _owner(None, m, name, pfd)
            _times(m, None, name, pfd)
        elif m.islnk():
            tfd = _open_parent(root_fd, m.linkname, create=False)
            if tfd is None:
                raise _Refused(f"is a hard link to {m.linkname!r}, which is missing")
            try:
                tname = m.linkname.rsplit("/", 1)[-1]
                st = _lstat_at(tfd, tname)
                if st is None or not stat.S_ISREG(st.st_mode):
                    raise _Refused(f"is a hard link to {m.linkname!r}, which is not a file")
                os.link(tname, name, src_dir_fd=tfd, dst_dir_fd=pfd, follow_symlinks=False)
            finally:
                os.close(tfd)
        else:  # a regular file
            fd = os.open(
                name,
                os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC,
                0o600,
                dir_fd=pfd,
            )
            with os.fdopen(fd, "wb") as f:
                src = tf.extractfile(m)
                if src is not None:
                    shutil.copyfileobj(src, f, 1 << 20)
                f.flush()
                _owner(fd, m)
                os.fchmod(fd, stat.S_IMODE(m.mode))
                _times(m, fd)
    finally:
        os.close(pfd)


def _dir_attrs(root_fd: int, m: tarfile.TarInfo) -> None:
    pfd = _open_parent(root_fd, m.name, create=False)
    if pfd is None:
        return  # replaced by a later member
    try:
        try:
            fd = os.open(m.name.rsplit("/", 1)[-1], DIR_NOFOLLOW, dir_fd=pfd)
        except OSError:
            return  # replaced by a later member (not a directory any more)
        try:
            _owner(fd, m)
            os.fchmod(fd, stat.S_IMODE(m.mode) | 0o700 if os.geteuid() else stat.S_IMODE(m.mode))
            _times(m, fd)
        finally:
            os.close(fd)
    finally:
        os.close(pfd)


def _apply_deletion(root_fd: int, path: str, kind: str) -> None:
    """ "apply": delete from the layers below what a whiteout names."""
    if kind == "opaque":
        fd = root_fd if not path else _open_dir(root_fd, path)
        if fd is None:
            return
        try:
            with os.scandir(fd) as it:
                names = [e.name for e in it]
            for n in names:
                try:
                    remove_at(fd, n)
                except RuntimeError as ex:
                    raise _Refused(str(ex)) from None
        finally:
            if fd != root_fd:
                os.close(fd)
        return
    pfd = _open_parent(root_fd, path, create=False)
    if pfd is None:
        return
    try:
        _clear(pfd, path.rsplit("/", 1)[-1], keep_dir=False)
    finally:
        os.close(pfd)


def _keep_deletion(root_fd: int, path: str, kind: str) -> None:
    """ "overlay": a whiteout becomes a char device 0/0, an opaque dir gets its xattr."""
    if kind == "opaque":
        if path:
            pfd = _open_parent(root_fd, path + "/x", create=True)  # makes the dir itself
            assert pfd is not None
            os.close(pfd)
        fd = _open_dir(root_fd, path) if path else os.dup(root_fd)
        assert fd is not None
        try:
            os.setxattr(fd, OPAQUE_XATTR, b"y")
        finally:
            os.close(fd)
        return
    pfd = _open_parent(root_fd, path, create=True)
    assert pfd is not None
    try:
        name = path.rsplit("/", 1)[-1]
        _clear(pfd, name, keep_dir=False)
        os.mknod(name, 0o600 | stat.S_IFCHR, os.makedev(0, 0), dir_fd=pfd)
    finally:
        os.close(pfd)
