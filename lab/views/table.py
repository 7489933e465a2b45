"""``table``: key/value rows from a file of KEY=VALUE or "Key: value" lines
(/etc/os-release, /proc/PID/status) or a command's output, optionally filtered
to ``keys`` and annotated from ``explain`` (``explain_ja`` in Japanese)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from lab.views.words import pick, w

PARAMS: dict[str, tuple[Any, bool]] = {
    "path": (str, False),
    "command": (str, False),
    "in": (str, False),
    "keys": (list, False),
    "explain": (dict, False),
    "explain_ja": (dict, False),
    "title": (str, False),
    "title_ja": (str, False),
}
_LINE = re.compile(r"^\s*([A-Za-z_][\w .()/-]*?)\s*(?:=|:)\s*(.*?)\s*$")


@dataclass
class Row:
    key: str
    value: str
    explain: str = ""
    explain_ja: str = ""


@dataclass
class TableData:
    title: str
    rows: list[Row] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # asked-for keys not found
    title_ja: str = ""


def parse_pairs(text: str) -> list[tuple[str, str]]:
    pairs = []
    for line in text.splitlines():
        m = _LINE.match(line)
        if m:
            value = m.group(2)
            if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
                value = value[1:-1]
            pairs.append((m.group(1), re.sub(r"\s+", " ", value)))
    return pairs


def collect(ctx: Any, **p: Any) -> TableData:
    if p.get("path"):
        with open(p["path"], encoding="utf-8", errors="replace") as f:
            text = f.read(1 << 20)
        title = p.get("title") or p["path"]
    elif p.get("command"):
        text = ctx.run(p["command"], p.get("in", ""), 10.0).stdout
        title = p.get("title") or f"$ {p['command']}"
    else:
        raise ValueError("table needs path or command")
    pairs = parse_pairs(text)
    keys = [str(k) for k in p.get("keys") or []]
    found = dict(pairs)
    if keys:
        pairs = [(k, found[k]) for k in keys if k in found]
    ex, ex_ja = p.get("explain") or {}, p.get("explain_ja") or {}
    rows = [Row(k, v, str(ex.get(k, "")), str(ex_ja.get(k, ""))) for k, v in pairs]
    missing = [k for k in keys if k not in found]
    return TableData(title, rows, missing, str(p.get("title_ja") or ""))


def render(data: TableData, lang: str = "en") -> Table:
    ja = lang == "ja"
    t = Table(title=pick(data.title, data.title_ja, lang), title_justify="left")
    t.add_column(w("table.key", lang), style="bold cyan")
    t.add_column(w("table.value", lang))
    explained = any(r.explain or r.explain_ja for r in data.rows)
    if explained:
        t.add_column(w("table.meaning", lang), style="dim")
    for r in data.rows:
        note = (r.explain_ja or r.explain) if ja else (r.explain or r.explain_ja)
        t.add_row(r.key, r.value, *([note] if explained else []))
    for k in data.missing:
        t.add_row(k, w("table.absent", lang), style="yellow")
    return t
