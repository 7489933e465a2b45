"""``proctree``: the process tree around a pid — its ancestors down to it, then
its children — with pid, ppid, name and command line; one pid highlighted."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import psutil
from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from lab.views.words import pick, w

PARAMS: dict[str, tuple[Any, bool]] = {
    "pid": ((str, int), True),
    "highlight": ((str, int), False),
    "ancestors": (int, False),
    "depth": (int, False),
    "title": (str, False),
    "title_ja": (str, False),
}


@dataclass
class Proc:
    pid: int
    ppid: int
    name: str
    cmdline: str
    children: list[Proc] = field(default_factory=list)


@dataclass
class ProcTreeData:
    title: str
    root: Proc
    focus: int
    highlight: int
    title_ja: str = ""


def _proc(p: psutil.Process) -> Proc:
    with p.oneshot():
        try:
            cmd = " ".join(p.cmdline())
        except (psutil.AccessDenied, psutil.ZombieProcess):
            cmd = ""
        return Proc(p.pid, p.ppid(), p.name(), cmd[:120])


def _descend(node: Proc, p: psutil.Process, depth: int) -> None:
    if depth <= 0:
        return
    for c in sorted(p.children(), key=lambda c: c.pid):
        try:
            child = _proc(c)
        except psutil.Error:
            continue
        node.children.append(child)
        _descend(child, c, depth - 1)


def collect(ctx: Any, **p: Any) -> ProcTreeData:
    pid = ctx.pid(p["pid"])
    focus = psutil.Process(pid)
    node = _proc(focus)
    _descend(node, focus, int(p.get("depth", 3)))
    top = node
    for parent in focus.parents()[: int(p.get("ancestors", 2))]:
        up = _proc(parent)
        up.children.append(top)
        top = up
    hl = ctx.pid(p["highlight"]) if p.get("highlight") not in (None, "") else pid
    return ProcTreeData(p.get("title") or "", top, pid, hl, str(p.get("title_ja") or ""))


def _label(n: Proc, data: ProcTreeData, lang: str) -> Text:
    t = Text(f"{n.pid:>7} ", style="bold") + Text(f"ppid {n.ppid:<7} ", style="dim")
    t += Text(n.name, style="green") + Text(f"  {n.cmdline}", style="dim")
    if n.pid == data.highlight:
        t.stylize("bold black on yellow")
        t += Text("  ◀ " + w("proctree.here", lang), style="bold yellow")
    return t


def render(data: ProcTreeData, lang: str = "en") -> RenderableType:
    tree = Tree(_label(data.root, data, lang), guide_style="dim")

    def add(branch: Tree, node: Proc) -> None:
        for c in node.children:
            add(branch.add(_label(c, data, lang)), c)

    add(tree, data.root)
    title = pick(data.title, data.title_ja, lang)
    return Group(Text(title, style="bold"), tree) if title else tree
