"""What the journal holds and what undoing it reports: the kinds of resource, one
entry, one undo result, a cleanup's report. Plain data, imported by the journal
and by the undo handlers alike (so neither imports the other for its types)."""

from __future__ import annotations

from dataclasses import dataclass, field

KINDS = (
    "dir",
    "mount",
    "netns",
    "link",
    "iptables",
    "cgroup",
    "process",
    "sysctl",
    "cgcontrol",
    "docker-container",
    "docker-image",
    "docker-network",
    "runc-container",
    "user",
    "registry",
)


@dataclass
class Entry:
    seq: int
    kind: str
    target: str
    meta: dict = field(default_factory=dict)
    session: str = ""


@dataclass
class UndoResult:
    entry: Entry
    ok: bool
    action: str  # what was done ("unmounted /x", "nothing to do", "refused: …")
    refused: bool = False


@dataclass
class Report:
    """What a cleanup did."""

    results: list[UndoResult] = field(default_factory=list)
    sessions: list[str] = field(default_factory=list)  # dead sessions undone
    live: list[dict] = field(default_factory=list)  # sessions still running, left alone
    warnings: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(r.ok for r in self.results)

    def to_json(self) -> dict:
        return {
            "ok": self.ok,
            "sessions": self.sessions,
            "live": self.live,
            "undone": [
                {
                    "kind": r.entry.kind,
                    "target": r.entry.target,
                    "ok": r.ok,
                    "refused": r.refused,
                    "action": r.action,
                }
                for r in self.results
            ],
            "warnings": self.warnings,
        }


def undo_order(entries: list[Entry]) -> list[Entry]:
    """*entries* (oldest first) in the order they are undone: newest first, but every
    Docker container ahead of the rest. `docker rmi -f` of an image a container still
    uses (or a parent of a commit) only untags it and leaves it dangling, so a
    learner's containers, noted before the image they commit and run, go first."""
    return sorted(reversed(entries), key=lambda e: e.kind != "docker-container")
