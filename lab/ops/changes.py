"""What changed in the kernel between two snapshots (lab/host/snapshot.py): plain
``+``/``-`` lines grouped by kind, as the app's "What changed" panel and
``play --json`` show them. Reads only.
"""

from __future__ import annotations

from dataclasses import dataclass

from lab.host.snapshot import KINDS, Scope, Snapshot, take

__all__ = ["Change", "Scope", "Snapshot", "diff", "lines", "take", "to_json"]

LIMIT = 200  # changes kept per diff (a `cp -r` of a tree is summarised past it)


@dataclass(frozen=True)
class Change:
    kind: str  # one of snapshot.KINDS
    sign: str  # "+" or "-"
    text: str

    def __str__(self) -> str:
        return f"{self.sign} {self.kind}: {self.text}"


def diff(a: Snapshot, b: Snapshot, limit: int = LIMIT) -> list[Change]:
    """The changes from *a* to *b*, grouped by kind (in KINDS order), removals
    first in each kind, then additions, each sorted. A kind read in only one of
    the two snapshots is not compared (an error is not a change)."""
    out: list[Change] = []
    for kind in KINDS:
        if kind not in a.kinds or kind not in b.kinds:
            continue
        before, after = a.kinds[kind], b.kinds[kind]
        out.extend(Change(kind, "-", t) for t in sorted(before - after))
        out.extend(Change(kind, "+", t) for t in sorted(after - before))
    if len(out) > limit:
        rest = len(out) - limit
        out = [*out[:limit], Change("files", "+", f"… and {rest} more changes")]
    return out


def lines(changes: list[Change]) -> list[str]:
    """``+ kind: text`` lines."""
    return [str(c) for c in changes]


def to_json(changes: list[Change]) -> list[dict[str, str]]:
    return [{"kind": c.kind, "sign": c.sign, "text": c.text} for c in changes]
