"""``diff``: two files or two commands' outputs side by side, changed lines lit."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table
from rich.text import Text

from lab.views.words import pick, w

PARAMS: dict[str, tuple[Any, bool]] = {
    "left": (str, False),  # a file
    "right": (str, False),
    "left_command": (str, False),
    "right_command": (str, False),
    "left_in": (str, False),
    "right_in": (str, False),
    "left_title": (str, False),
    "right_title": (str, False),
    "left_title_ja": (str, False),
    "right_title_ja": (str, False),
}
MAX_LINES = 400


@dataclass
class Row:
    tag: str  # equal | replace | delete | insert
    left: str | None
    right: str | None


@dataclass
class DiffData:
    left_title: str
    right_title: str
    rows: list[Row] = field(default_factory=list)
    left_title_ja: str = ""
    right_title_ja: str = ""

    @property
    def changed(self) -> int:
        return sum(1 for r in self.rows if r.tag != "equal")


def _side(ctx: Any, p: dict[str, Any], side: str) -> tuple[str, str]:
    if p.get(side):
        with open(p[side], encoding="utf-8", errors="replace") as f:
            return f.read(1 << 20), p.get(f"{side}_title") or p[side]
    cmd = p.get(f"{side}_command")
    if not cmd:
        raise ValueError(f"diff needs {side} (a file) or {side}_command")
    c = ctx.run(cmd, p.get(f"{side}_in", ""), 10.0)
    return c.stdout, p.get(f"{side}_title") or f"$ {cmd}"


def compare(a: list[str], b: list[str]) -> list[Row]:
    rows: list[Row] = []
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, a, b, autojunk=False).get_opcodes():
        left, right = a[i1:i2], b[j1:j2]
        for k in range(max(len(left), len(right))):
            rows.append(
                Row(
                    tag,
                    left[k] if k < len(left) else None,
                    right[k] if k < len(right) else None,
                )
            )
    return rows


def collect(ctx: Any, **p: Any) -> DiffData:
    ltext, ltitle = _side(ctx, p, "left")
    rtext, rtitle = _side(ctx, p, "right")
    rows = compare(ltext.splitlines()[:MAX_LINES], rtext.splitlines()[:MAX_LINES])
    ja = (str(p.get("left_title_ja") or ""), str(p.get("right_title_ja") or ""))
    return DiffData(ltitle, rtitle, rows, *ja)


_STYLE = {"replace": "bold yellow", "delete": "bold red", "insert": "bold green"}
_MARK = {"equal": " ", "replace": "~", "delete": "-", "insert": "+"}


def render(data: DiffData, lang: str = "en") -> Table:
    t = Table(title=w("diff.changed", lang, n=data.changed))
    t.add_column("", width=1)
    t.add_column(pick(data.left_title, data.left_title_ja, lang), overflow="fold")
    t.add_column(pick(data.right_title, data.right_title_ja, lang), overflow="fold")
    for r in data.rows:
        style = _STYLE.get(r.tag, "")
        t.add_row(
            _MARK[r.tag],
            Text(r.left if r.left is not None else "", style=style),
            Text(r.right if r.right is not None else "", style=style),
        )
    return t
