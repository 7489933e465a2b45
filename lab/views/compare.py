"""``compare``: two or three labelled columns of command outputs side by side
(host | container).

Without keys the columns are two blocks of text and the lines found in only one
column are lit. With ``key`` (a regular expression per column, its first group —
or the whole match — naming the row a line belongs to: a file, a mount point, a
field) the columns are **aligned by key**: one row per key, in the order they are
first seen, each cell the lines of that column with that key, and ``—`` where a
column has none (the cell of a key found in only some columns is lit). Row 1 left
and row 1 right are then about the same thing. A line the key does not match
continues the row of the line above it (a record on several lines: ``LowerDir``
then its paths); one before any key goes to a last row of its own, so nothing a
command printed is hidden.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

from lab.views.squeeze import Squeeze
from lab.views.words import w

PARAMS: dict[str, tuple[Any, bool]] = {
    # [{label, label_ja?, command, in?, key?}] — 2 or 3 of them; key: a regex (see above)
    "columns": (list, True),
    "title": (str, False),
    "title_ja": (str, False),
}
OTHER = "\0other"  # the row of lines no key matched


@dataclass
class Column:
    label: str
    command: str
    text: str
    exit: int | None = 0
    unique: set[str] = field(default_factory=set)  # lines no other column has
    label_ja: str = ""
    key: str = ""


@dataclass
class Row:
    key: str
    cells: list[list[str]]  # per column, its lines with this key ([] if none)


@dataclass
class CompareData:
    title: str
    columns: list[Column]
    title_ja: str = ""
    rows: list[Row] = field(default_factory=list)  # set when the columns are aligned by key


def key_of(pattern: re.Pattern[str], line: str) -> str | None:
    """The row *line* belongs to: the first group of the key's match (or the whole
    match), stripped; None when the key does not match."""
    m = pattern.search(line)
    if m is None:
        return None
    got = m.group(1) if m.re.groups else m.group(0)
    return (got or "").strip()


def align(columns: list[Column]) -> list[Row]:
    """One row per key, first-seen order over the columns left to right."""
    pats = [re.compile(c.key) if c.key else None for c in columns]
    order: dict[str, Row] = {}
    for i, (col, pat) in enumerate(zip(columns, pats, strict=True)):
        k = OTHER
        for line in col.text.rstrip("\n").splitlines():
            if not line.strip():
                continue
            found = key_of(pat, line) if pat is not None else None
            k = k if found is None else found  # no key: the row of the line above
            row = order.setdefault(k, Row(k, [[] for _ in columns]))
            row.cells[i].append(line)
    rows = [r for r in order.values() if r.key != OTHER]
    if OTHER in order:
        rows.append(order[OTHER])
    return rows


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
        col.key = str(s.get("key") or "")
        if col.key:
            try:
                re.compile(col.key)
            except re.error as e:
                raise ValueError(
                    f"compare: the key of column {col.label!r} is not valid: {e}"
                ) from None
        cols.append(col)
    for col in cols:
        others = set().union(*(set(o.text.splitlines()) for o in cols if o is not col))
        col.unique = {ln for ln in col.text.splitlines() if ln not in others}
    rows = align(cols) if any(c.key for c in cols) else []
    return CompareData(p.get("title", ""), cols, str(p.get("title_ja") or ""), rows)


def _head(col: Column, ja: bool) -> str:
    short = col.command if len(col.command) <= 40 else ""
    label = (col.label_ja or col.label) if ja else col.label
    return f"{label}\n$ {short}" if short else label


def render(data: CompareData, lang: str = "en") -> Table:
    ja = lang == "ja"
    t = Table(title=((data.title_ja or data.title) if ja else data.title) or None, show_lines=False)
    for col in data.columns:
        t.add_column(_head(col, ja), vertical="top", overflow="fold")
    if data.rows:
        t.show_lines = True  # one row per key: the lines make the rows readable
        for row in data.rows:
            some_missing = any(not c for c in row.cells)
            cells = []
            for lines in row.cells:
                if not lines:
                    cells.append(Text("—", style="dim"))
                elif row.key == OTHER:
                    cells.append(Squeeze([(ln, "") for ln in lines], style="dim"))
                else:
                    lit = "bold yellow" if some_missing else ""
                    cells.append(Squeeze([(ln, "") for ln in lines], style=lit))
            t.add_row(*cells)
        if any(r.key == OTHER for r in data.rows):
            t.caption = w("compare.other", lang)
        return t
    t.add_row(
        *(
            Squeeze(
                [
                    (line, "bold yellow" if line in col.unique else "")
                    for line in col.text.rstrip("\n").splitlines()
                ]
            )
            for col in data.columns
        )
    )
    return t
