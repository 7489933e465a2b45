"""What a lesson may have left behind: a snapshot of the lab-named things on the
machine, taken before and after, so ``play`` can report leaks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from lab.ops import journal, mounts, procs

CGROUP_ROOT = Path("/sys/fs/cgroup")
CGROUP_DEPTH = 4


@dataclass(frozen=True)
class Snapshot:
    things: frozenset[str] = field(default_factory=frozenset)


def _names(path: str, prefix: str) -> list[str]:
    try:
        return [n for n in os.listdir(path) if n.startswith(prefix)]
    except OSError:
        return []


def _cgroups() -> list[str]:
    found: list[str] = []
    base = str(CGROUP_ROOT)
    for dirpath, dirnames, _ in os.walk(base):
        depth = dirpath[len(base) :].count("/")
        if depth >= CGROUP_DEPTH:
            dirnames[:] = []
        found += [os.path.join(dirpath, d) for d in dirnames if d.startswith("shikumi")]
    return found


def snapshot(home: Path, session: str) -> Snapshot:
    home_s = str(home)
    things = {f"mount {m.target}" for m in mounts.under(home_s) if m.target != home_s}
    things |= {f"netns {n}" for n in _names("/run/netns", "shk")}
    things |= {f"link {n}" for n in _names("/sys/class/net", "shk")}
    things |= {f"cgroup {c}" for c in _cgroups()}
    things |= {f"process {p}" for p in procs.with_marker(f"shikumi-{session}-", prefix=True)}
    return Snapshot(frozenset(things))


def claimed_by_others(home: Path, session: str) -> set[str]:
    """What other live sessions in this home have journaled (another instance of
    the lab, e.g. an instructor's demo beside a learner's): not this lesson's leak."""
    claimed: set[str] = set()
    for e in journal.pending(home):
        if e.session == session:
            continue
        if e.kind == "mount":
            claimed.add(f"mount {e.target}")
        elif e.kind in ("netns", "link", "cgroup"):
            claimed.add(f"{e.kind} {e.target}")
            if e.kind == "cgroup":  # and the cgroup's parents named shikumi…
                parent = Path(e.target).parent
                while parent.name.startswith("shikumi"):
                    claimed.add(f"cgroup {parent}")
                    parent = parent.parent
    return claimed


def leaked(
    before: Snapshot, after: Snapshot, home: Path | None = None, session: str = ""
) -> list[str]:
    new = after.things - before.things
    if home is not None and new:
        new -= claimed_by_others(home, session)
    return sorted(new)
