"""Operations for lessons 16–18: cgroups, Docker images, the runtime from the parts, speed.

Registered in ``lab.lesson.operations``. Two of them give the step a value for
``{{out.STEP}}`` (as a `run` gives its stdout): ``cgroup`` the directory of the
cgroup it made (of its first controller), ``runtime.start`` the container's pid
as the host sees it — so later commands, views and checks can name them.
"""

from __future__ import annotations

import os
import shlex
import time
from pathlib import Path
from typing import Any, ClassVar

from lab.errors import LabError
from lab.lesson.op_result import result as _result
from lab.lesson.op_result import set_out as _set_out
from lab.ops import cgroups, runtime, speed
from lab.safety import procs
from lab.safety.home import require_inside
from lab.safety.journal import Journal

_UNITS = {"k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def parse_bytes(value: object) -> int:
    """50M, 64m, 1G, 1048576 → bytes."""
    s = str(value).strip().lower().removesuffix("b")
    mult = _UNITS.get(s[-1:], 1)
    try:
        return int(s[:-1] if s[-1:] in _UNITS else s) * mult
    except ValueError:
        raise LabError(f"not a size: {value!r} (write 50M, 64M, 1G or bytes)") from None


def unique(name: str) -> str:
    """*name* made unique on this machine (cgroups and netns are global, homes are not):
    another lab session may play the same lesson at the same time."""
    return f"{name}.{os.getpid() % 100000}"


def _where(controller: str) -> tuple[str, str]:
    """('v1'|'v2', the hierarchy's mount) for *controller* on this machine."""
    from lab.doctor.cgroups_probe import detect_layout

    layout = detect_layout()
    v = cgroups.placement(layout, [controller]).get(controller, "")
    if v == "v1":
        return v, layout.v1[controller]
    return v, str(layout.v2_mount or "/sys/fs/cgroup")


# -- cgroup ------------------------------------------------------------------------------


class _Cgroup:
    """Make ``shikumi/NAME`` in the hierarchies of *controllers* (journaled: removed at the end)."""

    GIVES_OUT = True  # {{out.STEP}}: the cgroup's directory

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "name": (str, True),
        "controllers": (list, True),
    }

    def describe(self, p: dict[str, Any]) -> str:
        lines = []
        for c in p.get("controllers") or []:
            v, mount = _where(str(c))
            if v == "v2":
                lines.append(f"# {c}: cgroup v2, one tree for every controller")
                lines.append(f"echo +{c} > {mount}/cgroup.subtree_control")
                lines.append(f"mkdir -p {mount}/{cgroups.PARENT}")
                lines.append(f"echo +{c} > {mount}/{cgroups.PARENT}/cgroup.subtree_control")
                lines.append(f"mkdir {mount}/{cgroups.PARENT}/{p['name']}")
            elif v == "v1":
                lines.append(f"# {c}: cgroup v1, a tree of its own at {mount}")
                lines.append(f"mkdir -p {mount}/{cgroups.PARENT}/{p['name']}")
            else:
                lines.append(f"# {c}: no hierarchy on this machine has it")
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        ctrls = [str(c) for c in p["controllers"]]
        if not ctrls:
            raise LabError("name at least one controller (memory, cpu, cpuset, pids)")
        cg = cgroups.create(journal, unique(str(p["name"])), ctrls)
        lines = [
            f"made {d} ({', '.join(c for c, x in cg.paths.items() if x == d)}, cgroup {cg.version(next(c for c, x in cg.paths.items() if x == d))})"
            for d in cg.dirs
        ]
        lines += [w.command for w in cg.written]
        main = cg.path(ctrls[0])
        lines.append(f"the new cgroup, for the next steps: {main}")  # the step's output
        _set_out(ctx, main)
        return _result("\n".join(lines), cg)


# -- docker import -----------------------------------------------------------------------


class _DockerImport:
    """`docker import TAR NAME`: an image from a rootfs tar, offline (removed at the end)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "tar": (str, True),
        "name": (str, True),  # shikumi-…
        "changes": (list, False),  # e.g. 'CMD ["/bin/sh"]'
    }

    def describe(self, p: dict[str, Any]) -> str:
        ch = "".join(f" --change {shlex.quote(str(c))}" for c in p.get("changes") or [])
        return f"docker import{ch} {p['tar']} {p['name']}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        from lab.ops import docker

        why = docker.available()
        if why:
            raise LabError(why)
        img = docker.import_tar(
            journal, Path(p["tar"]), str(p["name"]), [str(c) for c in p.get("changes") or []]
        )
        return _result(
            f"imported {p['tar']} as {p['name']}: {img.id[:19]}, {img.size / 1e6:.1f} MB, "
            f"{len(img.layers)} layer",
            img,
        )


# -- the runtime, stage by stage -----------------------------------------------------------


def _container(ctx: Any, name: str) -> runtime.Container:
    for data in getattr(ctx, "op_results", {}).values():
        if isinstance(data, runtime.Container) and data.name in (name, unique(name)):
            return data
    raise LabError(f"no container {name!r} was prepared (an ```op runtime.prepare comes first)")


def _stage_text(s: runtime.Stage) -> str:
    return "\n".join([f"# stage {s.name}: {s.seconds * 1000:.1f} ms", *s.commands])


class _RuntimePrepare:
    """Stage 1: the rootfs under an overlay with the container's own upper dir."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "name": (str, True),
        "rootfs": (str, True),
        "hostname": (str, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        d = f"$SHIKUMI_HOME/containers/{p['name']}"
        return (
            f"mkdir -p {d}/upper {d}/work {d}/merged\n"
            f"mount -t overlay overlay -o lowerdir={p['rootfs']},upperdir={d}/upper,workdir={d}/work {d}/merged"
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        root = require_inside(p["rootfs"], journal.home)
        name = str(p["name"])
        c = runtime.new(journal, name, [root], hostname=str(p.get("hostname") or name))
        s = runtime.prepare_rootfs(journal, c)
        c.name = unique(name)  # the cgroup's name and the process marker from here on
        return _result(_stage_text(s), c)


class _RuntimeCgroup:
    """Stage 2: a cgroup with the limits asked for (v1 or v2, whichever this machine has)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "name": (str, True),
        "memory": ((str, int), False),  # 64M
        "cpu_quota_us": (int, False),  # per 100 ms period
        "cpu_weight": (int, False),
        "cpuset": (str, False),
        "pids_max": (int, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        lines = [f"mkdir …/{cgroups.PARENT}/{p['name']}   # in each hierarchy the limits need"]
        if p.get("memory"):
            lines.append(
                f"echo {parse_bytes(p['memory'])} > memory.max   # v1: memory.limit_in_bytes"
            )
        if p.get("cpu_quota_us"):
            lines.append(
                f"echo '{p['cpu_quota_us']} 100000' > cpu.max   # v1: cpu.cfs_quota_us + cpu.cfs_period_us"
            )
        if p.get("cpu_weight"):
            lines.append(f"echo {p['cpu_weight']} > cpu.weight   # v1: cpu.shares")
        if p.get("cpuset"):
            lines.append(f"echo {p['cpuset']} > cpuset.cpus")
        if p.get("pids_max"):
            lines.append(f"echo {p['pids_max']} > pids.max")
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        c = _container(ctx, str(p["name"]))
        limits = runtime.Limits(
            memory=parse_bytes(p["memory"]) if p.get("memory") else None,
            cpu_quota_us=p.get("cpu_quota_us"),
            cpu_weight=p.get("cpu_weight"),
            cpuset=p.get("cpuset"),
            pids_max=p.get("pids_max"),
        )
        s = runtime.make_cgroup(journal, c, limits)
        return _result(_stage_text(s), c)


class _RuntimeNetwork:
    """Stage 3: a network namespace (`bridge`: with a veth, a bridge and NAT; `none`: only lo)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"name": (str, True), "mode": (str, False)}

    def describe(self, p: dict[str, Any]) -> str:
        mode = p.get("mode") or "none"
        lines = ["ip netns add NETNS", "ip -n NETNS link set lo up"]
        if mode == "bridge":
            lines += [
                "ip link add BRIDGE type bridge; ip addr add GATEWAY/24 dev BRIDGE",
                "ip link add VETH type veth peer name PEER; ip link set VETH master BRIDGE",
                "ip link set PEER netns NETNS; ip -n NETNS link set PEER name eth0",
                "ip -n NETNS addr add ADDRESS/24 dev eth0; ip -n NETNS route add default via GATEWAY",
                "iptables -t nat -A POSTROUTING -s SUBNET -j MASQUERADE",
            ]
        elif mode == "host":
            lines = ["# host: no network namespace at all, the host's interfaces"]
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        c = _container(ctx, str(p["name"]))
        tag = f"r{os.getpid() % 10_000_000}"  # netns names are global: one per lab process
        s = runtime.make_network(journal, c, str(p.get("mode") or "none"), tag=tag)
        return _result(_stage_text(s), c)


class _RuntimeStart:
    """Stage 4: new namespaces, the mounts, pivot_root, exec the command (keeps running)."""

    GIVES_OUT = True  # {{out.STEP}}: the container's pid

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"name": (str, True), "command": (list, True)}

    def describe(self, p: dict[str, Any]) -> str:
        cmd = shlex.join(str(x) for x in p["command"])
        return "\n".join(
            [
                "unshare --mount --uts --ipc --pid --fork --propagation private sh -c '",
                "  echo 0 > …/shikumi/NAME/cgroup.procs   # join the cgroup (each hierarchy)",
                f"  hostname {p['name']}",
                "  mount --bind MERGED MERGED             # pivot_root wants a mount point",
                "  mount -t proc proc MERGED/proc; mount -t tmpfs tmpfs MERGED/dev; mknod …",
                f"  mkdir -p MERGED/{runtime.OLD_ROOT}; cd MERGED",
                f"  pivot_root . {runtime.OLD_ROOT}; cd /; umount -l /{runtime.OLD_ROOT}",
                f"  exec {cmd}'",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        c = _container(ctx, str(p["name"]))
        cmd = [str(x) for x in p["command"]]
        s = runtime.start(journal, c, cmd)
        # on a busy machine the command may take a while to replace the start-up shell
        want, deadline = Path(cmd[0]).name[:15], time.monotonic() + 15
        while procs.comm(c.pid) != want and time.monotonic() < deadline:
            if c.popen is not None and c.popen.poll() is not None:
                raise LabError(f"the container exited (status {c.popen.returncode})")
            time.sleep(0.02)
            c.pid = procs.innermost(c.launcher, wait=0.2, shell_wait=0)
        if procs.comm(c.pid) != want:
            raise LabError(f"the container's {want} did not start within 15 s")
        _set_out(ctx, str(c.pid))
        return _result(_stage_text(s) + f"\n# the container runs as pid {c.pid} (pid 1 inside)", c)


class _RuntimeEscape:
    """The chroot escape, run under chroot and under pivot_root (each undone right after)."""

    GIVES_OUT = True  # {{out.STEP}}: "chroot: ESCAPED…" and "pivot_root: HELD…", a line each

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "rootfs": (str, True),  # must hold perl
        "marker": (str, True),  # a host file outside the rootfs
    }

    def describe(self, p: dict[str, Any]) -> str:
        esc = shlex.join(runtime.escape_argv(str(p["marker"])))
        return (
            "# the same container twice, then inside each:\n"
            f"{esc}\n"
            "# 1) root by `chroot MERGED …`         2) root by `pivot_root` + umount of the old root"
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        if runtime.escape_tool() is None:
            raise LabError("the escape needs perl on the host (Essential on Debian and Ubuntu)")
        root = require_inside(p["rootfs"], journal.home)
        marker = Path(str(p["marker"]))
        if not marker.exists():
            raise LabError(f"{marker} does not exist: the escape looks for it from inside")
        tag = f"esc{os.getpid() % 100000}"
        out = [
            runtime.try_escape(journal, f"{tag}-chroot", [root], "chroot", marker),
            runtime.try_escape(journal, f"{tag}-pivot", [root], "pivot_root", marker),
        ]
        lines = [f"{r.root_mode}: {r.output.strip()}" for r in out]
        _set_out(ctx, "\n".join(lines))
        return _result("\n".join(lines), out)


# -- speed -------------------------------------------------------------------------------


class _Speed:
    """Time a container that runs `true`: by hand (unshare + chroot), and `docker run --rm`."""

    GIVES_OUT = True  # {{out.STEP}}: the medians, as the summary shows them

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "root": (str, True),
        "runs": (int, False),  # default 20
        "docker": (bool, False),  # also `docker run --rm` of the same rootfs
        "docker_runs": (int, False),  # default 5
        "image": (str, False),  # default shikumi-speed-<pid>:rootfs
    }

    def describe(self, p: dict[str, Any]) -> str:
        root = p["root"]
        lines = [
            f"for i in $(seq {p.get('runs') or 20}); do",
            f"    /usr/bin/time -f %e unshare --uts --ipc --pid --net --mount --fork --root {root} --mount-proc /bin/true",
            "done",
        ]
        if p.get("docker"):
            img = p.get("image") or "shikumi-speed-PID:rootfs"
            lines += [
                f"tar -C {root} -cf rootfs.tar . && docker import rootfs.tar {img}",
                f"for i in $(seq {p.get('docker_runs') or 5}); do",
                f"    /usr/bin/time -f %e docker run --rm --network none {img} /bin/true",
                "done",
                f"docker rmi {img}",
            ]
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        root = require_inside(p["root"], journal.home)
        hand = speed.by_hand(root, int(p.get("runs") or 20))
        cmp = speed.Comparison(hand, None)
        lines = [f"by hand: median {hand.median * 1000:.1f} ms over {len(hand.runs)} runs"]
        if p.get("docker"):
            img = str(p.get("image") or f"shikumi-speed-{os.getpid()}:rootfs")
            cmp.docker = speed.docker(root, int(p.get("docker_runs") or 5), tag=img, j=journal)
            lines.append(
                f"docker run --rm: median {cmp.docker.median * 1000:.0f} ms over {len(cmp.docker.runs)} runs"
            )
            if cmp.ratio:
                lines.append(f"docker run is {cmp.ratio:.0f}× slower here")
        _set_out(ctx, "\n".join(lines))
        return _result("\n".join(lines), cmp)


OPS: dict[str, Any] = {
    "cgroup": _Cgroup(),
    "docker-import": _DockerImport(),
    "runtime.prepare": _RuntimePrepare(),
    "runtime.cgroup": _RuntimeCgroup(),
    "runtime.network": _RuntimeNetwork(),
    "runtime.start": _RuntimeStart(),
    "runtime.escape": _RuntimeEscape(),
    "speed": _Speed(),
}
