"""``lddtree``: the shared libraries a program links, as a tree (slides 20–23).
A library `ldd` cannot find is lit red: that is what 確認4 makes happen."""

from __future__ import annotations

import shlex
from dataclasses import dataclass
from typing import Any

from rich.tree import Tree

from lab.host import ldd
from lab.views.words import pick, w

PARAMS: dict[str, tuple[Any, bool]] = {
    "programs": (list, True),  # ["ls"] or ["/usr/bin/ls", "sh"]
    "in": (str, False),  # a spawned name: run ldd inside it (e.g. the sandbox)
    "title": (str, False),
    "title_ja": (str, False),
}


@dataclass
class LddData:
    title: str
    items: list[ldd.Linked]
    error: str = ""
    title_ja: str = ""


def collect(ctx: Any, **p: Any) -> LddData:
    programs = [str(x) for x in p["programs"]]
    ja = str(p.get("title_ja") or "")
    where = str(p.get("in", ""))
    if where:  # inside a sandbox or container: its view of the files
        res = ctx.run("ldd " + shlex.join(programs), where, 10.0)
        parsed = ldd.parse_ldd(res.stdout + res.stderr)
        if len(programs) == 1:
            parsed = {programs[0]: parsed.get("", parsed.get(programs[0], []))}
        items = [ldd.Linked(k, k, v) for k, v in parsed.items() if k]
        return LddData(str(p.get("title", "")), items, res.stderr.strip() if res.exit else "", ja)
    return LddData(str(p.get("title", "")), ldd.linked(programs), "", ja)


def render(data: LddData, lang: str = "en") -> Tree:
    root = Tree(
        pick(data.title, data.title_ja, lang) or w("lddtree.title", lang), guide_style="dim"
    )
    for item in data.items:
        head = item.binary if item.real == item.binary else f"{item.binary} → {item.real}"
        node = root.add(
            f"[bold]{head}[/]" + (f" [dim]({w('lddtree.static', lang)})[/]" if item.static else "")
        )
        for lib in item.libs:
            if lib.kind == "vdso":
                node.add(f"[dim]{lib.soname} (" + w("lddtree.vdso", lang) + ")[/]")
            elif lib.kind == "loader":
                node.add(f"[magenta]{lib.soname}[/] [dim](" + w("lddtree.loader", lang) + ")[/]")
            elif lib.kind == "missing":
                node.add(
                    f"[bold white on red]{lib.soname} => " + w("lddtree.missing", lang) + "[/]"
                )
            else:
                node.add(f"[cyan]{lib.soname}[/] [dim]=> {lib.path}[/]")
    if data.error:
        root.add(f"[red]{data.error}[/]")
    return root
