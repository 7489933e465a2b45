"""``trees``: two directory trees side by side (host ``/`` vs a rootfs), the
entries found on only one side highlighted."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.table import Table

from lab.views.tree import DEFAULT_LIMIT, Node, TreeData, build, scan
from lab.views.words import pick, w

PARAMS: dict[str, tuple[Any, bool]] = {
    "left": (str, True),
    "right": (str, True),
    "depth": (int, False),
    "sizes": (bool, False),
    "left_title": (str, False),
    "right_title": (str, False),
    "left_title_ja": (str, False),
    "right_title_ja": (str, False),
}


@dataclass
class TreesData:
    left: TreeData
    right: TreeData


def paths(node: Node, rel: str = "") -> set[str]:
    out = set()
    for c in node.children:
        p = f"{rel}/{c.name}" if rel else c.name
        out.add(p)
        out |= paths(c, p)
    return out


def collect(ctx: Any, **p: Any) -> TreesData:
    depth, sizes = int(p.get("depth", 1)), bool(p.get("sizes", False))
    lroot, rroot = scan(p["left"], depth, DEFAULT_LIMIT), scan(p["right"], depth, DEFAULT_LIMIT)
    lroot.name, rroot.name = p["left"], p["right"]
    lp, rp = paths(lroot), paths(rroot)
    left = TreeData(p.get("left_title") or p["left"], lroot, sizes, lp - rp)
    right = TreeData(p.get("right_title") or p["right"], rroot, sizes, rp - lp)
    left.title_ja, right.title_ja = (
        str(p.get("left_title_ja") or ""),
        str(p.get("right_title_ja") or ""),
    )
    return TreesData(left, right)


def render(data: TreesData, lang: str = "en") -> Table:
    mark = w("trees.only", lang)
    t = Table(show_lines=False, expand=False)
    t.add_column(pick(data.left.title, data.left.title_ja, lang), vertical="top")
    t.add_column(pick(data.right.title, data.right.title_ja, lang), vertical="top")
    t.add_row(build(data.left, lang, mark), build(data.right, lang, mark))
    return t
