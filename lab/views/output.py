"""``output``: a command's output, or an earlier step's, as a panel."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rich.panel import Panel
from rich.text import Text

from lab.views.words import pick, w

PARAMS: dict[str, tuple[Any, bool]] = {
    "command": (str, False),
    "in": (str, False),
    "of": (str, False),
    "stream": (str, False),
    "title": (str, False),
    "title_ja": (str, False),
}


@dataclass
class OutputData:
    title: str
    text: str
    exit: int | None = None
    title_ja: str = ""
    of: str = ""  # the step whose output it is (its title is then said in the language)


def collect(ctx: Any, **p: Any) -> OutputData:
    stream = p.get("stream", "stdout")
    title_ja = str(p.get("title_ja") or "")
    if p.get("command"):
        c = ctx.run(p["command"], p.get("in", ""), 10.0)
        text = {"stderr": c.stderr, "both": c.stdout + c.stderr}.get(stream, c.stdout)
        return OutputData(p.get("title") or f"$ {p['command']}", text, c.exit, title_ja)
    of = p.get("of") or ctx.step_id
    return OutputData(p.get("title") or "", ctx.output(of, stream), None, title_ja, of)


def render(data: OutputData, lang: str = "en") -> Panel:
    body = Text(data.text.rstrip("\n") or w("output.none", lang))
    sub = None if data.exit in (None, 0) else w("output.exit", lang, exit=data.exit)
    title = pick(data.title, data.title_ja, lang) or w("output.of", lang, of=data.of)
    return Panel(body, title=title, title_align="left", subtitle=sub)
