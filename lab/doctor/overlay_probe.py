"""Probe: can an overlay filesystem really be mounted here?

Mounts lower/upper/work → merged in a scratch directory (inside the lab home
when it is writable, else a private temp dir), writes a file through merged,
checks it was copied up into upper and that lower shows through, then unmounts
and removes everything. With a journal, the directory and the mount are
recorded before they are created, so a crash mid-probe is cleaned up by
``shikumi cleanup``; without one, try/finally undoes them.
"""

from __future__ import annotations

import errno
import os
import secrets
import shutil
import tempfile
from pathlib import Path

from lab.doctor.probe import RUN_AS_ROOT, Check, errno_text
from lab.host import libc, mounts

NAME = "overlayfs"
VOLUME_FIX = (
    "put SHIKUMI_HOME on a non-overlay filesystem: a volume or bind mount "
    "(docker run -v /var/lib/shikumi …) or a tmpfs"
)


def fs_type(path: str | os.PathLike[str]) -> str:
    """The filesystem type of the mount holding *path* ("" if unknown)."""
    p = os.path.realpath(path)
    try:
        table = mounts.mounts()
    except OSError:
        return ""
    best, best_len = "", -1
    for m in table:  # the longest matching mount point; later mounts shadow earlier ones
        t = m.target.rstrip("/") or "/"
        if (p == t or p.startswith(t.rstrip("/") + "/")) and len(t) >= best_len:
            best, best_len = m.fstype, len(t)
    return best


def _overlay_known() -> bool | None:
    try:
        with open("/proc/filesystems") as f:
            return any(line.split()[-1:] == ["overlay"] for line in f)
    except OSError:
        return None


def probe_overlay(journal: object | None = None, home: Path | None = None) -> Check:
    """Mount a real overlay. *journal* is a ``lab.safety.journal.Journal`` for *home* (or None)."""
    if journal is not None and home is not None:
        base = str(home / f"doctor-overlay-{os.getpid()}-{secrets.token_hex(3)}")
        dir_entry = journal.record("dir", base)  # type: ignore[attr-defined]
        os.mkdir(base, 0o700)
    else:
        dir_entry = None
        base = tempfile.mkdtemp(prefix="shikumi-doctor-overlay-")
    merged = os.path.join(base, "merged")
    mount_entry = None
    mounted = False
    try:
        for d in ("lower", "upper", "work", "merged"):
            os.mkdir(os.path.join(base, d))
        Path(base, "lower", "from-lower.txt").write_text("lower\n")
        data = f"lowerdir={base}/lower,upperdir={base}/upper,workdir={base}/work"
        if journal is not None:
            mount_entry = journal.record(
                "mount", merged, source="overlay", fstype="overlay", data=data
            )  # type: ignore[attr-defined]
        try:
            libc.mount("overlay", merged, "overlay", 0, data)
            mounted = True
        except OSError as e:
            return _mount_failed(e, base)
        Path(merged, "written.txt").write_text("merged\n")
        seen_lower = Path(merged, "from-lower.txt").read_text() == "lower\n"
        copied_up = Path(base, "upper", "written.txt").read_text() == "merged\n"
        if not (seen_lower and copied_up):
            return Check(
                NAME,
                False,
                True,
                f"mounted, but lower shows through: {seen_lower}, write reached upper: {copied_up}",
                "report this as a bug",
            )
        where = fs_type(base) or "?"
        return Check(
            NAME,
            True,
            True,
            f"mounted lower+upper → merged in {os.path.dirname(base)} ({where}); a write through merged landed in upper",
            "",
        )
    finally:
        if mounted:
            try:
                libc.umount(merged)
            except OSError:
                libc.umount(merged, libc.MNT_DETACH)
        if mount_entry is not None:
            journal.release(mount_entry)  # type: ignore[attr-defined]
        if not mounts.under(base):  # never remove through a mount left in place
            shutil.rmtree(base, ignore_errors=True)
            if dir_entry is not None and not os.path.lexists(base):
                journal.release(dir_entry)  # type: ignore[attr-defined]


def _mount_failed(e: OSError, base: str) -> Check:
    what = f"mount -t overlay failed: {errno_text(e)}"
    if e.errno == errno.EPERM:
        if os.geteuid() != 0:
            return Check(NAME, False, True, f"{what}: mounting needs root", RUN_AS_ROOT)
        return Check(
            NAME,
            False,
            True,
            f"{what} although root (a container without CAP_SYS_ADMIN?)",
            "run the lab on a VM or host (or docker run --privileged)",
        )
    if e.errno == errno.ENODEV or _overlay_known() is False:
        return Check(
            NAME,
            False,
            True,
            f"{what}: this kernel has no overlay filesystem",
            "modprobe overlay (or use a distro kernel with CONFIG_OVERLAY_FS)",
        )
    if e.errno == errno.EINVAL:
        fstype = fs_type(base)
        if fstype == "overlay":
            return Check(
                NAME,
                False,
                True,
                f"{what}: the upper dir {base} is itself on overlayfs (e.g. a Docker container's /), "
                "and an overlay upperdir cannot be on overlayfs",
                VOLUME_FIX,
            )
        return Check(
            NAME,
            False,
            True,
            f"{what} with the upper dir on {fstype or 'an unknown filesystem'}",
            VOLUME_FIX,
        )
    return Check(NAME, False, True, what, "report this as a bug")
