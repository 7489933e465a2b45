"""``rootfs``: what an ```op rootfs built — its files by kind and size — beside
the slides' `cp -r /bin /lib /usr…` (sized up, never copied)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
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
    return f"{n / 1e9:.2f} GB" if n >= 1e9 else f"{n / 1e6:.1f} MB"


def render(data: RootfsView, lang: str = "en") -> Group:
    ja = lang == "ja"
    t = Table(title=f"rootfs ({data.method}, {data.seconds * 1000:.0f} ms)", title_justify="left")
    t.caption, t.caption_justify = data.root, "left"
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
    parts: list[Any] = [t]
    if data.files:
        ft = Table(show_header=False, box=None)
        for path, kind, size in data.files:
            ft.add_row(path, kind, _mb(size) if size else "")
        parts.append(ft)
    if data.estimate_bytes:
        ratio = data.estimate_bytes / max(data.total, 1)
        width = 40
        small = max(1, round(width / ratio)) if ratio > 1 else width
        bars = Text()
        bars.append(
            ("ldd の最小構成 " if ja else "ldd closure  ") + "█" * small + f" {_mb(data.total)}\n",
            style="green",
        )
        bars.append(
            ("cp -r の場合    " if ja else "cp -r        ")
            + "█" * width
            + f" {_mb(data.estimate_bytes)} ({data.estimate_files} files)",
            style="red",
        )
        bars.append(f"\n{ratio:,.0f}× " + ("大きい" if ja else "larger"), style="bold")
        parts.append(bars)
    if data.tar:
        parts.append(Text(f"tar: {data.tar} ({_mb(data.tar_bytes)})", style="dim"))
    return Group(*parts)
