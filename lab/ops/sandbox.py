"""A safe place to break things: a private mount namespace with an overlay over host dirs.

For 確認4 (hide a library `ls` needs, watch `ls` fail): inside the sandbox the
library's directory is an overlay whose lower layer is the host's real
directory and whose upper layer lives in the lab home. Removing or renaming a
file there writes a whiteout into the upper layer; the host's directory is
never written, and the overlay mount exists only in the sandbox's private mount
namespace, so it vanishes with the sandbox's last process.
"""

from __future__ import annotations

import os
import shlex
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.host import ldd, mounts
from lab.safety import procs
from lab.safety.journal import Entry, Journal
from lab.safety.resources import make_dir, spawn


@dataclass
class Sandbox:
    name: str
    dirs: list[str]  # host directories overlaid inside
    base: Path  # upper/work layers under the home
    pid: int  # a process inside (the mount namespace lives while it does)
    argv: list[str]
    entry: Entry
    popen: subprocess.Popen = field(repr=False)

    def run_argv(self, cmd: Sequence[str]) -> list[str]:
        """Run a command inside the sandbox's mount namespace."""
        return ["nsenter", "--target", str(self.pid), "--mount", *cmd]

    def upper(self, host_dir: str) -> Path:
        return self.base / f"upper{self.dirs.index(host_dir)}"


def pick_library(binary: str = "ls") -> ldd.Lib:
    """A library *binary* really links on this machine, preferring one that is not libc
    (hiding libc breaks every program at once, which teaches less)."""
    (item,) = ldd.linked([binary])
    libs = [lib for lib in item.libs if lib.kind == "library" and lib.path]
    if not libs:
        raise LabError(
            f"{binary} links no shared library here (a static build?)", "pick another program"
        )
    others = [lib for lib in libs if not lib.soname.startswith("libc.so")]
    return (others or libs)[0]


def start(j: Journal, name: str, dirs: Sequence[str]) -> Sandbox:
    """Start a sandbox with an overlay over each of *dirs* (host paths)."""
    real_dirs = [os.path.realpath(d) for d in dirs]
    for d in real_dirs:
        if not os.path.isdir(d):
            raise LabError(f"{d} is not a directory")
    base, _ = make_dir(j, j.home / "sandbox" / name)
    lines = ["set -e"]
    for i, d in enumerate(real_dirs):
        up, wk = base / f"upper{i}", base / f"work{i}"
        up.mkdir()
        wk.mkdir()
        opts = f"lowerdir={d},upperdir={up},workdir={wk}"
        lines.append(f"mount -t overlay overlay -o {shlex.quote(opts)} {shlex.quote(d)}")
    lines.append("exec sleep 2147483647")
    argv = ["unshare", "--mount", "--propagation", "private", "/bin/sh", "-c", "\n".join(lines)]
    p, entry = spawn(
        j, argv, name, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    pid = p.pid  # unshare (no --fork) execs sh, which execs sleep: one process throughout
    deadline = time.monotonic() + 3
    while True:
        inside = (
            {m.target for m in mounts.mounts(pid) if m.fstype == "overlay"}
            if procs.alive(pid)
            else set()
        )
        if set(real_dirs) <= inside:
            break
        if p.poll() is not None or time.monotonic() > deadline:
            err = (
                p.stderr.read().decode(errors="replace").strip()
                if p.stderr and p.poll() is not None
                else ""
            )
            j.undo(entry)
            raise LabError(
                f"the sandbox could not overlay {', '.join(real_dirs)}: {err or 'timed out'}",
                "check `shikumi doctor` (overlayfs; the lab home must not be on overlayfs)",
            )
        time.sleep(0.005)
    return Sandbox(name, real_dirs, base, pid, argv, entry, p)


def stop(j: Journal, s: Sandbox) -> None:
    j.undo(s.entry)
    s.popen.wait(timeout=5)
