"""A runtime environment (rootfs) for a few programs, built from their ldd closure.

The slides build one with ``cp -r /bin /lib /lib64 /usr/...``: gigabytes on a
modern distribution. Here only the programs and the libraries `ldd` says they
need are copied (never hard-linked: a learner writing inside the rootfs must
never change the host's files), with the host's symlink layout (merged /usr)
mirrored, so the loader finds everything at the path it expects.
"""

from __future__ import annotations

import os
import shutil
import stat
import tarfile
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.host import ldd
from lab.safety import safetar
from lab.safety.journal import Journal
from lab.safety.resources import make_dir

# what hello.sh and the later lessons run inside the container
# (bash and ip are left out: they double the size; the container uses sh, and
# the host's `ip` looks into its network namespace from outside)
DEFAULT_PROGRAMS = [
    "sh",
    "ls",
    "cat",
    "echo",
    "sleep",
    "hostname",
    "ps",
    "mount",
    "umount",
    "mkdir",
    "id",
    "uname",
    "grep",
    "readlink",
]
SKELETON = ["proc", "sys", "dev", "tmp", "etc", "root", "opt/bin", "var/tmp"]
BUSYBOX_APPLETS = [*DEFAULT_PROGRAMS, "ip", "tree", "top", "df", "free", "ifconfig", "env", "vi"]


@dataclass
class RootfsFile:
    path: str  # inside the rootfs ("/usr/bin/ls")
    size: int
    kind: str  # program, library, loader, script, symlink, file


@dataclass
class Rootfs:
    root: Path
    method: str  # "ldd" or "busybox"
    programs: list[str]
    files: list[RootfsFile] = field(default_factory=list)
    linked: list[ldd.Linked] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def bytes(self) -> int:
        return sum(f.size for f in self.files)


class _Copier:
    """Copies host paths into a root, mirroring symlinks, never writing through one."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.files: dict[str, RootfsFile] = {}

    def _dir(self, host_dir: str) -> Path:
        """The rootfs directory for a host directory with no symlinks in its path."""
        dest = self.root
        for part in Path(host_dir).parts[1:]:
            dest = dest / part
            try:
                st = os.lstat(dest)
            except FileNotFoundError:
                os.mkdir(dest, 0o755)
                continue
            if not stat.S_ISDIR(st.st_mode):
                raise LabError(f"{dest} is in the way (not a directory) while building the rootfs")
        return dest

    def copy(self, host_path: str, kind: str, hops: int = 0) -> None:
        if hops > 40:
            raise LabError(f"too many symlinks resolving {host_path}")
        parts = Path(os.path.abspath(host_path)).parts
        cur = "/"
        for i, part in enumerate(parts[1:], start=1):
            nxt = os.path.join(cur, part)
            st = os.lstat(nxt)
            if stat.S_ISLNK(st.st_mode):
                target = os.readlink(nxt)
                link = self._dir(cur) / part
                if not os.path.lexists(link):
                    os.symlink(target, link)
                    self.files[nxt] = RootfsFile(nxt, 0, "symlink")
                resolved = os.path.normpath(
                    os.path.join(cur, target)
                )  # absolute targets win in join
                rest = parts[i + 1 :]
                return self.copy(
                    os.path.join(resolved, *rest) if rest else resolved, kind, hops + 1
                )
            if i == len(parts) - 1 and not stat.S_ISDIR(st.st_mode):
                dest = self._dir(cur) / part
                if not os.path.lexists(dest):
                    shutil.copyfile(nxt, dest, follow_symlinks=False)
                    os.chmod(dest, stat.S_IMODE(st.st_mode))
                    self.files[nxt] = RootfsFile(nxt, st.st_size, kind)
                return None
            cur = nxt
        self._dir(cur)
        return None


def build(
    j: Journal, root: Path, programs: list[str] | None = None, scripts: dict[str, str] | None = None
) -> Rootfs:
    """Build a rootfs at *root* (inside the home) from the programs' ldd closure.

    *scripts* maps paths inside the rootfs to their text (e.g. /opt/bin/hello.sh).
    """
    t0 = time.perf_counter()
    programs = [p for p in (programs or DEFAULT_PROGRAMS) if "/" in p or shutil.which(p)]
    if root.exists():
        raise LabError(
            f"{root} already exists", "remove it first (or let the lesson's reset do it)"
        )
    make_dir(j, root)
    items, files = ldd.closure(programs)
    copier = _Copier(root)
    # mirror the host's top-level symlinks (merged /usr: bin -> usr/bin …)
    for top in ("bin", "sbin", "lib", "lib64", "lib32", "libx32"):
        host = f"/{top}"
        if os.path.islink(host):
            os.symlink(os.readlink(host), root / top)
    loaders = {lib.path for it in items for lib in it.libs if lib.kind == "loader"}
    binaries = {it.binary for it in items}
    for f in files:
        copier.copy(f, "program" if f in binaries else ("loader" if f in loaders else "library"))
    _skeleton(root, scripts)
    out = Rootfs(root, "ldd", programs, list(copier.files.values()), items)
    out.files += _script_files(root, scripts)
    out.seconds = time.perf_counter() - t0
    return out


def build_busybox(j: Journal, root: Path, scripts: dict[str, str] | None = None) -> Rootfs:
    """The second way: one static busybox and a symlink per applet, no libraries at all."""
    t0 = time.perf_counter()
    bb = shutil.which("busybox")
    if not bb:
        raise LabError("busybox is not installed", "apt-get install busybox-static")
    items = ldd.linked([bb])
    if items and not items[0].static:
        raise LabError(f"{bb} is not statically linked", "apt-get install busybox-static")
    make_dir(j, root)
    (root / "bin").mkdir()
    shutil.copyfile(bb, root / "bin" / "busybox")
    os.chmod(root / "bin" / "busybox", 0o755)
    files = [RootfsFile("/bin/busybox", os.path.getsize(bb), "program")]
    for applet in BUSYBOX_APPLETS:
        os.symlink("busybox", root / "bin" / applet)
        files.append(RootfsFile(f"/bin/{applet}", 0, "symlink"))
    _skeleton(root, scripts)
    out = Rootfs(root, "busybox", ["busybox"], files + _script_files(root, scripts), items)
    out.seconds = time.perf_counter() - t0
    return out


def _skeleton(root: Path, scripts: dict[str, str] | None) -> None:
    for d in SKELETON:
        (root / d).mkdir(parents=True, exist_ok=True)
    os.chmod(root / "tmp", 0o1777)
    (root / "etc" / "passwd").write_text("root:x:0:0:root:/root:/bin/sh\n")
    (root / "etc" / "group").write_text("root:x:0:\n")
    (root / "etc" / "hostname").write_text("container\n")
    for path, text in (scripts or {}).items():
        dest = root / path.lstrip("/")
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
        os.chmod(dest, 0o755)


def _script_files(root: Path, scripts: dict[str, str] | None) -> list[RootfsFile]:
    return [RootfsFile(p, len(t.encode()), "script") for p, t in (scripts or {}).items()]


@dataclass
class CopyEstimate:
    """What the slides' `cp -r /bin /lib /lib64 /usr/bin /usr/lib /usr/lib64` would copy."""

    paths: list[str]
    bytes: int
    files: int
    seconds: float


def estimate_copy_all(paths: list[str] | None = None) -> CopyEstimate:
    """Sum the sizes without copying anything (each inode counted once)."""
    t0 = time.perf_counter()
    paths = paths or ["/bin", "/lib", "/lib64", "/usr/bin", "/usr/lib", "/usr/lib64"]
    seen: set[tuple[int, int]] = set()
    total = files = 0
    for top in paths:
        real = os.path.realpath(top)
        if not os.path.isdir(real):
            continue
        for dirpath, _dirs, names in os.walk(real):
            for n in names:
                try:
                    st = os.lstat(os.path.join(dirpath, n))
                except OSError:
                    continue
                key = (st.st_dev, st.st_ino)
                if key in seen:
                    continue
                seen.add(key)
                files += 1
                total += st.st_size if stat.S_ISREG(st.st_mode) else 0
    return CopyEstimate(paths, total, files, time.perf_counter() - t0)


def to_tar(root: Path, tar_path: Path, arcname: str = ".") -> int:
    """Pack the rootfs as an uncompressed tar (symlinks kept as symlinks). Returns its size."""
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tf:
        tf.add(root, arcname=arcname, recursive=True)
    return tar_path.stat().st_size


def from_tar(tar_path: Path, dest: Path) -> safetar.Extracted:
    """Unpack a rootfs tar into *dest* (inside the home) with the lab's one safe
    extractor (lab.safety.safetar): no entry lands outside it, no link is followed,
    hard links stay inside, device files are refused."""
    return safetar.extract(Path(tar_path), Path(dest), devices="refuse")
