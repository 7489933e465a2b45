"""Creating resources through the journal: record first, then create.

Every later operation creates mounts, namespaces, links, rules, cgroups,
processes and directories through these functions (or, for something new,
``journal.record()`` followed by the creation), so ``shikumi cleanup`` can
always undo them.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from pathlib import Path

from lab.host import libc
from lab.safety import procs
from lab.safety.journal import Entry, Journal
from lab.safety.undo import RULE_COMMENT


def make_dir(
    j: Journal, path: str | os.PathLike[str], mode: int = 0o755
) -> tuple[Path, Entry | None]:
    """Create a directory under the home. Returns (path, entry); entry is None if it existed."""
    p = Path(os.path.abspath(path))
    if p.is_dir():
        return p, None
    # record the top-most directory that does not exist yet: undoing it removes all
    top = p
    while not top.parent.exists():
        top = top.parent
    entry = j.record("dir", str(top))
    p.mkdir(parents=True, mode=mode)
    return p, entry


def mount(
    j: Journal,
    source: str,
    target: str | os.PathLike[str],
    fstype: str | None = None,
    flags: int = 0,
    data: str | None = None,
) -> Entry:
    """mount(2) at *target* (inside the home)."""
    entry = j.record("mount", str(target), source=source, fstype=fstype, data=data)
    libc.mount(source, str(target), fstype, flags, data)
    return entry


def overlay(j: Journal, lowers: Sequence[str], upper: str, work: str, merged: str) -> Entry:
    data = f"lowerdir={':'.join(lowers)},upperdir={upper},workdir={work}"
    return mount(j, "overlay", merged, "overlay", 0, data)


def netns_add(j: Journal, name: str) -> Entry:
    entry = j.record("netns", name)
    _run(["ip", "netns", "add", name])
    return entry


def link_add(j: Journal, name: str, args: Sequence[str]) -> Entry:
    """`ip link add NAME ARGS…` (veth pairs: record the peer too if it stays in the host)."""
    entry = j.record("link", name)
    _run(["ip", "link", "add", name, *args])
    return entry


def iptables_add(j: Journal, table: str, chain: str, rule: Sequence[str], tag: str = "") -> Entry:
    """Append a rule carrying the lab's comment, so cleanup can find and check it."""
    spec = [
        *rule,
        "-m",
        "comment",
        "--comment",
        f"{RULE_COMMENT}:{j.session}{':' + tag if tag else ''}",
    ]
    entry = j.record("iptables", f"{table}/{chain}", table=table, chain=chain, rule=spec)
    _run(["iptables", "-w", "5", "-t", table, "-A", chain, *spec])
    return entry


def cgroup_create(j: Journal, path: str | os.PathLike[str]) -> Entry:
    entry = j.record("cgroup", str(path))
    os.makedirs(path, exist_ok=True)
    return entry


def spawn(
    j: Journal,
    argv: Sequence[str],
    name: str,
    env: dict[str, str] | None = None,
    entry: Entry | None = None,
    **popen: object,
) -> tuple[subprocess.Popen, Entry]:
    """Start a long-running process in its own session, marked so cleanup finds it
    (and every descendant that keeps the environment) even after a crash. *entry*:
    one already recorded with its own ``marker`` (a ``registry``), instead of a
    new ``process`` entry."""
    if entry is None:
        entry = j.record("process", name)  # its marker, shikumi-SESSION-SEQ, is its own
    environ = dict(os.environ if env is None else env)
    environ[procs.MARK_VAR] = entry.meta["marker"]
    p = subprocess.Popen(list(argv), env=environ, start_new_session=True, **popen)  # type: ignore[call-overload]
    j.update(entry, pid=p.pid, start=procs.starttime(p.pid))
    return p, entry


def _run(argv: Sequence[str]) -> None:
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if r.returncode != 0:
        raise OSError(r.returncode, f"{' '.join(argv)}: {r.stderr.strip() or 'failed'}")
