"""``overlay``: a container's overlay as three columns — lower | upper | merged.

One row per path the container changed (what its upper holds), plus any path
asked for: what the lower layers hold there, what the upper holds (a new file,
a copy-up, a whiteout ``c 0/0``, an opaque directory), and what the container
sees. Works for the lab's own containers (``container = ID`` or ``of`` an
``op container-create``) and for Docker's (``of`` an ``op docker-inspect``: its
GraphDriver's LowerDir / UpperDir / MergedDir).
"""

from __future__ import annotations

import os
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from lab.ops import mounts
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
MARK = {"added": "A", "modified": "M", "deleted": "D", "opaque": "O", "unchanged": " "}
LABELS = {
    "en": {
        "added": "added",
        "modified": "modified",
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


def _upper_text(r: Row, ja: bool) -> Text:
    if not r.upper:
        return Text("—", style="dim")
    if r.kind == "deleted":
        return Text(f"{r.upper} " + ("ホワイトアウト" if ja else "whiteout"), style="bold red")
    if r.kind == "modified":
        return Text(f"{r.upper} " + ("コピーアップ" if ja else "copy-up"), style="bold yellow")
    if r.kind == "opaque":
        return Text(("不透明 dir" if ja else "opaque dir"), style="bold magenta")
    if r.kind == "added":
        return Text(f"{r.upper} " + ("新規" if ja else "new"), style="bold green")
    return Text(r.upper)


def render(data: OverlayView, lang: str = "en") -> Group:
    ja = lang == "ja"
    lab = LABELS["ja" if ja else "en"]
    name = (data.title_ja or data.title) if ja else data.title
    title = ("オーバーレイ" if ja else "overlay") + (f": {name}" if name else "")
    t = Table(title=title, title_justify="left", expand=False)
    t.add_column("", no_wrap=True, width=1)
    t.add_column("パス" if ja else "path", overflow="fold")
    t.add_column("lower" + ("（イメージ）" if ja else " (image)"), no_wrap=True)
    t.add_column("upper" + ("（コンテナ）" if ja else " (container)"), no_wrap=True)
    t.add_column("merged" + ("（見える姿）" if ja else " (what it sees)"), no_wrap=True)
    for r in data.rows:
        style = STYLE.get(r.kind, "")
        low = (
            Text("—", style="dim")
            if not r.lower
            else Text(
                (f"L{r.layer} " if len(data.lowers) > 1 and r.layer is not None else "") + r.lower,
                style="dim" if r.kind in ("modified", "deleted") else "",
            )
        )
        seen = (
            Text("（見えない）" if ja else "(hidden)", style="red")
            if not r.merged
            else Text(r.merged, style=style)
        )
        t.add_row(
            Text(MARK[r.kind], style=f"bold {style}"),
            Text(r.path, style=style),
            low,
            _upper_text(r, ja),
            seen,
        )
    if not data.rows:
        t.add_row(
            "",
            Text(
                "（upper は空：すべて lower から）"
                if ja
                else "(the upper is empty: everything comes from the lowers)",
                style="dim",
            ),
            "",
            "",
            "",
        )
    parts: list[Any] = [t]
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
