"""``escape``: the chroot escape under chroot and under pivot_root, side by side, from
an ```op runtime.escape step: how each container's root was made, what the escape
printed, and whether it got out (red) or was held (green)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

PARAMS: dict[str, tuple[Any, bool]] = {
    "of": (str, False),  # the step whose ```op runtime.escape to show (default: this step)
    "title": (str, False),
    "title_ja": (str, False),
}
# the lines of each stage worth showing: how the root was set
_KEY = ("exec chroot", "pivot_root", "umount -l", "mount --bind")


@dataclass
class Side:
    root_mode: str
    escaped: bool
    output: str
    key_commands: list[str] = field(default_factory=list)
    root: str = ""  # the container's root directory, written ROOT in key_commands


@dataclass
class EscapeView:
    sides: list[Side]
    title: str = ""
    title_ja: str = ""


def _root_of(commands: list[str]) -> str:
    """The directory the container's root was set to (``chroot DIR …``, ``mount --bind DIR``)."""
    for c in commands:
        words = c.split()
        if c.startswith("exec chroot") and len(words) > 2:
            return words[2]
        if c.startswith("mount --bind") and len(words) > 2:
            return words[2]
    return ""


def from_results(results: list[Any]) -> list[Side]:
    out = []
    for r in results:
        keys = [
            c.split(" perl ", 1)[0] + " perl -e …" if c.startswith("exec chroot") else c
            for c in r.commands
            if any(c.startswith(k) for k in _KEY)
        ]
        root = _root_of(keys)
        if root:
            keys = [k.replace(root, "ROOT") for k in keys]
        out.append(Side(r.root_mode, bool(r.escaped), r.output.strip(), keys, root))
    return out


def collect(ctx: Any, **p: Any) -> EscapeView:
    step = p.get("of") or ctx.step_id
    res = ctx.op_results.get(step)
    if not isinstance(res, list) or not all(hasattr(r, "escaped") for r in res):
        raise ValueError(f"step {step!r} ran no ```op runtime.escape")
    return EscapeView(from_results(res), str(p.get("title") or ""), str(p.get("title_ja") or ""))


def render(data: EscapeView, lang: str = "en") -> Group:
    ja = lang == "ja"
    title = (data.title_ja if ja and data.title_ja else data.title) or (
        "同じ脱出を二つのコンテナで" if ja else "the same escape in two containers"
    )
    t = Table(title=title, title_justify="left", show_lines=True)
    for s in data.sides:
        t.add_column(f"root: {s.root_mode}", vertical="top", overflow="fold")
    verdicts = []
    for s in data.sides:
        if s.escaped:
            verdicts.append(
                Text(
                    "脱出された：ホストのファイルが見えた"
                    if ja
                    else "ESCAPED: the host's files are reachable",
                    style="bold red",
                )
            )
        else:
            verdicts.append(
                Text(
                    "持ちこたえた：外へは出られない" if ja else "HELD: there is no way out",
                    style="bold green",
                )
            )
    t.add_row(*verdicts)
    t.add_row(*[Text(s.output or ("（出力なし）" if ja else "(no output)")) for s in data.sides])
    t.add_row(*[Text("\n".join(f"$ {c}" for c in s.key_commands), style="dim") for s in data.sides])
    parts: list[Any] = [t]
    for s in data.sides:
        if s.root:
            where = Text(f"ROOT ({s.root_mode}) = ", style="bold dim")
            where.append(s.root, style="dim")
            parts.append(where)
    return Group(*parts)
