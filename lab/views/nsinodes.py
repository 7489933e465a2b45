"""``nsinodes``: the namespace inodes of two or three processes side by side
(/proc/PID/ns, slides 37–41); a type whose inode differs from the first column is lit,
and each process's NSpid shows the pid it has in every nested PID namespace."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

from lab.ops import namespaces

PARAMS: dict[str, tuple[Any, bool]] = {
    "pids": (list, True),  # ["self", "host", "box"]: a number, self, host or a spawned name
    "labels": (list, False),  # column titles, default the specs
    "types": (list, False),  # namespace types to show (default: all the kernel has)
    "title": (str, False),
}


@dataclass
class NsColumn:
    label: str
    pid: int
    inodes: dict[str, int]
    nspid: list[int]


@dataclass
class NsData:
    title: str
    types: list[str]
    columns: list[NsColumn] = field(default_factory=list)

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
    cols = []
    for spec, label in zip(specs, labels + specs[len(labels) :], strict=False):
        pid = ctx.pid(spec)
        ns = namespaces.of(pid)
        cols.append(NsColumn(label, pid, ns.inodes, namespaces.nspid(pid)))
    types = [str(t) for t in p.get("types") or sorted(cols[0].inodes)]
    return NsData(str(p.get("title", "")), types, cols)


def render(data: NsData, lang: str = "en") -> Table:
    ja = lang == "ja"
    t = Table(
        title=data.title or ("名前空間の inode" if ja else "namespace inodes"), title_justify="left"
    )
    t.add_column("種類" if ja else "type", style="bold")
    for c in data.columns:
        t.add_column(f"{c.label}\npid {c.pid}", justify="right")
    for ns_type in data.types:
        row: list[Text | str] = [ns_type]
        for i, c in enumerate(data.columns):
            value = c.inodes.get(ns_type)
            cell = Text(f"{ns_type}:[{value}]" if value else "—")
            if data.differs(i, ns_type):
                cell.stylize("bold black on yellow")
            row.append(cell)
        t.add_row(*row)
    t.add_row("NSpid", *[" → ".join(str(x) for x in c.nspid) for c in data.columns], style="dim")
    return t
