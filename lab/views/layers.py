"""``layers``: an image layer by layer, like dive — each layer's size and the
instruction that made it, the files it adds (A), modifies (M) and removes (D),
and the space wasted: bytes a later layer overwrote or deleted, still shipped.

The image comes from the lab's store (``image = NAME``) or from an earlier
step's op (``of``): an ``image-import`` / ``image-commit`` / ``image-load``
(the last image loaded) or an ``image-build``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rich import box
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

from lab.ops.image import layers, oci
from lab.ops.image import store as images
from lab.views.units import size_text as _size

PARAMS: dict[str, tuple[Any, bool]] = {
    "image": (str, False),  # a name (or id) in the lab's image store
    "of": (str, False),  # a step whose op made or loaded the image
    "files": (int, False),  # files listed per layer at most (default 6; 0: none)
    "title": (str, False),
    "title_ja": (str, False),
}


@dataclass
class FileRow:
    mark: str  # A M D
    path: str
    size: int


@dataclass
class LayerRow:
    index: int
    digest: str  # short
    size: int
    created_by: str
    added: int
    modified: int
    deleted: int
    files: list[FileRow] = field(default_factory=list)
    more: int = 0


@dataclass
class LayersView:
    title: str
    image_id: str
    cmd: list[str] | None
    layers: list[LayerRow]
    total: int
    wasted: int
    files: int
    config_only: list[str] = field(default_factory=list)  # history lines that made no layer
    title_ja: str = ""


def _image(ctx: Any, p: dict[str, Any]) -> images.Image:
    if p.get("image"):
        return images.get(Path(ctx.fill("{{home}}")), str(p["image"]))
    step = p.get("of") or ctx.step_id
    data = ctx.op_results.get(step)
    if isinstance(data, list) and data and isinstance(data[-1], images.Image):
        return data[-1]
    if isinstance(data, images.Image):
        return data
    res = getattr(data, "result", data)
    if isinstance(getattr(res, "image", None), images.Image):
        return res.image
    raise ValueError(f"step {step!r} made no image (give image = NAME, or an image op first)")


def collect(ctx: Any, **p: Any) -> LayersView:
    im = _image(ctx, p)
    files = int(p["files"]) if p.get("files") is not None else 6
    view = from_image(im, files, str(p.get("title") or im.name or oci.short(im.id)))
    view.title_ja = str(p.get("title_ja") or "")
    return view


def from_image(im: images.Image, files: int = 6, title: str = "") -> LayersView:
    an = images.analyze(im)
    config_only = [_clean(h.created_by) for h, d in im.history() if d is None and h.created_by]
    return from_diff(an, title or im.name, oci.short(im.id), im.config.cmd, files, config_only)


def _clean(created_by: str) -> str:
    """`/bin/sh -c #(nop)  CMD …` → `CMD …`; `/bin/sh -c mkdir /w` → `RUN mkdir /w`."""
    s = created_by.strip()
    if "#(nop)" in s:
        return s.split("#(nop)", 1)[1].strip()
    if s.startswith("/bin/sh -c "):
        return "RUN " + s[len("/bin/sh -c ") :]
    return s


def from_diff(
    an: layers.ImageDiff,
    title: str = "",
    image_id: str = "",
    cmd: list[str] | None = None,
    files: int = 6,
    config_only: list[str] | None = None,
) -> LayersView:
    rows = []
    for d in an.layers:
        fl = (
            [FileRow("D", c.path, c.size) for c in d.deleted]
            + [FileRow("M", c.path, c.size) for c in d.modified]
            + [FileRow("A", c.path, c.size) for c in d.added if c.kind != "dir"]
        )
        rows.append(
            LayerRow(
                d.index,
                oci.short(d.digest),
                d.size,
                _clean(d.created_by),
                sum(1 for c in d.added if c.kind != "dir"),
                len(d.modified),
                len(d.deleted),
                fl[:files],
                max(0, len(fl) - files),
            )
        )
    return LayersView(title, image_id, cmd, rows, an.total, an.wasted, an.files, config_only or [])


STYLE = {"A": "green", "M": "yellow", "D": "red"}


WIDE = 80  # from this many cells on, the digest gets a column; below, it is left out


class LayersTable:
    """The layer table, laid out for the width it gets: at a view panel's ~52 cells the
    digest column is left out so the instruction ("made by") keeps room to be read."""

    def __init__(self, data: LayersView, lang: str) -> None:
        self.data, self.lang = data, lang

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        yield _table(self.data, self.lang, options.max_width >= WIDE)


def _table(data: LayersView, lang: str, wide: bool) -> Table:
    ja = lang == "ja"
    t = Table(
        title=("レイヤー" if ja else "layers")
        + f": {(data.title_ja or data.title) if ja else data.title}",
        title_justify="left",
        caption=(f"id {data.image_id}" if data.image_id else None),
        caption_justify="left",
        box=box.HEAVY_HEAD if wide else box.SIMPLE_HEAD,
        show_edge=wide,
        padding=(0, 1),
        pad_edge=wide,
        collapse_padding=not wide,
    )
    t.add_column("#", justify="right", no_wrap=True, style="bold")
    if wide:
        t.add_column("ダイジェスト" if ja else "digest", style="dim", no_wrap=True)
    t.add_column("サイズ" if ja else "size", justify="right", no_wrap=True)
    t.add_column("A", justify="right", style="green", no_wrap=True)
    t.add_column("M", justify="right", style="yellow", no_wrap=True)
    t.add_column("D", justify="right", style="red", no_wrap=True)
    t.add_column("作った命令" if ja else "made by", overflow="fold", min_width=16)
    for r in data.layers:
        t.add_row(
            str(r.index),
            *([r.digest] if wide else []),
            _size(r.size),
            str(r.added or ""),
            str(r.modified or ""),
            str(r.deleted or ""),
            r.created_by or "—",
        )
    return t


def render(data: LayersView, lang: str = "en") -> Group:
    ja = lang == "ja"
    # the totals (and the wasted space) right under the table, where a panel shows them
    # without scrolling; each layer's files after them
    parts: list[Any] = [LayersTable(data, lang), _foot(data, ja)]
    if data.config_only:
        parts.append(
            Text(
                ("レイヤーを作らない命令（設定だけ）: " if ja else "config only, no layer: ")
                + " · ".join(data.config_only),
                style="dim",
            )
        )
    if data.cmd:
        parts.append(Text("CMD " + " ".join(data.cmd), style="dim"))
    for r in data.layers:
        if not r.files:
            continue
        head = Text(("レイヤー" if ja else "layer") + f" {r.index} ", style="bold")
        by = r.created_by
        head.append(by if len(by) <= 60 else by[:59] + "…", style="dim")
        parts.append(head)
        ft = Table.grid(padding=(0, 1))
        ft.add_column(no_wrap=True)
        ft.add_column(overflow="fold")
        ft.add_column(justify="right", no_wrap=True, style="dim")
        for f in r.files:
            ft.add_row(
                Text(f.mark, style=f"bold {STYLE[f.mark]}"),
                Text("/" + f.path, style=STYLE[f.mark] if f.mark != "A" else ""),
                _size(f.size) if f.size else "",
            )
        if r.more:
            ft.add_row("", Text(f"… +{r.more}", style="dim"), "")
        parts.append(ft)
    return Group(*parts)


def _foot(data: LayersView, ja: bool) -> Text:
    foot = Text()
    foot.append(("合計 " if ja else "total ") + _size(data.total), style="bold")
    foot.append(f"  {len(data.layers)} " + ("レイヤー" if ja else "layer(s)"))
    foot.append(f"  {data.files} " + ("ファイル" if ja else "files"))
    foot.append(
        "  " + ("無駄 " if ja else "wasted ") + _size(data.wasted),
        style="bold red" if data.wasted else "green",
    )
    if data.wasted and data.total:
        foot.append(
            f" ({data.wasted * 100 / data.total:.0f}%"
            + (
                "：後のレイヤーが上書き・削除したのに、イメージに残っている分）"
                if ja
                else ": overwritten or deleted by a later layer, yet still shipped)"
            ),
            style="red",
        )
    return foot
