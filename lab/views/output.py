"""``output``: a command's output, or an earlier step's, as a panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.panel import Panel
from rich.text import Text

PARAMS: dict[str, tuple[Any, bool]] = {
    "command": (str, False),
    "in": (str, False),
    "of": (str, False),
    "stream": (str, False),
    "title": (str, False),
}


@dataclass
class OutputData:
    title: str
    text: str
    exit: int | None = None


def collect(ctx: Any, **p: Any) -> OutputData:
    stream = p.get("stream", "stdout")
    if p.get("command"):
        c = ctx.run(p["command"], p.get("in", ""), 10.0)
        text = {"stderr": c.stderr, "both": c.stdout + c.stderr}.get(stream, c.stdout)
        return OutputData(p.get("title") or f"$ {p['command']}", text, c.exit)
    of = p.get("of") or ctx.step_id
    return OutputData(p.get("title") or f"output of {of}", ctx.output(of, stream))


def render(data: OutputData, lang: str = "en") -> Panel:
    body = Text(data.text.rstrip("\n") or ("（出力なし）" if lang == "ja" else "(no output)"))
    sub = None if data.exit in (None, 0) else f"exit {data.exit}"
    return Panel(body, title=data.title, title_align="left", subtitle=sub)
