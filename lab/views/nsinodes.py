"""``nsinodes``: the namespace inodes of two or three processes side by side
(/proc/PID/ns, slides 37–41); a type whose inode differs from the first column is lit,
and each process's NSpid shows the pid it has in every nested PID namespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

from lab.host import namespaces

PARAMS: dict[str, tuple[Any, bool]] = {
    "pids": (list, True),  # ["self", "host", "box"]: a number, self, host or a spawned name
    "labels": (list, False),  # column titles, default the specs
    "labels_ja": (list, False),  # the column titles in Japanese (default: labels)
    "types": (list, False),  # namespace types to show (default: all the kernel has)
    "title": (str, False),
    "title_ja": (str, False),
}


@dataclass
class NsColumn:
    label: str
    pid: int
    inodes: dict[str, int]
    nspid: list[int]
    label_ja: str = ""


@dataclass
class NsData:
    title: str
    types: list[str]
    columns: list[NsColumn] = field(default_factory=list)
    title_ja: str = ""

    def differs(self, col: int, ns_type: str) -> bool:
        first = self.columns[0].inodes.get(ns_type)
        return col > 0 and self.columns[col].inodes.get(ns_type) != first

    @property
    def differing_types(self) -> list[str]:
        return [t for t in self.types if any(self.differs(i, t) for i in range(len(self.columns)))]


def collect(ctx: Any, **p: Any) -> NsData:
    specs = [str(s) for s in p["pids"]]
    if not 1 <= len(specs) <= 3:
        raise ValueError("nsinodes shows one to three processes")
    labels = [str(x) for x in (p.get("labels") or specs)]
    labels = labels + specs[len(labels) :]
    labels_ja = [str(x) for x in p.get("labels_ja") or []]
    cols = []
    for i, (spec, label) in enumerate(zip(specs, labels, strict=False)):
        pid = ctx.pid(spec)
        ns = namespaces.of(pid)
        ja = labels_ja[i] if i < len(labels_ja) and labels_ja[i] else ""
        cols.append(NsColumn(label, pid, ns.inodes, namespaces.nspid(pid), ja))
    types = [str(t) for t in p.get("types") or sorted(cols[0].inodes)]
    return NsData(str(p.get("title", "")), types, cols, str(p.get("title_ja", "")))


def render(data: NsData, lang: str = "en") -> Table:
    ja = lang == "ja"
    t = Table(
        title=((data.title_ja or data.title) if ja else data.title)
        or ("名前空間の inode" if ja else "namespace inodes"),
        title_justify="left",
        caption=(
            "色付き：左端の列と違う名前空間"
            if ja
            else "lit: a namespace not shared with the first column"
        )
        if data.differing_types
        else None,
        caption_justify="left",
    )
    t.add_column("種類" if ja else "type", style="bold", no_wrap=True)
    for c in data.columns:
        # the inode alone: the type is in the first column, and a 10-digit number must never
        # be cut short (it is what the learner compares)
        label = (c.label_ja or c.label) if ja else c.label
        t.add_column(f"{label}\npid {c.pid}", justify="right", min_width=10, overflow="fold")
    for ns_type in data.types:
        row: list[Text | str] = [ns_type]
        for i, c in enumerate(data.columns):
            value = c.inodes.get(ns_type)
            cell = Text(str(value) if value else "—", no_wrap=True)
            if data.differs(i, ns_type):
                cell.stylize("bold black on yellow")
            row.append(cell)
        t.add_row(*row)
    t.add_row("NSpid", *[" → ".join(str(x) for x in c.nspid) for c in data.columns], style="dim")
    return t
