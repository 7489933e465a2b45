"""A snapshot of the kernel state a step is about, seen from one process's context.

``take(scope)`` reads, for the process ``scope.pid`` (whose namespaces count):
its mount table (/proc/PID/mountinfo) and the spawned containers' (lab/host/nsview.py),
the hostname it sees, the namespaces of it and of the processes
under ``scope.roots``, the named network namespaces, links/addresses/routes of its
network namespace (one bounded ``ip -j -batch -``, entered with ``nsenter -n`` when
it is not the lab's own), the nat and filter rules (one bounded ``iptables-save``),
cgroups named ``shikumi*`` and Docker's containers' with their limits (lab/host/cgroupview.py),
Docker's images and containers when the scope names its socket (lab/host/dockerview.py), the processes under ``scope.roots``,
and the files under ``scope.dirs`` (bounded depth and count, never crossing a mount
or following a symlink). Each kind is a frozenset of plain lines; ``diff`` (in
lab/ops/changes.py) compares two snapshots. Reads only.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from collections import Counter
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from lab.host import proc_run
from lab.host.cgroupview import read_cgroups
from lab.host.dockerview import read_docker
from lab.host.mounts import unescape
from lab.host.nsview import mounts_seen, read_namespaces

KINDS = (
    "mounts",
    "namespaces",
    "links",
    "addresses",
    "routes",
    "iptables",
    "cgroups",
    "processes",
    "files",
    "docker",
)
CMD_TIMEOUT = 2.0  # ip / iptables-save: bounded, their group killed past it
MAX_DEPTH = 4  # files: levels below each directory
MAX_FILES = 2000  # files: entries per directory given
_POOL = ThreadPoolExecutor(max_workers=2, thread_name_prefix="snapshot")


@dataclass(frozen=True)
class Scope:
    """Where to look: the process whose namespaces count, the processes whose trees
    count (the learner's shell, the spawned containers), the directories whose files
    count (the work dir, a container's root, an overlay's upper)."""

    pid: int
    roots: tuple[int, ...] = ()
    dirs: tuple[str, ...] = ()
    kinds: tuple[str, ...] = KINDS
    ignore: tuple[str, ...] = (".try-", ".spawn-")  # file names the lab keeps for itself
    # (path to walk, how to show it): a container's own mounts, walked through
    # /proc/PID/root and shown as ``NAME:/tmp`` (lab/host/nsview.py inner_mounts)
    inside: tuple[tuple[str, str], ...] = ()
    docker: str = ""  # the daemon's unix socket, for a lesson that uses Docker ("": not read)


@dataclass
class Snapshot:
    kinds: dict[str, frozenset[str]] = field(default_factory=dict)
    seconds: float = 0.0
    errors: dict[str, str] = field(default_factory=dict)  # kind -> why it could not be read

    def get(self, kind: str) -> frozenset[str]:
        return self.kinds.get(kind, frozenset())


def stat_all() -> dict[int, tuple[int, str]]:
    """pid -> (ppid, comm) of every process now."""
    out: dict[int, tuple[int, str]] = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat", "rb") as f:
                raw = f.read().decode("utf-8", "replace")
        except OSError:
            continue
        lp, rp = raw.find("("), raw.rfind(")")
        rest = raw[rp + 2 :].split()
        if lp < 0 or rp < 0 or len(rest) < 2:
            continue
        out[int(name)] = (int(rest[1]), raw[lp + 1 : rp])
    return out


def tree_of(roots: Iterable[int], table: dict[int, tuple[int, str]] | None = None) -> list[int]:
    """The pids of *roots* and all their descendants (alive now)."""
    table = stat_all() if table is None else table
    children: dict[int, list[int]] = {}
    for p, (pp, _c) in table.items():
        children.setdefault(pp, []).append(p)
    seen: list[int] = []
    todo = [r for r in roots if r in table]
    while todo:
        p = todo.pop()
        if p in seen:
            continue
        seen.append(p)
        todo.extend(children.get(p, ()))
    return seen


def _cmdline(pid: int, comm: str) -> str:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            args = f.read(512).split(b"\0")
    except OSError:
        return comm
    text = " ".join(a.decode("utf-8", "replace") for a in args if a)
    return (text[:80] + "…" if len(text) > 80 else text) or f"[{comm}]"


def read_processes(tree: list[int], table: dict[int, tuple[int, str]]) -> frozenset[str]:
    """Each command line running in *tree* (``… (×N)`` when N run it): no pids, so a
    loop's `sleep 1` replaced by the next one is no change."""
    counts = Counter(_cmdline(p, table[p][1]) for p in tree if p in table)
    return frozenset(t if n == 1 else f"{t} (×{n})" for t, n in counts.items())


def read_files(dirs: Iterable[str], ignore: tuple[str, ...] = ()) -> frozenset[str]:
    """``PATH/`` for directories, ``PATH -> TARGET`` for symlinks, ``PATH (N B)`` for
    other files, under each of *dirs*: bounded, no symlink followed, no mount crossed."""
    out: set[str] = set()
    for top in dirs:
        try:
            dev = os.lstat(top).st_dev
        except OSError:
            continue
        count = 0
        todo = [(top, 0)]
        while todo and count < MAX_FILES:
            path, depth = todo.pop()
            try:
                entries = sorted(os.scandir(path), key=lambda e: e.name)
            except OSError:
                continue
            for e in entries:
                if ignore and e.name.startswith(ignore):
                    continue
                count += 1
                if count > MAX_FILES:
                    out.add(f"{top}/… (more than {MAX_FILES} entries)")
                    break
                try:
                    st = e.stat(follow_symlinks=False)
                except OSError:
                    continue
                if e.is_symlink():
                    try:
                        out.add(f"{e.path} -> {os.readlink(e.path)}")
                    except OSError:
                        out.add(f"{e.path} -> ?")
                elif e.is_dir(follow_symlinks=False):
                    out.add(f"{e.path}/")
                    if depth + 1 < MAX_DEPTH and st.st_dev == dev:
                        todo.append((e.path, depth + 1))
                else:
                    out.add(f"{e.path} ({st.st_size} B)")
    return frozenset(out)


def read_inside(scope: Scope) -> frozenset[str]:
    """The files of ``scope.inside``, each path shown as its mount is named."""
    out = set()
    for real, shown in scope.inside:
        for line in read_files([real], scope.ignore):
            out.add(shown + line[len(real) :] if line.startswith(real) else line)
    return frozenset(out)


def lab_netns(limit: int = 8) -> list[str]:
    """Named network namespaces of the lab's kind (``shk…``), a few at most."""
    try:
        return sorted(n for n in os.listdir("/run/netns") if n.startswith("shk"))[:limit]
    except OSError:
        return []


def _netns_argv(pid: int, argv: list[str]) -> list[str]:
    try:
        mine = os.readlink("/proc/self/ns/net") == os.readlink(f"/proc/{pid}/ns/net")
    except OSError:
        mine = True
    return argv if mine else ["nsenter", "-t", str(pid), "-n", *argv]


def _json_values(text: str) -> list:
    dec, i, out = json.JSONDecoder(), 0, []
    while True:
        while i < len(text) and text[i].isspace():
            i += 1
        if i >= len(text):
            return out
        value, i = dec.raw_decode(text, i)
        out.append(value)


def read_net(pid: int, netns: str = "") -> tuple[frozenset[str], frozenset[str], frozenset[str]]:
    """(links, addresses, routes) of *pid*'s network namespace, or of the named one
    *netns* (its lines start with ``NAME:``)."""
    argv = ["ip", "-n", netns, "-j", "-batch", "-"] if netns else ["ip", "-j", "-batch", "-"]
    r = proc_run.run(
        argv if netns else _netns_argv(pid, argv),
        input=b"link show\naddr show\nroute show\n",
        capture_output=True,
        timeout=CMD_TIMEOUT,
    )
    if r.returncode != 0:
        raise OSError(r.stderr.decode(errors="replace").strip() or f"ip exited {r.returncode}")
    values = _json_values(r.stdout.decode(errors="replace"))
    links_j, addrs_j, routes_j = ([*values, [], [], []])[:3]
    links = set()
    for ln in links_j:
        up = "UP" if "UP" in ln.get("flags", []) else "DOWN"
        master = f" master {ln['master']}" if ln.get("master") else ""
        links.add(f"{ln.get('ifname')} {ln.get('link_type', '')} {up}{master}".rstrip())
    addrs = {
        f"{a.get('ifname')} {i.get('local')}/{i.get('prefixlen')}"
        for a in addrs_j
        for i in a.get("addr_info", [])
    }
    routes = set()
    for rt in routes_j:
        via = f" via {rt['gateway']}" if rt.get("gateway") else ""
        routes.add(f"{rt.get('dst')}{via} dev {rt.get('dev')}")
    if netns:
        return tuple(frozenset(f"{netns}: {x}" for x in kind) for kind in (links, addrs, routes))  # type: ignore[return-value]
    return frozenset(links), frozenset(addrs), frozenset(routes)


def read_iptables(pid: int) -> frozenset[str]:
    """The chains and rules of the nat and filter tables (``TABLE RULE``)."""
    if not shutil.which("iptables-save"):
        raise OSError("iptables-save is not installed")
    r = proc_run.run(_netns_argv(pid, ["iptables-save"]), capture_output=True, timeout=CMD_TIMEOUT)
    out, table = set(), ""
    for line in r.stdout.decode(errors="replace").splitlines():
        if line.startswith("*"):
            table = line[1:].strip()
        elif table not in ("nat", "filter"):
            continue
        elif line.startswith("-A "):
            out.add(f"{table} {line}")
        elif line.startswith(":"):
            out.add(f"{table} -N {line[1:].split()[0]}")
    return frozenset(out)


def take(scope: Scope) -> Snapshot:
    """A snapshot of *scope* now; a kind that cannot be read is left out, its reason
    in ``errors`` (the others still count)."""
    t0 = time.perf_counter()
    snap = Snapshot()
    kinds = set(scope.kinds)
    futures = {}
    if kinds & {"links", "addresses", "routes"}:
        futures["net"] = _POOL.submit(read_net, scope.pid)
        for name in lab_netns():  # the lab's and the learner's `ip netns add shk-…`
            futures[f"net:{name}"] = _POOL.submit(read_net, scope.pid, name)
    if "iptables" in kinds:
        futures["iptables"] = _POOL.submit(read_iptables, scope.pid)
    table = stat_all() if kinds & {"processes", "namespaces"} else {}
    tree = tree_of(scope.roots, table) if table else []
    readers = {
        "mounts": lambda: mounts_seen(scope.pid, scope.roots),
        "namespaces": lambda: read_namespaces(scope.pid, tree),
        "cgroups": read_cgroups,
        "processes": lambda: read_processes(tree, table),
        "files": lambda: read_files(scope.dirs, scope.ignore) | read_inside(scope),
        "docker": lambda: read_docker(scope.docker),
    }
    if not scope.docker:
        kinds.discard("docker")
    for kind, read in readers.items():
        if kind in kinds:
            try:
                snap.kinds[kind] = read()
            except OSError as e:
                snap.errors[kind] = str(e.strerror or e)
    for key, fut in futures.items():
        try:
            value = fut.result(timeout=CMD_TIMEOUT + proc_run.DRAIN + proc_run.REAP + 1)
        except (OSError, subprocess.SubprocessError, ValueError, TimeoutError) as e:
            if key.startswith("net:"):  # a named netns gone meanwhile: its lines go
                continue
            for kind in ("links", "addresses", "routes") if key == "net" else (key,):
                snap.errors[kind] = str(e)
            continue
        if key.startswith("net"):
            for kind, lines in zip(("links", "addresses", "routes"), value, strict=True):
                if kind in kinds:
                    snap.kinds[kind] = snap.kinds.get(kind, frozenset()) | lines
        else:
            snap.kinds[key] = value
    snap.seconds = time.perf_counter() - t0
    return snap


def overlay_uppers(pid: int, under: str = "") -> list[str]:
    """The upper directories of the overlay mounts *pid* sees (mounted under *under*)."""
    out = []
    try:
        with open(f"/proc/{pid}/mountinfo", encoding="utf-8", errors="replace") as f:
            text = f.read()
    except OSError:
        return []
    for line in text.splitlines():
        left, _, right = line.partition(" - ")
        fields, rest = left.split(), right.split()
        if len(fields) < 5 or len(rest) < 3 or rest[0] != "overlay":
            continue
        if under and not unescape(fields[4]).startswith(under):
            continue
        for opt in rest[2].split(","):
            if opt.startswith("upperdir="):
                out.append(unescape(opt[len("upperdir=") :]))
    return out
