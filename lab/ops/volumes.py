"""Volumes, bind mounts, tmpfs and a read-only root, by hand.

    docker run -v /host/dir:/data          mount --bind /host/dir ROOT/data
    docker run -v NAME:/data               mount --bind HOME/volumes/NAME ROOT/data
    docker run --tmpfs /tmp                mount -t tmpfs -o size=16m tmpfs ROOT/tmp
    docker run --read-only                 mount --bind ROOT ROOT; mount -o remount,bind,ro ROOT

Every mount is made inside the container's private mount namespace, so it
vanishes with the container and the host never sees it; only a named volume's
directory (under the lab home, journaled) outlives the container.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError
from lab.host import mounts
from lab.safety.journal import Entry, Journal
from lab.safety.resources import make_dir

_VOLUME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


@dataclass
class MountSpec:
    kind: str  # bind | volume | tmpfs
    target: str  # inside the container ("/data")
    source: str = ""  # host path (bind, volume)
    readonly: bool = False
    size: str = "16m"  # tmpfs

    @property
    def flag(self) -> str:
        """The docker flag that asks for this mount."""
        if self.kind == "tmpfs":
            return f"--tmpfs {self.target}"
        src = Path(self.source).name if self.kind == "volume" else self.source
        return f"-v {src}:{self.target}{':ro' if self.readonly else ''}"


@dataclass
class Volume:
    name: str
    path: Path
    entry: Entry | None


def bind(source: str | os.PathLike[str], target: str, readonly: bool = False) -> MountSpec:
    return MountSpec("bind", _target(target), str(os.path.abspath(source)), readonly)


def tmpfs(target: str, size: str = "16m") -> MountSpec:
    if not re.match(r"^\d+[kmg]?$", size):
        raise LabError(f"bad tmpfs size {size!r} (e.g. 16m)")
    return MountSpec("tmpfs", _target(target), size=size)


def volume(j: Journal, name: str) -> Volume:
    """A named volume: HOME/volumes/NAME, kept across containers (removed by cleanup)."""
    if not _VOLUME.match(name):
        raise LabError(f"bad volume name {name!r}")
    path, entry = make_dir(j, j.home / "volumes" / name)
    return Volume(name, path, entry)


def use(v: Volume, target: str, readonly: bool = False) -> MountSpec:
    return MountSpec("volume", _target(target), str(v.path), readonly)


def _target(t: str) -> str:
    p = os.path.normpath("/" + t.lstrip("/"))
    if p == "/" or ".." in Path(t).parts:
        raise LabError(f"bad mount target {t!r} inside the container")
    return p


def commands(root: str | os.PathLike[str], specs: list[MountSpec]) -> list[str]:
    """The shell lines that make *specs* under ROOT (run inside the container's mount namespace)."""
    out = []
    for s in specs:
        dest = shlex.quote(f"{root}{s.target}")
        out.append(f"mkdir -p {dest}")
        if s.kind == "tmpfs":
            out.append(f"mount -t tmpfs -o size={s.size},mode=1777 tmpfs {dest}")
            continue
        if not os.path.isdir(s.source):
            raise LabError(f"{s.source} is not a directory", "create it first")
        out.append(f"mount --bind {shlex.quote(s.source)} {dest}")
        if s.readonly:
            out.append(f"mount -o remount,bind,ro {dest}")
    return out


def readonly_root_commands(root: str | os.PathLike[str]) -> list[str]:
    """Make ROOT a read-only mount (after every mount point under it exists)."""
    return [f"mount -o remount,bind,ro {shlex.quote(str(root))}"]


def attach(pid: int, root: str | os.PathLike[str], spec: MountSpec) -> list[str]:
    """Add a mount to a *running* container (its mount namespace only), as `nsenter` would.

    Works for containers started with ``unshare --root ROOT`` (lab.ops.container):
    their mount namespace still holds the host's tree, chrooted into ROOT."""
    lines = commands(root, [spec])
    argv = ["nsenter", "--target", str(pid), "--mount", "sh", "-c", " && ".join(lines)]
    r = subprocess.run(argv, capture_output=True, text=True, timeout=15)
    if r.returncode != 0:
        raise LabError(f"{shlex.join(argv)}: {r.stderr.strip() or 'failed'}")
    return [shlex.join(argv[:5]) + " sh -c " + shlex.quote(" && ".join(lines))]


@dataclass
class InsideMount:
    target: str  # as the container sees it
    fstype: str
    source: str
    root: str  # the directory of the source filesystem it shows (a bind mount's source)
    readonly: bool


def inside(pid: int) -> list[InsideMount]:
    """The mounts a container's process sees, at the paths it sees them."""
    out = []
    for m in mounts.mounts(pid):
        out.append(InsideMount(m.target, m.fstype, m.source, m.root, "ro" in m.options.split(",")))
    return out
