"""``tree``: a directory tree to ``depth``; dirs, files and symlinks marked,
sizes optional. Never follows symlinks."""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group, RenderableType
from rich.text import Text
from rich.tree import Tree

from lab.views.words import pick, w

PARAMS: dict[str, tuple[Any, bool]] = {
    "path": (str, True),
    "depth": (int, False),
    "sizes": (bool, False),
    "limit": (int, False),
    "title": (str, False),
    "title_ja": (str, False),
}
DEFAULT_LIMIT = 60  # entries shown per directory


@dataclass
class Node:
    name: str
    kind: str  # dir | file | symlink | other
    size: int = 0
    target: str = ""  # symlink target
    children: list[Node] = field(default_factory=list)
    more: int = 0  # entries left out (limit)
    error: str = ""


@dataclass
class TreeData:
    title: str
    root: Node
    sizes: bool = False
    only: set[str] = field(default_factory=set)  # relative paths to highlight (trees)
    title_ja: str = ""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "symlink"
    if stat.S_ISDIR(mode):
        return "dir"
    return "file" if stat.S_ISREG(mode) else "other"


def scan(path: str, depth: int = 2, limit: int = DEFAULT_LIMIT) -> Node:
    st = os.lstat(path)
    node = Node(os.path.basename(path.rstrip("/")) or "/", _kind(st.st_mode), st.st_size)
    if node.kind == "symlink":
        node.target = os.readlink(path)
    if node.kind == "dir" and depth > 0:
        _fill(node, path, depth, limit)
    return node


def _fill(node: Node, path: str, depth: int, limit: int) -> None:
    try:
        with os.scandir(path) as it:
            entries = sorted(it, key=lambda e: e.name)
    except OSError as e:
        node.error = e.strerror or str(e)
        return
    node.more = max(0, len(entries) - limit)
    for e in entries[:limit]:
        try:
            st = e.stat(follow_symlinks=False)
        except OSError:
            continue
        child = Node(e.name, _kind(st.st_mode), st.st_size)
        if child.kind == "symlink":
            try:
                child.target = os.readlink(e.path)
            except OSError:
                child.target = "?"
        elif child.kind == "dir" and depth > 1:
            _fill(child, e.path, depth - 1, limit)
        node.children.append(child)


def collect(ctx: Any, **p: Any) -> TreeData:
    path = p["path"]
    root = scan(path, int(p.get("depth", 2)), int(p.get("limit", DEFAULT_LIMIT)))
    root.name = path
    data = TreeData(p.get("title") or path, root, bool(p.get("sizes", False)))
    data.title_ja = str(p.get("title_ja") or "")
    return data


def _size(n: int) -> str:
    for unit in ("B", "K", "M", "G"):
        if n < 1024:
            return f"{n}{unit}"
        n //= 1024
    return f"{n}T"


def label(node: Node, sizes: bool, mark: str = "") -> Text:
    if node.kind == "dir":
        t = Text(node.name.rstrip("/") + "/", style="bold blue")
    elif node.kind == "symlink":
        t = Text(node.name, style="cyan") + Text(f" -> {node.target}", style="dim")
    else:
        t = Text(node.name)
    if sizes and node.kind == "file":
        t += Text(f"  {_size(node.size)}", style="dim")
    if node.error:
        t += Text(f"  ({node.error})", style="red")
    if mark:
        t.stylize("bold black on yellow")
        t += Text(f"  {mark}", style="bold yellow")
    return t


def build(data: TreeData, lang: str = "en", mark: str = "") -> Tree:
    tree = Tree(label(data.root, data.sizes))

    def add(parent: Tree, node: Node, rel: str) -> None:
        for c in node.children:
            path = f"{rel}/{c.name}" if rel else c.name
            branch = parent.add(label(c, data.sizes, mark if path in data.only else ""))
            add(branch, c, path)
        if node.more:
            parent.add(Text(w("tree.more", lang, n=node.more), style="dim"))

    add(tree, data.root, "")
    return tree


def render(data: TreeData, lang: str = "en") -> RenderableType:
    """The tree, under the lesson's title when it has one (the root line is the path)."""
    title = pick(data.title, data.title_ja, lang)
    tree = build(data, lang)
    if not title or title == data.root.name:
        return tree
    return Group(Text(title, style="bold"), tree)
