"""``speedbars``: how long a container takes to start here — by hand vs `docker run --rm` —
as bars on one scale, from the ```op speed steps named in ``of``. A step that was
skipped (no Docker) is simply left out."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Console, ConsoleOptions, Group, RenderResult
from rich.text import Text

PARAMS: dict[str, tuple[Any, bool]] = {
    "of": (list, False),  # step ids whose ```op speed to show (default: this step)
    "title": (str, False),
    "title_ja": (str, False),
}
WIDTH = 44


@dataclass
class Bar:
    label: str
    command: str
    median: float  # seconds
    runs: list[float] = field(default_factory=list)


@dataclass
class SpeedBars:
    bars: list[Bar]
    title: str = ""
    title_ja: str = ""
    missing: list[str] = field(default_factory=list)  # what could not be measured, and why


def from_comparisons(comparisons: list[Any]) -> list[Bar]:
    """One bar per distinct measurement (the by-hand time once, even if two steps measured it)."""
    bars: dict[str, Bar] = {}
    for c in comparisons:
        for t in (c.by_hand, c.docker):
            if t is not None and t.runs:
                bars[t.label] = Bar(t.label, t.command, t.median, list(t.runs))
    return list(bars.values())


def collect(ctx: Any, **p: Any) -> SpeedBars:
    steps = [str(s) for s in p.get("of") or [ctx.step_id]]
    found = []
    missing = []
    for s in steps:
        res = ctx.op_results.get(s)
        if res is None or not hasattr(res, "by_hand"):
            missing.append(s)
            continue
        found.append(res)
        if res.docker is None and res.why_no_docker:
            missing.append(res.why_no_docker)
    if not found:
        raise ValueError(f"no ```op speed ran in {', '.join(steps)}")
    return SpeedBars(
        from_comparisons(found), str(p.get("title") or ""), str(p.get("title_ja") or ""), missing
    )


def _ms(s: float) -> str:
    return f"{s * 1000:.1f} ms" if s < 1 else f"{s:.2f} s"


class Bars:
    """The bars, as long as the width they get allows (a view panel is ~52 cells): each
    measurement a line of label, time and ratio, and its bar below, on one scale."""

    def __init__(self, data: SpeedBars, ja: bool) -> None:
        self.data, self.ja = data, ja

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        ja, bars = self.ja, self.data.bars
        width = max(10, min(WIDTH, options.max_width - 2))
        top = max(b.median for b in bars) or 1.0
        fastest = min(b.median for b in bars) or 1e-9
        colors = ["green", "magenta", "cyan"]
        for i, b in enumerate(bars):
            n = max(1, round(b.median / top * width))
            label = {"by hand": "手作業", "docker run --rm": "docker run --rm"}.get(
                b.label, b.label
            )
            ratio = b.median / fastest
            head = Text()
            head.append(label if ja else b.label, style="bold")
            head.append(f"  {_ms(b.median)}", style="bold " + colors[i % len(colors)])
            if ratio >= 1.05:
                head.append(f"  ×{ratio:,.0f}", style="bold")
            head.append(f"  ({len(b.runs)} 回)" if ja else f"  ({len(b.runs)} runs)", style="dim")
            yield head
            yield Text("█" * n, style=colors[i % len(colors)])


def render(data: SpeedBars, lang: str = "en") -> Group:
    ja = lang == "ja"
    title = (data.title_ja if ja and data.title_ja else data.title) or (
        "コンテナの起動にかかる時間（中央値）" if ja else "time to start a container (median)"
    )
    parts: list[Any] = [Text(title, style="bold")]
    if not data.bars:
        return Group(*parts, Text("計測なし" if ja else "nothing measured", style="yellow"))
    parts.append(Bars(data, ja))
    for b in data.bars:
        parts.append(Text(f"$ {b.command}", style="dim"))
    if len(data.bars) == 1 and data.missing:
        parts.append(
            Text(
                ("比べられなかったもの: " if ja else "not measured: ") + "; ".join(data.missing),
                style="yellow",
            )
        )
    return Group(*parts)
