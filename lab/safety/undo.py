"""How each kind of journal entry is checked and undone.

Every handler is idempotent (a resource that is already gone is fine) and
refuses anything that is not the lab's own: directories and mounts outside the
home, links and namespaces without the lab's prefix, iptables rules without the
lab's comment, cgroups outside the cgroup tree or without the lab's name.
"""

from __future__ import annotations

import contextlib
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

from lab.host import mounts
from lab.safety import procs, undo_docker, undo_registry, undo_runc, undo_user
from lab.safety.entry import Entry, UndoResult
from lab.safety.home import is_inside
from lab.safety.remove import safe_rmtree

NAME_PREFIX = "shk"  # netns, veth and bridge names start with this
RULE_COMMENT = "shikumi"  # iptables rules carry `-m comment --comment shikumi…`
CGROUP_ROOT = "/sys/fs/cgroup"
_NAME_RE = re.compile(r"^shk[A-Za-z0-9_.-]{0,60}$")
_LINK_RE = re.compile(r"^shk[A-Za-z0-9_.-]{0,12}$")  # IFNAMSIZ is 16 with the NUL
_DOCKER_RE = re.compile(
    r"^shikumi[A-Za-z0-9_.:/-]{0,120}$"
)  # docker-container / docker-image / docker-network names
# sysctls the lab may change (and restores): forwarding, and settings of its own links
_SYSCTL_RE = re.compile(r"^net\.ipv4\.(ip_forward|conf\.shk[A-Za-z0-9_-]{0,12}\.[a-z_]+)$")


def validate(entry: Entry, home: Path) -> str:
    """Why this entry is not the lab's to create or undo ("" if it is)."""
    k, t = entry.kind, entry.target
    if k in ("dir", "mount"):
        if not is_inside(t, home):
            return f"{t} is outside the lab home {home}"
    elif k == "netns":
        if not _NAME_RE.match(t):
            return f"network namespace names must start with {NAME_PREFIX!r} (got {t!r})"
    elif k == "link":
        if not _LINK_RE.match(t):
            return f"link names must start with {NAME_PREFIX!r} and be at most 15 characters (got {t!r})"
    elif k == "iptables":
        spec = entry.meta.get("rule")
        if not isinstance(spec, list) or not all(isinstance(a, str) for a in spec):
            return "an iptables entry needs its rule as a list of arguments"
        try:
            comment = spec[spec.index("--comment") + 1]
        except (ValueError, IndexError):
            comment = ""
        if not comment.startswith(RULE_COMMENT):
            return f"iptables rules must carry the comment {RULE_COMMENT!r}"
        if entry.meta.get("table", "filter") not in ("filter", "nat", "mangle", "raw"):
            return "unknown iptables table"
    elif k == "cgroup":
        real = os.path.abspath(t)
        if not real.startswith(CGROUP_ROOT + "/") or ".." in Path(t).parts:
            return f"{t} is not under {CGROUP_ROOT}"
        if not any(
            part.startswith("shikumi") for part in Path(real).relative_to(CGROUP_ROOT).parts
        ):
            return "lab cgroups must have a path component starting with 'shikumi'"
    elif k == "sysctl":
        if not _SYSCTL_RE.match(t):
            return (
                f"the lab changes only net.ipv4.ip_forward and its own links' settings (got {t!r})"
            )
        if not isinstance(entry.meta.get("old"), str):
            return "a sysctl entry needs the old value to restore"
    elif k == "cgcontrol":
        if not (t.startswith(CGROUP_ROOT + "/") or t == CGROUP_ROOT) or ".." in Path(t).parts:
            return f"{t} is not under {CGROUP_ROOT}"
        if Path(t).name != "cgroup.subtree_control":
            return "a cgcontrol entry names a cgroup.subtree_control file"
        if not re.match(r"^[a-z_]{1,32}$", str(entry.meta.get("controller", ""))):
            return "a cgcontrol entry needs its controller's name"
    elif k in ("docker-container", "docker-image", "docker-network"):
        if not _DOCKER_RE.match(t):
            return (
                f"the lab's Docker containers, images and networks are named shikumi… (got {t!r})"
            )
    elif k == "runc-container":
        return undo_runc.validate(entry, home)
    elif k == "user":
        return undo_user.validate(entry, home)
    elif k == "registry":
        return undo_registry.validate(entry, home)
    elif k == "process":
        marker = entry.meta.get("marker", "")
        if not isinstance(marker, str) or not marker.startswith("shikumi-"):
            return "a process entry needs its shikumi-… marker"
    return ""


# -- handlers ------------------------------------------------------------------------


def _undo_process(e: Entry, home: Path) -> str:
    pid, start = e.meta.get("pid"), e.meta.get("start")
    inner, inner_start = e.meta.get("inner"), e.meta.get("inner_start")
    if (
        e.meta.get("pidns")
        and isinstance(inner, int)
        and not procs.alive(inner, inner_start)
        and not (isinstance(pid, int) and procs.alive(pid, start))
    ):
        # PID 1 of its own PID namespace is gone, and the kernel killed every process
        # inside with it; the launcher is gone too: nothing can be left to find
        return "no process left"
    pids = set(procs.with_marker(e.meta["marker"]))
    if isinstance(pid, int) and procs.alive(pid, start):
        pids.add(pid)
    killed: list[int] = []
    for _ in range(20):  # a process may fork between the scan and the kill: scan again
        if not pids:
            break
        killed += procs.kill_all(sorted(pids))
        pids = set(procs.with_marker(e.meta["marker"]))
    left = [p for p in killed if procs.alive(p)] + sorted(pids)
    if left:
        raise RuntimeError(f"processes {left} did not die")
    return f"killed {len(killed)} process(es)" if killed else "no process left"


def _undo_mount(e: Entry, home: Path) -> str:
    done = mounts.unmount_tree(e.target)
    return f"unmounted {len(done)}" if done else "not mounted"


def _undo_netns(e: Entry, home: Path) -> str:
    path = f"/run/netns/{e.target}"
    if not os.path.exists(path):
        return "no such namespace"
    if shutil.which("ip"):
        r = subprocess.run(
            ["ip", "netns", "delete", e.target], capture_output=True, text=True, timeout=10
        )
        if r.returncode == 0:
            return "deleted"
    # what `ip netns delete` does, by hand
    mounts.unmount_tree(path)
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)
    return "deleted"


def _undo_link(e: Entry, home: Path) -> str:
    if not os.path.exists(f"/sys/class/net/{e.target}"):
        return "no such link"
    r = subprocess.run(
        ["ip", "link", "delete", e.target], capture_output=True, text=True, timeout=10
    )
    if r.returncode != 0 and os.path.exists(f"/sys/class/net/{e.target}"):
        raise RuntimeError(r.stderr.strip() or "ip link delete failed")
    return "deleted"


def _undo_iptables(e: Entry, home: Path) -> str:
    table, chain, spec = e.meta.get("table", "filter"), e.meta.get("chain", ""), e.meta["rule"]
    if not shutil.which("iptables"):
        return "iptables not installed: no rule to remove"
    n = 0
    for _ in range(100):  # the same rule may have been added more than once
        r = subprocess.run(
            ["iptables", "-w", "5", "-t", table, "-D", chain, *spec],
            capture_output=True,
            timeout=15,
        )
        if r.returncode != 0:
            break
        n += 1
    if e.meta.get("by_comment"):  # also any rule of the chain carrying the same lab comment
        comment = spec[spec.index("--comment") + 1]  # validate() made sure it is there
        listed = subprocess.run(
            ["iptables", "-w", "5", "-t", table, "-S", chain],
            capture_output=True,
            text=True,
            timeout=15,
        )
        for line in listed.stdout.splitlines():
            args = shlex.split(line)
            if args[:2] != ["-A", chain] or "--comment" not in args:
                continue
            if args[args.index("--comment") + 1] == comment:
                r = subprocess.run(
                    ["iptables", "-w", "5", "-t", table, "-D", *args[1:]],
                    capture_output=True,
                    timeout=15,
                )
                n += r.returncode == 0
    return f"removed {n} rule(s)" if n else "no such rule"


def _cgroup_pids(path: str) -> list[int]:
    try:
        with open(os.path.join(path, "cgroup.procs")) as f:
            return [int(x) for x in f.read().split()]
    except (OSError, ValueError):
        return []


def _undo_cgroup(e: Entry, home: Path) -> str:
    if not os.path.isdir(e.target):
        return "no such cgroup"
    # children first
    dirs = [d for d, _, _ in os.walk(e.target)]
    for d in sorted(dirs, key=lambda p: p.count("/"), reverse=True):
        kill = os.path.join(d, "cgroup.kill")  # cgroup v2 ≥ 5.14: kill everything at once
        if os.path.exists(kill):
            with contextlib.suppress(OSError), open(kill, "w") as f:
                f.write("1")
        procs.kill_all(_cgroup_pids(d))
        deadline = time.monotonic() + 3
        while True:
            try:
                os.rmdir(d)
                break
            except FileNotFoundError:
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                procs.kill_all(_cgroup_pids(d))
                time.sleep(0.02)
    if e.meta.get("prune_parent"):  # the shared shikumi/ parent, once its last child is gone
        parent = os.path.dirname(os.path.abspath(e.target))
        if os.path.basename(parent).startswith("shikumi"):
            with contextlib.suppress(OSError):
                os.rmdir(parent)
    return "removed"


def sysctl_path(key: str) -> str:
    return "/proc/sys/" + key.replace(".", "/")


def _undo_sysctl(e: Entry, home: Path) -> str:
    path = sysctl_path(e.target)
    try:
        with open(path) as f:
            now = f.read().strip()
    except FileNotFoundError:
        return "gone with its link"
    old, value = e.meta["old"], e.meta.get("value")
    if now == old:
        return f"already {old}"
    if value is not None and now != str(value):
        return f"changed by someone else since (now {now}); left alone"
    with open(path, "w") as f:
        f.write(old)
    return f"restored {old}"


def _undo_cgcontrol(e: Entry, home: Path) -> str:
    c = e.meta["controller"]
    try:
        with open(e.target) as f:
            if c not in f.read().split():
                return "not enabled"
        with open(e.target, "w") as f:
            f.write(f"-{c}")
    except FileNotFoundError:
        return "no such cgroup"
    except OSError as ex:  # EBUSY: another cgroup below still uses it
        return f"left {c} enabled: {os.strerror(ex.errno or 0)}"
    return f"disabled {c} again"


def _undo_dir(e: Entry, home: Path) -> str:
    if not os.path.lexists(e.target):
        return "already gone"
    mounts.unmount_tree(e.target)
    left = mounts.under(e.target)
    if left:
        raise RuntimeError(f"{left[0].target} is still mounted; not removing {e.target}")
    n = safe_rmtree(e.target, home)
    return f"removed ({n} entries)"


HANDLERS: dict[str, Callable[[Entry, Path], str]] = {
    "process": _undo_process,
    "mount": _undo_mount,
    "netns": _undo_netns,
    "link": _undo_link,
    "iptables": _undo_iptables,
    "cgroup": _undo_cgroup,
    "dir": _undo_dir,
    "sysctl": _undo_sysctl,
    "cgcontrol": _undo_cgcontrol,
    "docker-container": undo_docker.undo,
    "docker-image": undo_docker.undo,
    "docker-network": undo_docker.undo,
    "runc-container": undo_runc.undo,
    "user": undo_user.undo,
    "registry": undo_registry.undo,
}


def undo_entry(entry: Entry, home: Path) -> UndoResult:
    problem = validate(entry, home)
    if problem:
        return UndoResult(entry, ok=False, action=f"refused: {problem}", refused=True)
    try:
        return UndoResult(entry, ok=True, action=HANDLERS[entry.kind](entry, home))
    except Exception as ex:  # one stuck resource must not stop the others
        return UndoResult(entry, ok=False, action=f"failed: {ex}")
