"""``overlay``: a container's overlay as three columns — lower | upper | merged.

One row per path the container changed (what its upper holds), plus any path
asked for: what the lower layers hold there, what the upper holds (a new file,
a copy-up, a whiteout ``c 0/0``, an opaque directory), and what the container
sees. Works for the lab's own containers (``container = ID`` or ``of`` an
``op container-create``) and for Docker's (``of`` an ``op docker-inspect``: its
GraphDriver's LowerDir / UpperDir / MergedDir with overlay2, or, with the containerd
image store whose inspect names none, the same roles read from the container's root
overlay mount: ``lab.ops.docker.rootfs_overlay``).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from lab.host import mounts
from lab.ops import overlay as ov

PARAMS: dict[str, tuple[Any, bool]] = {
    "container": (str, False),  # a lab container's id (HOME/containers/ID)
    "of": (str, False),  # a step whose op made / inspected the container
    "paths": (list, False),  # more paths to show (unchanged ones: lower only)
    "limit": (int, False),  # rows at most (default 40)
    "title": (str, False),
    "title_ja": (str, False),
}


@dataclass
class Row:
    path: str
    kind: str  # added modified deleted opaque unchanged
    lower: str  # what the lowers hold ("" = nothing)
    upper: str  # what the upper holds ("" = nothing)
    merged: str  # what the container sees ("" = nothing)
    layer: int | None = None  # which lower holds it (0 = bottom)


@dataclass
class OverlayView:
    title: str
    lowers: list[str]  # bottom first
    upper: str
    merged: str
    mounted: bool
    mount_line: str = ""
    rows: list[Row] = field(default_factory=list)
    more: int = 0
    counts: dict[str, int] = field(default_factory=dict)
    title_ja: str = ""


@dataclass
class _Dirs:
    """What overlay.changes() needs: an upper and the lowers (bottom first)."""

    upper: Path
    lowers: list[Path]


def _describe(path: Path, st: os.stat_result | None = None) -> str:
    try:
        st = st or os.lstat(path)
    except OSError:
        return ""
    if stat.S_ISCHR(st.st_mode):
        return f"c {os.major(st.st_rdev)}/{os.minor(st.st_rdev)}"
    if stat.S_ISDIR(st.st_mode):
        return "dir"
    if stat.S_ISLNK(st.st_mode):
        try:
            return f"→ {os.readlink(path)}"
        except OSError:
            return "symlink"
    return f"{st.st_size} B"


def _source(ctx: Any, p: dict[str, Any]) -> tuple[_Dirs, Path, str]:
    """(the dirs, merged, a default title)."""
    if p.get("container"):
        home = Path(ctx.fill("{{home}}"))
        c = ov.open_container(home, str(p["container"]))
        return _Dirs(c.upper, c.lowers), c.merged, c.id
    step = p.get("of") or ctx.step_id
    data = ctx.op_results.get(step)
    if isinstance(data, ov.OverlayContainer):
        return _Dirs(data.upper, data.lowers), data.merged, data.id
    graph = getattr(data, "graph", None)
    if graph is not None and graph.upper:
        lowers = [Path(x) for x in reversed(graph.lower)]  # LowerDir lists the top first
        return _Dirs(Path(graph.upper), lowers), Path(graph.merged), getattr(data, "name", "")
    raise ValueError(
        f"step {step!r} made no container (an ```op container-create or docker-inspect comes first)"
    )


def collect(ctx: Any, **p: Any) -> OverlayView:
    dirs, merged, name = _source(ctx, p)
    mounted = any(m.target == str(merged) for m in mounts.mounts())
    line = next((m for m in mounts.mounts() if m.target == str(merged)), None)
    view = build_view(
        dirs.upper,
        dirs.lowers,
        merged,
        mounted,
        title=str(p.get("title") or name),
        paths=[str(x) for x in p.get("paths") or []],
        limit=int(p.get("limit") or 40),
        mount_line=f"{line.source} on {line.target} type {line.fstype}" if line else "",
    )
    view.title_ja = str(p.get("title_ja") or "")
    return view


def build_view(
    upper: Path,
    lowers: list[Path],
    merged: Path,
    mounted: bool,
    title: str = "",
    paths: list[str] | None = None,
    limit: int = 40,
    mount_line: str = "",
) -> OverlayView:
    """The view's data from the directories themselves (pure: reads only)."""
    dirs = _Dirs(upper, lowers)
    rows: list[Row] = []
    for ch in ov.changes(dirs):  # type: ignore[arg-type]
        if ch.is_dir and ch.kind == "modified":
            continue  # a directory that was already there: only the way to a change
        rows.append(_row(dirs, merged, mounted, ch.path, ch.kind, ch.lower))
    seen = {r.path for r in rows}
    for extra in paths or []:
        path = "/" + extra.strip("/")
        if path not in seen:
            lower = ov.lower_of(dirs, path)  # type: ignore[arg-type]
            rows.append(_row(dirs, merged, mounted, path, "unchanged", lower))
    counts: dict[str, int] = {}
    for r in rows:
        counts[r.kind] = counts.get(r.kind, 0) + 1
    return OverlayView(
        title,
        [str(x) for x in lowers],
        str(upper),
        str(merged),
        mounted,
        mount_line,
        rows[:limit],
        max(0, len(rows) - limit),
        counts,
    )


def _row(d: _Dirs, merged: Path, mounted: bool, path: str, kind: str, lower: int | None) -> Row:
    rel = path.lstrip("/")
    low = _describe(d.lowers[lower] / rel) if lower is not None else ""
    up = _describe(d.upper / rel)
    if mounted:
        seen = _describe(merged / rel)
    elif kind == "deleted":
        seen = ""
    else:
        seen = up or low
    return Row(path, kind, low, up, seen, lower)


STYLE = {"added": "green", "modified": "yellow", "deleted": "red", "opaque": "magenta"}
# the letters of `docker diff` (A added, C changed, D deleted); O: an opaque directory
MARK = {"added": "A", "modified": "C", "deleted": "D", "opaque": "O", "unchanged": " "}
LABELS = {
    "en": {
        "added": "added",
        "modified": "changed",
        "deleted": "deleted",
        "opaque": "opaque",
        "unchanged": "unchanged",
    },
    "ja": {
        "added": "追加",
        "modified": "変更",
        "deleted": "削除",
        "opaque": "不透明",
        "unchanged": "変更なし",
    },
}


def _short(desc: str) -> str:
    """``48024 B`` → ``48.0 kB`` (a column is a dozen cells wide in the app); others as they are."""
    n, _, unit = desc.partition(" ")
    if unit == "B" and n.isdigit() and int(n) >= 10_000:
        v = int(n)
        return f"{v / 1e6:.1f} MB" if v >= 1e6 else f"{v / 1e3:.1f} kB"
    return desc


def _upper_text(r: Row, ja: bool) -> Text:
    if not r.upper:
        return Text("—", style="dim")
    if r.kind == "deleted":
        return Text(f"{r.upper} " + ("ホワイトアウト" if ja else "whiteout"), style="bold red")
    if r.kind == "modified":
        return Text(
            f"{_short(r.upper)} " + ("コピーアップ" if ja else "copy-up"), style="bold yellow"
        )
    if r.kind == "opaque":
        return Text(("不透明 dir" if ja else "opaque dir"), style="bold magenta")
    if r.kind == "added":
        return Text(f"{_short(r.upper)} " + ("新規" if ja else "new"), style="bold green")
    return Text(_short(r.upper))


LEGEND = {
    "en": "lower: the image, read-only · upper: the container's own writes · "
    "merged: what the container sees",
    "ja": "lower：イメージ（読み取り専用） · upper：コンテナ自身の書き込み · "
    "merged：コンテナから見える姿",
}


WIDE = 72  # from this many cells on, one row per path; below, the path on a line of its own


def _cells(data: OverlayView, r: Row, ja: bool) -> tuple[Text, Text, Text]:
    style = STYLE.get(r.kind, "")
    low = (
        Text("—", style="dim")
        if not r.lower
        else Text(
            (f"L{r.layer} " if len(data.lowers) > 1 and r.layer is not None else "")
            + _short(r.lower),
            style="dim" if r.kind in ("modified", "deleted") else "",
        )
    )
    seen = (
        Text("見えない" if ja else "(hidden)", style="red")
        if not r.merged
        else Text(_short(r.merged), style=style)
    )
    return low, _upper_text(r, ja), seen


class OverlayTable:
    """lower | upper | merged for each path, laid out for the width it gets. In a view panel
    (~50 cells) five columns squeeze the path and cut the words off, so there each path has a
    line of its own and its three cells go under it."""

    def __init__(self, data: OverlayView, lang: str) -> None:
        self.data, self.ja = data, lang == "ja"

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        if options.max_width >= WIDE:
            yield _table(self.data, self.ja)
        else:
            yield from _stacked(self.data, self.ja, options.max_width)


def _stacked(data: OverlayView, ja: bool, width: int) -> list[Any]:
    """Narrow: each path on a line of its own, its lower / upper / merged under it, the three
    columns the same width for every path (so they line up as a table would)."""
    name = (data.title_ja or data.title) if ja else data.title
    out: list[Any] = [
        Text(("オーバーレイ" if ja else "overlay") + (f": {name}" if name else ""), style="italic")
    ]
    cells = [_cells(data, r, ja) for r in data.rows]
    widths = [max([len(h)] + [c[i].cell_len for c in cells]) for i, h in enumerate(LAYERS)]
    room = width - 2 - 2 * 2  # the indent and the gaps
    while sum(widths) > room and max(widths) > 8:
        widths[widths.index(max(widths))] -= 1  # the widest folds first

    def grid() -> Table:
        g = Table.grid(padding=(0, 2))
        g.add_column(width=0)
        for w in widths:
            g.add_column(width=w, overflow="fold")
        return g

    head = grid()
    head.add_row("", *[Text(h, style="bold") for h in LAYERS])
    out.append(head)
    out.append(Text("─" * min(width, 2 + sum(widths) + 4), style="dim"))
    for r, c in zip(data.rows, cells, strict=True):
        style = STYLE.get(r.kind, "")
        out.append(Text.assemble((MARK[r.kind], f"bold {style}"), " ", (r.path, f"bold {style}")))
        g = grid()
        g.add_row("", *c)
        out.append(g)
    if not data.rows:
        out.append(
            Text(
                "（upper は空：すべて lower から）"
                if ja
                else "(the upper is empty: everything comes from the lowers)",
                style="dim",
            )
        )
    return out


LAYERS = ("lower", "upper", "merged")


def _table(data: OverlayView, ja: bool) -> Table:
    name = (data.title_ja or data.title) if ja else data.title
    title = ("オーバーレイ" if ja else "overlay") + (f": {name}" if name else "")
    t = Table(
        title=title,
        title_justify="left",
        box=box.SIMPLE_HEAD,
        show_edge=False,
        pad_edge=False,
        padding=(0, 1),
        collapse_padding=True,
    )
    t.add_column("", no_wrap=True, width=1)
    t.add_column("パス" if ja else "path", overflow="fold")
    t.add_column("lower", no_wrap=True)
    t.add_column("upper", overflow="fold")
    t.add_column("merged", overflow="fold")
    for r in data.rows:
        style = STYLE.get(r.kind, "")
        mark = Text(MARK[r.kind], style=f"bold {style}")
        t.add_row(mark, Text(r.path, style=style), *_cells(data, r, ja))
    if not data.rows:
        empty = Text(
            "（upper は空：すべて lower から）"
            if ja
            else "(the upper is empty: everything comes from the lowers)",
            style="dim",
        )
        t.add_row("", empty, "", "", "")
    return t


def render(data: OverlayView, lang: str = "en") -> Group:
    ja = lang == "ja"
    lab = LABELS["ja" if ja else "en"]
    t = OverlayTable(data, lang)
    parts: list[Any] = [t, Text(LEGEND["ja" if ja else "en"], style="dim")]
    if data.more:
        parts.append(Text(f"… +{data.more}", style="dim"))
    summary = Text()
    for kind in ("added", "modified", "deleted", "opaque"):
        if data.counts.get(kind):
            summary.append(f"{MARK[kind]} {lab[kind]} {data.counts[kind]}  ", style=STYLE[kind])
    if summary:
        parts.append(summary)
    where = Table.grid(padding=(0, 1))
    where.add_column(style="bold", no_wrap=True)
    where.add_column(style="dim", overflow="fold")
    for i, lo in enumerate(data.lowers):
        where.add_row(f"lower {i}", lo)
    where.add_row("upper", data.upper)
    where.add_row(
        "merged",
        data.merged
        + ("" if data.mounted else (" （マウントされていない）" if ja else " (not mounted)")),
    )
    if data.mount_line:
        where.add_row("mount", data.mount_line)
    parts.append(where)
    return Group(*parts)
