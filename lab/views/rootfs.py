"""``rootfs``: what an ```op rootfs built — its files by kind and size — beside
the slides' `cp -r /bin /lib /usr…` (sized up, never copied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.cells import cell_len
from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.table import Table
from rich.text import Text

PARAMS: dict[str, tuple[Any, bool]] = {
    "of": (str, False),  # the step whose ```op rootfs to show (default: this step)
    "files": (bool, False),  # list every file (default: a summary per kind)
}
KIND_ORDER = ("program", "library", "loader", "script", "symlink", "file")


@dataclass
class RootfsView:
    root: str
    method: str
    seconds: float
    total: int
    kinds: dict[str, tuple[int, int]] = field(default_factory=dict)  # kind -> (files, bytes)
    files: list[tuple[str, str, int]] = field(default_factory=list)  # (path, kind, bytes)
    estimate_bytes: int = 0
    estimate_files: int = 0
    tar: str = ""
    tar_bytes: int = 0


def collect(ctx: Any, **p: Any) -> RootfsView:
    step = p.get("of") or ctx.step_id
    res = ctx.op_results.get(step)
    if res is None or not hasattr(res, "rootfs"):
        raise ValueError(f"step {step!r} built no rootfs (an ```op rootfs comes first)")
    r = res.rootfs
    kinds: dict[str, tuple[int, int]] = {}
    for f in r.files:
        n, b = kinds.get(f.kind, (0, 0))
        kinds[f.kind] = (n + 1, b + f.size)
    files = sorted(
        ((f.path, f.kind, f.size) for f in r.files),
        key=lambda x: (KIND_ORDER.index(x[1]) if x[1] in KIND_ORDER else 9, x[0]),
    )
    est = res.estimate
    return RootfsView(
        str(r.root),
        r.method,
        r.seconds,
        r.bytes,
        kinds,
        files if p.get("files") else [],
        est.bytes if est else 0,
        est.files if est else 0,
        res.tar,
        res.tar_bytes,
    )


def _mb(n: int) -> str:
    if n >= 1e9:
        return f"{n / 1e9:.2f} GB"
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.0f} kB" if n >= 1e4 else f"{n / 1e3:.1f} kB"


class Bars:
    """The ldd closure beside the slides' `cp -r`, two bars as wide as the panel allows."""

    def __init__(self, data: RootfsView, ja: bool) -> None:
        self.data, self.ja = data, ja

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        d, ja = self.data, self.ja
        labels = ("ldd の最小構成", "cp -r の場合") if ja else ("ldd closure", "cp -r")
        pad = max(cell_len(x) for x in labels) + 1
        sizes = (_mb(d.total), _mb(d.estimate_bytes))
        width = max(8, min(40, options.max_width - pad - max(len(x) for x in sizes) - 3))
        ratio = d.estimate_bytes / max(d.total, 1)
        small = max(1, round(width / ratio)) if ratio > 1 else width
        bars = Text()
        for label, n, size, style in (
            (labels[0], small, sizes[0], "green"),
            (labels[1], width, sizes[1], "red"),
        ):
            bars.append(label + " " * (pad - cell_len(label)), style=style)
            bars.append("█" * n + f" {size}\n", style=style)
        files = f"{d.estimate_files:,}"
        bars.append(f"{ratio:,.0f} 倍の大きさ" if ja else f"{ratio:,.0f}× larger", style="bold")
        bars.append(
            f"（cp -r は {files} ファイル）" if ja else f" (cp -r: {files} files)", style="dim"
        )
        yield bars


def render(data: RootfsView, lang: str = "en") -> Group:
    ja = lang == "ja"
    t = Table(title=f"rootfs ({data.method}, {data.seconds * 1000:.0f} ms)", title_justify="left")
    t.add_column("種類" if ja else "kind")
    t.add_column("ファイル数" if ja else "files", justify="right")
    t.add_column("サイズ" if ja else "size", justify="right")
    for kind in sorted(data.kinds, key=lambda k: KIND_ORDER.index(k) if k in KIND_ORDER else 9):
        n, b = data.kinds[kind]
        t.add_row(kind, str(n), _mb(b) if b else "")
    t.add_row(
        "[bold]" + ("合計" if ja else "total") + "[/]",
        str(sum(n for n, _ in data.kinds.values())),
        f"[bold]{_mb(data.total)}[/]",
    )
    parts: list[Any] = [t, Text(data.root, style="dim", overflow="fold")]
    if data.files:
        ft = Table(show_header=False, box=None)
        ft.add_column(overflow="fold")
        ft.add_column(style="dim", no_wrap=True)
        ft.add_column(justify="right", no_wrap=True)
        for path, kind, size in data.files:
            ft.add_row(path, kind, _mb(size) if size else "")
        parts.append(ft)
    if data.estimate_bytes:
        parts.append(Bars(data, ja))
    if data.tar:
        tar = Table.grid(padding=(0, 1))
        tar.add_column(no_wrap=True)
        tar.add_column(overflow="fold")
        tar.add_row("tar", f"{data.tar} ({_mb(data.tar_bytes)})", style="dim")
        parts.append(tar)
    return Group(*parts)
