"""``fstypes``: the mounted filesystems grouped by type (what `df -Th` shows, slides 16–17):
disk filesystems beside the in-memory ones (tmpfs, proc, sysfs, cgroup…)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import Any

from rich.table import Table

from lab.host import mounts

PARAMS: dict[str, tuple[Any, bool]] = {
    "pid": (str, False),  # whose mount namespace (default: the lab's own)
    "title": (str, False),
    "title_ja": (str, False),
}
MEMORY = {"tmpfs", "devtmpfs", "ramfs"}


@dataclass
class FsGroup:
    fstype: str
    kind: str  # disk, memory, virtual
    targets: list[tuple[str, str, int]] = field(
        default_factory=list
    )  # (mount point, source, size bytes)


@dataclass
class FsData:
    title: str
    groups: list[FsGroup]
    title_ja: str = ""


def _size(path: str) -> int:
    try:
        st = os.statvfs(path)
    except OSError:
        return 0
    return st.f_blocks * st.f_frsize


def collect(ctx: Any, **p: Any) -> FsData:
    pid = ctx.pid(p["pid"]) if p.get("pid") else "self"
    groups: dict[str, FsGroup] = {}
    for m in mounts.mounts(pid):
        kind = (
            "virtual"
            if m.fstype in mounts.VIRTUAL_FS
            else "memory"
            if m.fstype in MEMORY
            else "disk"
        )
        g = groups.setdefault(m.fstype, FsGroup(m.fstype, kind))
        g.targets.append(
            (m.target, m.source, _size(m.target) if kind != "virtual" and pid == "self" else 0)
        )
    order = {"disk": 0, "memory": 1, "virtual": 2}
    return FsData(
        str(p.get("title", "")),
        sorted(groups.values(), key=lambda g: (order[g.kind], g.fstype)),
        str(p.get("title_ja") or ""),
    )


def _human(n: int) -> str:
    for unit in ("B", "K", "M", "G", "T"):
        if n < 1024 or unit == "T":
            return f"{n:.0f}{unit}" if unit == "B" else f"{n:.1f}{unit}"
        n /= 1024  # type: ignore[assignment]
    return str(n)


def render(data: FsData, lang: str = "en") -> Table:
    ja = lang == "ja"
    names = {
        "disk": "ディスク" if ja else "disk",
        "memory": "メモリ" if ja else "memory",
        "virtual": "カーネル" if ja else "kernel",
    }
    colors = {"disk": "green", "memory": "cyan", "virtual": "magenta"}
    t = Table(
        title=(data.title_ja if ja and data.title_ja else data.title)
        or ("ファイルシステムの種類" if ja else "filesystems by type"),
        title_justify="left",
    )
    t.add_column("種類" if ja else "kind", no_wrap=True)
    t.add_column("形式" if ja else "type", no_wrap=True)
    # a long mount point is cut with an ellipsis, never folded mid-name
    t.add_column(
        "マウント先" if ja else "mounted on", overflow="ellipsis"
    )  # wrappable: it gives way first
    t.add_column("サイズ" if ja else "size", justify="right", no_wrap=True)
    for i, g in enumerate(data.groups):
        shown = g.targets[:6]
        more = len(g.targets) - len(shown)
        where = "\n".join(x[0] for x in shown) + (f"\n… +{more}" if more else "")
        sizes = "\n".join(_human(x[2]) if x[2] else "" for x in shown)
        first = i == 0 or data.groups[i - 1].kind != g.kind
        last = i == len(data.groups) - 1 or data.groups[i + 1].kind != g.kind
        t.add_row(
            f"[{colors[g.kind]}]{names[g.kind]}[/]" if first else "",
            f"[{colors[g.kind]}]{g.fstype}[/]",
            where,
            sizes,
            end_section=last,
        )
    return t
