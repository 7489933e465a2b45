"""Containers as directories, like Docker's overlay2:

  HOME/containers/<id>/upper    the container's own changes (overlay2 calls it diff/)
  HOME/containers/<id>/work     overlayfs's scratch space
  HOME/containers/<id>/merged   what the container sees: lowers + upper
  lowers                        the image's unpacked layers, HOME/layers/<digest>/

A container stays (a directory) after its process exits, until it is removed,
as `docker ps -a` shows. Mounts and directories go through the journal.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.host import mounts
from lab.host.overlayfs import is_opaque, walk
from lab.ops import container
from lab.safety.journal import Entry, Journal
from lab.safety.remove import safe_rmtree
from lab.safety.resources import make_dir, spawn
from lab.safety.resources import mount as mount_res

# no redirect_dir / metacopy: every change in the upper is a whole file, a whiteout
# or an opaque directory, so it maps one-to-one onto a layer tar (Docker does the same)
OPTIONS = "redirect_dir=off,metacopy=off"


@dataclass
class OverlayContainer:
    id: str
    dir: Path
    lowers: list[Path]  # bottom first (the image's first layer first)
    image: str = ""
    dir_entry: Entry | None = field(default=None, repr=False)
    mount_entry: Entry | None = field(default=None, repr=False)

    @property
    def upper(self) -> Path:
        return self.dir / "upper"

    @property
    def work(self) -> Path:
        return self.dir / "work"

    @property
    def merged(self) -> Path:
        return self.dir / "merged"

    def mount_data(self) -> str:
        """The overlay mount options (lowerdir lists the top layer first)."""
        lowers = [str(p) for p in reversed(self.lowers)] or [str(self.dir / "empty")]
        return f"lowerdir={':'.join(lowers)},upperdir={self.upper},workdir={self.work},{OPTIONS}"

    def mount_command(self) -> str:
        return f"mount -t overlay overlay -o {self.mount_data()} {self.merged}"

    def mounted(self) -> bool:
        return any(m.target == str(self.merged) for m in mounts.mounts())

    def mount_line(self) -> mounts.Mount | None:
        """This container's line of the mount table (what `mount | grep overlay` shows)."""
        return next((m for m in mounts.mounts() if m.target == str(self.merged)), None)


@dataclass
class Change:
    path: str  # "/etc/greeting"
    kind: str  # added modified deleted opaque
    is_dir: bool
    size: int
    lower: int | None  # which lower (0 = bottom) held it before, if any


@dataclass
class RunResult:
    argv: list[str]
    returncode: int
    output: str
    seconds: float


def containers_dir(home: Path) -> Path:
    return home / "containers"


def create(
    j: Journal, lowers: Sequence[Path], image: str = "", cid: str | None = None
) -> OverlayContainer:
    """Make a container's directories (not mounted yet)."""
    cid = cid or secrets.token_hex(6)
    if not cid.replace("-", "").isalnum():
        raise LabError(f"bad container id {cid!r}")
    d = containers_dir(j.home) / cid
    if d.exists():
        raise LabError(f"the container {cid} already exists")
    make_dir(j, containers_dir(j.home))
    _, entry = make_dir(j, d)
    for sub in ("upper", "work", "merged", *([] if lowers else ["empty"])):
        (d / sub).mkdir()
    c = OverlayContainer(cid, d, [Path(p) for p in lowers], image, entry)
    (d / "container.json").write_text(
        json.dumps(
            {
                "id": cid,
                "image": image,
                "lowers": [str(p) for p in c.lowers],
                "created": time.time(),
            }
        )
    )
    return c


def open_container(j: Journal | Path, cid: str) -> OverlayContainer:
    """A container made earlier (its directory), e.g. after its process exited."""
    home = j.home if isinstance(j, Journal) else Path(j)
    d = containers_dir(home) / cid
    try:
        meta = json.loads((d / "container.json").read_text())
    except (OSError, ValueError):
        raise LabError(f"no container {cid} under {containers_dir(home)}") from None
    return OverlayContainer(cid, d, [Path(p) for p in meta["lowers"]], meta.get("image", ""))


def list_containers(home: Path) -> list[OverlayContainer]:
    """Every container directory, running or not (`docker ps -a`)."""
    d = containers_dir(home)
    if not d.is_dir():
        return []
    return [
        open_container(home, p.name) for p in sorted(d.iterdir()) if (p / "container.json").exists()
    ]


def mount(j: Journal, c: OverlayContainer) -> Entry:
    if c.mounted():
        raise LabError(f"{c.merged} is already mounted")
    c.mount_entry = mount_res(j, "overlay", c.merged, "overlay", 0, c.mount_data())
    return c.mount_entry


def unmount(j: Journal, c: OverlayContainer) -> None:
    if c.mount_entry is not None:
        r = j.undo(c.mount_entry)
        if not r.ok:
            raise LabError(f"could not unmount {c.merged}: {r.action}")
        c.mount_entry = None
    elif c.mounted():
        mounts.unmount_tree(str(c.merged))


def remove(j: Journal, c: OverlayContainer) -> None:
    """`docker rm`: unmount, then delete the container's directory and its changes."""
    unmount(j, c)
    if c.dir_entry is not None:
        r = j.undo(c.dir_entry)
        if not r.ok:
            raise LabError(f"could not remove {c.dir}: {r.action}")
        c.dir_entry = None
    elif c.dir.exists():
        safe_rmtree(str(c.dir), j.home)


def lower_of(c: OverlayContainer, rel: str) -> int | None:
    """The topmost lower that holds *rel* (None if none, or a whiteout hides it)."""
    rel = rel.lstrip("/")
    for i in range(len(c.lowers) - 1, -1, -1):
        p = c.lowers[i] / rel
        try:
            st = os.lstat(p)
        except (FileNotFoundError, NotADirectoryError):
            if any(is_opaque(c.lowers[i] / a) for a in _parents(rel)):
                return None
            continue
        return None if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0 else i
    return None


def _parents(rel: str) -> list[str]:
    parts = rel.split("/")[:-1]
    return ["/".join(parts[: k + 1]) for k in range(len(parts))]


def changes(c: OverlayContainer) -> list[Change]:
    """What the upper holds, against the lowers (like `docker diff`):
    added, modified (copied up), deleted (a whiteout), opaque (a dir replaced whole)."""
    out: list[Change] = []
    for rel, st in walk(c.upper):
        lower = lower_of(c, rel)
        is_dir = stat.S_ISDIR(st.st_mode)
        if stat.S_ISCHR(st.st_mode) and st.st_rdev == 0:
            kind = "deleted"
        elif is_dir and is_opaque(c.upper / rel):
            kind = "opaque"
        else:
            kind = "modified" if lower is not None else "added"
        size = st.st_size if stat.S_ISREG(st.st_mode) else 0
        out.append(Change("/" + rel, kind, is_dir, size, lower))
    return out


def run_argv(c: OverlayContainer, cmd: Sequence[str], workdir: str = "") -> list[str]:
    """The unshare command that runs *cmd* in the container (shown to the learner)."""
    has_proc = (c.merged / "proc").is_dir()
    line = container.argv(c.merged, [], mount_proc=has_proc)
    if workdir:
        line.append(f"--wd={workdir}")
    return line + list(cmd)


def run(
    j: Journal,
    c: OverlayContainer,
    cmd: Sequence[str],
    env: dict[str, str] | None = None,
    workdir: str = "",
    timeout: float = 120,
) -> RunResult:
    """Run *cmd* to the end in the (mounted) container: new namespaces, merged as /."""
    if not c.mounted():
        raise LabError(f"the container {c.id} is not mounted")
    if workdir:
        (c.merged / workdir.lstrip("/")).mkdir(parents=True, exist_ok=True)
    line = run_argv(c, cmd, workdir)
    t0 = time.perf_counter()
    p, entry = spawn(
        j,
        line,
        f"run-{c.id}",
        env=dict(env or {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        j.undo(entry)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.communicate(timeout=5)  # killed: what is left in the pipe
        raise LabError(f"{' '.join(cmd)} ran longer than {timeout:.0f} s; stopped") from None
    j.undo(entry)
    return RunResult(line, p.returncode, out.decode(errors="replace"), time.perf_counter() - t0)


def start(
    j: Journal, c: OverlayContainer, cmd: Sequence[str], hostname: str | None = None
) -> container.Container:
    """Start a long-running process in the (mounted) container (lesson 10)."""
    if not c.mounted():
        raise LabError(f"the container {c.id} is not mounted")
    return container.start(j, f"ctr-{c.id}", c.merged, cmd, hostname=hostname)
