"""``savexport``: a `docker save` tar beside a `docker export` tar.

Left, the save: content-addressed blobs — each layer (a tar of its own), the
config and the manifest — and the files that name them (index.json,
manifest.json, oci-layout, repositories). Right, the export: one filesystem,
flat, no layers, no history, no CMD.
"""

from __future__ import annotations

import json
import tarfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.columns import Columns
from rich.console import Group
from rich.panel import Panel
from rich.text import Text
from rich.tree import Tree

from lab.ops.image import layers
from lab.views.units import size_text as _size

PARAMS: dict[str, tuple[Any, bool]] = {
    "save": (str, True),  # the `docker save` tar
    "export": (str, True),  # the `docker export` tar
    "depth": (int, False),  # depth of the export's tree (default 2)
    "limit": (int, False),  # entries per directory of the export (default 8)
}


@dataclass
class SaveEntry:
    name: str  # blobs/sha256/abcd… or index.json
    size: int
    role: str  # layer config manifest index meta dir
    note: str = ""  # a layer's files / the manifest's tags


@dataclass
class Node:
    name: str
    kind: str  # dir file symlink other
    size: int = 0
    link: str = ""
    children: list[Node] = field(default_factory=list)
    more: int = 0  # children left out
    files: int = 0  # files below (dirs)


@dataclass
class SaveExportView:
    save_path: str
    save_size: int
    save: list[SaveEntry]
    export_path: str
    export_size: int
    export_entries: int
    export: Node


def _read(tf: tarfile.TarFile, m: tarfile.TarInfo) -> bytes:
    f = tf.extractfile(m)
    return f.read() if f else b""


def collect_save(path: Path) -> list[SaveEntry]:
    """The members of a save tar, each blob named for what it is."""
    with tarfile.open(path) as tf:
        members = tf.getmembers()
        by = {layers.norm(m.name): m for m in members}
        roles: dict[str, str] = {}
        notes: dict[str, str] = {}
        if "manifest.json" in by:
            for item in json.loads(_read(tf, by["manifest.json"]) or b"[]"):
                roles[layers.norm(item["Config"])] = "config"
                for i, lay in enumerate(item.get("Layers") or []):
                    roles[layers.norm(lay)] = "layer"
                    notes.setdefault(layers.norm(lay), f"layer {i}")
                tags = ", ".join(item.get("RepoTags") or [])
                notes[layers.norm(item["Config"])] = f"config of {tags}" if tags else "config"
        if "index.json" in by:
            for d in json.loads(_read(tf, by["index.json"]) or b"{}").get("manifests") or []:
                name = f"blobs/sha256/{d['digest'].split(':', 1)[1]}"
                roles.setdefault(name, "manifest")
        out = []
        for m in members:
            name = layers.norm(m.name)
            if not name:
                continue
            if m.isdir():
                role = "dir"
            elif name in ("index.json", "manifest.json", "oci-layout", "repositories"):
                role = "meta"
            elif name.endswith("/layer.tar"):
                role = "layer"  # Docker ≤ 24: <id>/layer.tar
            else:
                role = roles.get(name, "blob" if name.startswith("blobs/") else "meta")
            note = notes.get(name, "")
            if role == "layer":
                f = tf.extractfile(m)
                if f is not None:
                    try:
                        with tarfile.open(fileobj=f) as lt:
                            n = sum(1 for x in lt.getmembers() if not x.isdir())
                        note = (note + f": {n} files").lstrip(": ")
                    except tarfile.TarError:
                        pass
            out.append(SaveEntry(name + ("/" if m.isdir() else ""), m.size, role, note))
    return out


def collect_export(path: Path, depth: int = 2, limit: int = 8) -> tuple[Node, int]:
    root = Node("/", "dir")
    index: dict[str, Node] = {"": root}
    n = 0
    with tarfile.open(path) as tf:
        for m in tf.getmembers():
            name = layers.norm(m.name)
            if not name:
                continue
            n += 1
            parts = name.split("/")
            parent = ""
            for k, part in enumerate(parts):
                here = "/".join(parts[: k + 1])
                node = index.get(here)
                last = k == len(parts) - 1
                if node is None:
                    kind = (
                        (
                            "dir"
                            if m.isdir()
                            else "symlink"
                            if m.issym()
                            else "file"
                            if m.isreg()
                            else "other"
                        )
                        if last
                        else "dir"
                    )
                    node = Node(
                        part,
                        kind,
                        m.size if last and m.isreg() else 0,
                        m.linkname if last and m.issym() else "",
                    )
                    index[here] = node
                    index[parent].children.append(node)
                elif last:
                    node.kind = "dir" if m.isdir() else node.kind
                parent = here
            if not m.isdir():
                p = ""
                for part in parts[:-1]:
                    p = f"{p}/{part}".lstrip("/")
                    index[p].files += 1
                root.files += 1
    _trim(root, depth, limit)
    return root, n


def _trim(node: Node, depth: int, limit: int) -> None:
    node.children.sort(key=lambda c: (c.kind != "dir", c.name))
    if depth <= 0:
        node.more, node.children = len(node.children), []
        return
    if len(node.children) > limit:
        node.more = len(node.children) - limit
        node.children = node.children[:limit]
    for c in node.children:
        _trim(c, depth - 1, limit)


def collect(ctx: Any, **p: Any) -> SaveExportView:
    save, export = Path(p["save"]), Path(p["export"])
    tree, n = collect_export(export, int(p.get("depth") or 2), int(p.get("limit") or 8))
    return SaveExportView(
        str(save),
        save.stat().st_size,
        collect_save(save),
        str(export),
        export.stat().st_size,
        n,
        tree,
    )


ROLE_STYLE = {"layer": "green", "config": "cyan", "manifest": "magenta", "meta": "yellow"}
ROLE_JA = {"layer": "レイヤー", "config": "設定", "manifest": "マニフェスト", "meta": "目録"}


def _save_tree(d: SaveExportView, ja: bool) -> Tree:
    tree = Tree(Text(Path(d.save_path).name, style="bold"))
    dirs: dict[str, Tree] = {}
    # a directory whose only child is a directory is drawn as one node (blobs/sha256/)
    children: dict[str, list[str]] = {}
    for e in d.save:
        name = e.name.rstrip("/")
        children.setdefault(name.rpartition("/")[0], []).append(e.name)
    passthrough = {k for k, v in children.items() if k and len(v) == 1 and v[0].endswith("/")}
    for e in d.save:
        if e.role == "dir":
            name = e.name.rstrip("/")
            if name in passthrough:
                continue
            parent_name = name.rsplit("/", 1)[0] if "/" in name else ""
            shown = name.rsplit("/", 1)[-1]
            while parent_name in passthrough:
                shown = f"{parent_name.rsplit('/', 1)[-1]}/{shown}"
                parent_name = parent_name.rsplit("/", 1)[0] if "/" in parent_name else ""
            parent = dirs.get(parent_name, tree)
            dirs[name] = parent.add(Text(shown + "/", style="blue"))
            continue
        head, _, base = e.name.rpartition("/")
        where = dirs.get(head, tree)
        label = Text(base[:8] + "…" if len(base) > 20 else base, style=ROLE_STYLE.get(e.role, ""))
        label.append(f" {_size(e.size)}", style="dim")
        role = ROLE_JA.get(e.role, e.role) if ja else e.role
        note = e.note
        if ja:
            note = (
                note.replace("layer", "レイヤー")
                .replace("files", "ファイル")
                .replace("config of", "設定:")
            )
        if note.startswith(role) and e.role != "meta":
            label.append(f" {note}", style=ROLE_STYLE.get(e.role, ""))  # "layer 0: 41 files"
        else:
            if e.role != "meta":
                label.append(f" {role}", style=ROLE_STYLE.get(e.role, ""))
            if note and note != e.role:
                label.append(f" {note}", style="dim")
        where.add(label)
    return tree


def _export_tree(node: Node, into: Tree, ja: bool) -> None:
    for c in node.children:
        if c.kind == "dir":
            label = Text(c.name + "/", style="blue")
            if c.files:
                label.append(
                    f"  {c.files}" + (" ファイル" if ja else " file" if c.files == 1 else " files"),
                    style="dim",
                )
            sub = into.add(label)
            _export_tree(c, sub, ja)
        elif c.kind == "symlink":
            into.add(Text(f"{c.name} → {c.link}", style="cyan"))
        else:
            into.add(Text(f"{c.name}  ", style="") + Text(_size(c.size), style="dim"))
    if node.more:
        into.add(Text(f"… +{node.more}", style="dim"))


def render(data: SaveExportView, lang: str = "en") -> Group:
    ja = lang == "ja"
    left = _save_tree(data, ja)
    right = Tree(Text(Path(data.export_path).name, style="bold"))
    _export_tree(data.export, right, ja)
    nlayers = sum(1 for e in data.save if e.role == "layer")
    lt = "save: " + (
        f"レイヤー {nlayers} 個 + 設定 + 目録" if ja else f"{nlayers} layer(s) + config + manifests"
    )
    rt = "export: " + ("一枚の平らなファイルシステム" if ja else "one flat filesystem")
    cols = Columns(
        [
            Panel(left, title=lt, subtitle=_size(data.save_size), border_style="green"),
            Panel(
                right,
                title=rt,
                subtitle=f"{_size(data.export_size)}, {data.export_entries} "
                + ("エントリ" if ja else "entries"),
                border_style="yellow",
            ),
        ],
        equal=False,
        expand=False,
    )
    note = Text(
        "save は load で元のイメージ（レイヤー・履歴・CMD）に戻る。export は中身だけで、import すると 1 レイヤーになる。"
        if ja
        else "save loads back as the same image (layers, history, CMD); export is the files only: "
        "imported, it becomes one layer.",
        style="dim",
    )
    return Group(cols, note)
