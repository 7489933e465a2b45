"""``compare``: two or three labelled columns of command outputs side by side
(host | container); lines found in only one column are lit."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

PARAMS: dict[str, tuple[Any, bool]] = {
    "columns": (list, True),  # [{label, label_ja?, command, in?}] — 2 or 3 of them
    "title": (str, False),
    "title_ja": (str, False),
}


@dataclass
class Column:
    label: str
    command: str
    text: str
    exit: int | None = 0
    unique: set[str] = field(default_factory=set)  # lines no other column has
    label_ja: str = ""


@dataclass
class CompareData:
    title: str
    columns: list[Column]
    title_ja: str = ""


def collect(ctx: Any, **p: Any) -> CompareData:
    specs = p["columns"]
    if not 2 <= len(specs) <= 3 or not all(isinstance(s, dict) and s.get("command") for s in specs):
        raise ValueError("compare needs 2 or 3 columns, each a table with label and command")
    cols = []
    for s in specs:
        c = ctx.run(s["command"], str(s.get("in", "")), 10.0)
        text = c.stdout if c.stdout.strip() else c.stderr
        col = Column(str(s.get("label") or s["command"]), s["command"], text, c.exit)
        col.label_ja = str(s.get("label_ja") or "")
        cols.append(col)
    for col in cols:
        others = set().union(*(set(o.text.splitlines()) for o in cols if o is not col))
        col.unique = {ln for ln in col.text.splitlines() if ln not in others}
    return CompareData(p.get("title", ""), cols, str(p.get("title_ja") or ""))


def render(data: CompareData, lang: str = "en") -> Table:
    ja = lang == "ja"
    t = Table(title=((data.title_ja or data.title) if ja else data.title) or None, show_lines=False)
    for col in data.columns:
        short = col.command if len(col.command) <= 40 else ""
        label = (col.label_ja or col.label) if ja else col.label
        t.add_column(f"{label}\n$ {short}" if short else label, vertical="top", overflow="fold")
    cells = []
    for col in data.columns:
        text = Text()
        for i, line in enumerate(col.text.rstrip("\n").splitlines()):
            if i:
                text.append("\n")
            text.append(line, style="bold yellow" if line in col.unique else "")
        cells.append(text)
    t.add_row(*cells)
    return t
