"""A small container runtime from the parts, one stage at a time.

    1 rootfs    overlay: the rootfs (or an image's layer dirs) as lower, a fresh upper
    2 cgroup    shikumi/NAME with the limits asked for
    3 network   a netns (bridge / none) or the host's
    4 start     unshare --mount --uts --ipc --pid --fork, then inside:
                join the cgroup, hostname, mounts (volumes, tmpfs, /proc),
                pivot_root into the new root, unmount the old one, exec the command

A lesson runs each stage and shows its commands (``Stage.commands``) before it
runs; ``run()`` does all four. ``root="chroot"`` starts the same container with
a plain ``chroot`` instead of ``pivot_root``, for the escape side by side.
"""

from __future__ import annotations

import shlex
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.ops import cgroups, network, volumes
from lab.safety import procs, resources
from lab.safety.journal import Entry, Journal

OLD_ROOT = ".oldroot"
# the device nodes every container gets (as Docker makes them): name, major, minor
DEVICES = (("null", 1, 3), ("zero", 1, 5), ("full", 1, 7), ("random", 1, 8), ("urandom", 1, 9))
# a container's environment starts clean, as `docker run` does
ENV = {
    "PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    "HOME": "/root",
    "LC_ALL": "C",
}


@dataclass
class Stage:
    name: str
    commands: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class Limits:
    memory: int | None = None  # bytes
    cpu_quota_us: int | None = None  # per 100 ms period
    cpu_weight: int | None = None
    cpuset: str | None = None
    pids_max: int | None = None

    def controllers(self) -> list[str]:
        out = []
        if self.memory:
            out.append("memory")
        if self.cpu_quota_us or self.cpu_weight:
            out.append("cpu")
        if self.cpuset:
            out.append("cpuset")
        if self.pids_max:
            out.append("pids")
        return out


@dataclass
class Container:
    name: str
    lowers: list[Path]
    workdir: Path  # HOME/containers/NAME: upper, work, merged
    root_mode: str = "pivot_root"  # or "chroot"
    hostname: str = ""
    mounts: list[volumes.MountSpec] = field(default_factory=list)
    readonly_root: bool = False
    stages: list[Stage] = field(default_factory=list)
    rootfs: Path | None = None  # the merged root once stage 1 ran
    cgroup: cgroups.Cgroup | None = None
    net: network.Network | None = None
    argv: list[str] = field(default_factory=list)  # the launcher, once started
    launcher: int = 0
    pid: int = 0  # the command's pid, as the host sees it
    entry: Entry | None = None
    popen: subprocess.Popen | None = field(default=None, repr=False)
    own: list[Entry] = field(default_factory=list)  # every journal entry, in order

    def stage(self, name: str) -> Stage:
        s = Stage(name)
        self.stages.append(s)
        return s


def new(
    j: Journal,
    name: str,
    lowers: Sequence[Path],
    root_mode: str = "pivot_root",
    mounts: Sequence[volumes.MountSpec] = (),
    readonly_root: bool = False,
    hostname: str = "",
) -> Container:
    if root_mode not in ("pivot_root", "chroot"):
        raise LabError(f"unknown root mode {root_mode!r}")
    if not lowers:
        raise LabError("a container needs a rootfs or an image's layers as its lower dirs")
    return Container(
        name,
        [Path(p) for p in lowers],
        j.home / "containers" / name,
        root_mode,
        hostname or name,
        list(mounts),
        readonly_root,
    )


def prepare_rootfs(j: Journal, c: Container) -> Stage:
    """Stage 1: the lower dirs under an overlay, with this container's own upper dir."""
    t0 = time.perf_counter()
    s = c.stage("rootfs")
    _, e = resources.make_dir(j, c.workdir)
    c.own += [e] if e else []
    upper, work, merged = (c.workdir / n for n in ("upper", "work", "merged"))
    for d in (upper, work, merged):
        d.mkdir()
    # overlayfs lists the top layer first
    lowers = [str(p) for p in reversed(c.lowers)]
    s.commands.append(f"mkdir -p {upper} {work} {merged}")
    s.commands.append(
        f"mount -t overlay overlay -o lowerdir={':'.join(lowers)},upperdir={upper},workdir={work} {merged}"
    )
    c.own.append(resources.overlay(j, lowers, str(upper), str(work), str(merged)))
    c.rootfs = merged
    s.seconds = time.perf_counter() - t0
    return s


def make_cgroup(j: Journal, c: Container, limits: Limits) -> Stage:
    """Stage 2: a cgroup with the limits (nothing asked: no cgroup)."""
    t0 = time.perf_counter()
    s = c.stage("cgroup")
    ctrls = limits.controllers()
    if ctrls:
        cg = cgroups.create(j, c.name, ctrls)
        w: list[cgroups.Written] = []
        if limits.memory:
            w += cgroups.set_memory(cg, limits.memory)
        if limits.cpu_quota_us:
            w += cgroups.set_cpu_quota(cg, limits.cpu_quota_us)
        if limits.cpu_weight:
            w += cgroups.set_cpu_weight(cg, limits.cpu_weight)
        if limits.cpuset:
            w += cgroups.set_cpuset(cg, limits.cpuset)
        if limits.pids_max:
            w += cgroups.set_pids_max(cg, limits.pids_max)
        s.commands += [f"mkdir {d}" for d in cg.dirs] + [x.command for x in cg.written]
        c.cgroup = cg
        c.own += cg.entries
    s.seconds = time.perf_counter() - t0
    return s


def make_network(j: Journal, c: Container, mode: str = "none", tag: str = "") -> Stage:
    """Stage 3: a network namespace (bridge or none) or the host's network."""
    t0 = time.perf_counter()
    s = c.stage("network")
    c.net = network.create(j, tag or c.name[:8].lower(), mode)
    s.commands += c.net.commands
    c.own += c.net.entries
    s.seconds = time.perf_counter() - t0
    return s


def inner_script(c: Container, cmd: Sequence[str]) -> list[str]:
    """The lines PID 1's shell runs inside the new namespaces, before it becomes *cmd*."""
    if c.rootfs is None:
        raise LabError("prepare the rootfs first")
    root = shlex.quote(str(c.rootfs))
    lines = ["set -e"]
    if c.cgroup:
        lines += cgroups.join_commands(c.cgroup)
    lines.append(f"hostname {shlex.quote(c.hostname)}")
    if c.root_mode == "pivot_root":
        lines.append(f"mount --bind {root} {root}")  # pivot_root wants a mount point
    lines += volumes.commands(c.rootfs, c.mounts)
    lines.append(f"mount -t proc proc {root}/proc")
    lines.append(f"mount -t tmpfs -o mode=755,size=64k tmpfs {root}/dev")
    lines += [f"mknod -m 666 {root}/dev/{n} c {a} {b}" for n, a, b in DEVICES]
    if c.root_mode == "chroot":
        if c.readonly_root:
            raise LabError("a read-only root is shown with pivot_root (the root must be a mount)")
        lines.append(f"exec chroot {root} {shlex.join(cmd)}")
        return lines
    lines.append(f"mkdir -p {root}/{OLD_ROOT}")
    if c.readonly_root:
        lines += volumes.readonly_root_commands(c.rootfs)
    lines += [
        f"cd {root}",
        f"pivot_root . {OLD_ROOT}",
        "cd /",
        f"umount -l /{OLD_ROOT}",
        f"exec {shlex.join(cmd)}",
    ]
    return lines


def launcher(c: Container, cmd: Sequence[str]) -> list[str]:
    inner = ["unshare", "--mount", "--uts", "--ipc", "--pid", "--fork", "--propagation", "private"]
    if c.net and c.net.netns:
        inner = ["nsenter", f"--net={c.net.netns_path}", *inner]
    return [*inner, "sh", "-c", "\n".join(inner_script(c, cmd))]


def start(
    j: Journal, c: Container, cmd: Sequence[str], log: Path | None = None, wait: bool = False
) -> Stage:
    """Stage 4: the namespaces, the mounts, pivot_root (or chroot), exec *cmd*.

    With *wait* it runs to completion (stdout in ``log``); otherwise it keeps running."""
    t0 = time.perf_counter()
    s = c.stage("start")
    c.argv = launcher(c, cmd)
    s.commands = [shlex.join(c.argv[: c.argv.index("sh")]) + " sh -c '…'", *inner_script(c, cmd)]
    out = open(log, "ab") if log else subprocess.DEVNULL  # noqa: SIM115 - the child keeps it
    try:
        p, entry = resources.spawn(
            j,
            c.argv,
            f"runtime-{c.name}",
            env=dict(ENV, HOSTNAME=c.hostname),
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    finally:
        if log:
            out.close()  # type: ignore[union-attr]
    c.popen, c.entry, c.launcher = p, entry, p.pid
    c.own.append(entry)
    if wait:
        p.wait(timeout=60)
    else:
        c.pid = _command_pid(p, Path(cmd[0]).name[:15])
    s.seconds = time.perf_counter() - t0
    return s


def _command_pid(p: subprocess.Popen, want: str) -> int:
    deadline = time.monotonic() + 3
    pid = p.pid
    while time.monotonic() < deadline and p.poll() is None:
        pid = procs.innermost(p.pid, wait=0.2, shell_wait=0)
        if procs.comm(pid) == want:
            return pid
        time.sleep(0.005)
    if p.poll() is not None:
        raise LabError(f"the container exited at once (status {p.returncode})")
    return pid


def run(
    j: Journal,
    c: Container,
    cmd: Sequence[str],
    limits: Limits | None = None,
    net: str = "none",
    log: Path | None = None,
    wait: bool = False,
) -> Container:
    """All four stages."""
    prepare_rootfs(j, c)
    make_cgroup(j, c, limits or Limits())
    make_network(j, c, net)
    start(j, c, cmd, log=log, wait=wait)
    return c


def exec_argv(c: Container, cmd: Sequence[str]) -> list[str]:
    return ["nsenter", "--target", str(c.pid), "--all", "--root", "--wd", *cmd] if c.pid else []


def remove(j: Journal, c: Container) -> None:
    """Stop the container and undo every stage (newest first)."""
    failed = [r for r in (j.undo(e) for e in reversed(c.own)) if not r.ok]
    c.own.clear()
    if c.popen is not None:
        c.popen.wait(timeout=5)
    if failed:
        raise LabError(
            f"could not undo {failed[0].entry.kind} {failed[0].entry.target}: {failed[0].action}"
        )


# -- the chroot escape ---------------------------------------------------------------------


ESCAPE = (
    # the classic: chroot into a subdirectory *without* moving the cwd, walk `..`
    # from the cwd (now outside the root) up to the real /, chroot there
    'mkdir "x"; chroot "x" or die "chroot: $!"; chdir ".." for 1..64; chroot "." or die; '
    'print -e $ARGV[0] ? "ESCAPED: $ARGV[0] is visible\\n" : "HELD: $ARGV[0] is not visible\\n"'
)


def escape_tool() -> str | None:
    """perl (Essential on Debian and Ubuntu): chroot(2) without chdir(2), no compiler needed.
    busybox's chroot applet always does chdir("/"), which is why it cannot escape."""
    return shutil.which("perl")


def escape_argv(marker: str) -> list[str]:
    """Run inside the container: prints ESCAPED if the host path *marker* is reachable."""
    return ["perl", "-e", ESCAPE, marker]


@dataclass
class EscapeResult:
    root_mode: str
    output: str
    escaped: bool
    commands: list[str]


def try_escape(
    j: Journal, name: str, lowers: Sequence[Path], root_mode: str, marker: Path
) -> EscapeResult:
    """Start a container with *root_mode* and run the escape inside; undo it afterwards."""
    c = new(j, name, lowers, root_mode=root_mode)
    out = ""
    try:
        prepare_rootfs(j, c)
        log = c.workdir / "log"
        start(j, c, escape_argv(str(marker)), log=log, wait=True)
        out = log.read_text()
    finally:
        remove(j, c)
    return EscapeResult(
        root_mode, out, "ESCAPED" in out, [cmd for s in c.stages for cmd in s.commands]
    )
