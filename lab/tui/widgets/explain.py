"""The step's explanation: its Markdown text, the exact commands it runs, the try prose,
and whatever hints or the solution the learner has asked for."""

from __future__ import annotations

from collections.abc import Callable

from textual.containers import VerticalScroll
from textual.widgets import Markdown

from lab.lesson.model import Step
from lab.tui.strings import s


def commands_of(step: Step) -> list[str]:
    """The commands a run of the step executes, in order, as the file spells them."""
    out: list[str] = []
    for a in step.actions:
        if a.kind in ("run", "spawn"):
            where = a.attrs.get("in")
            prefix = f"# in {where}\n" if where else ""
            if a.kind == "spawn":
                prefix += f"# spawn {a.attrs.get('name', '')}: stays running\n".replace(" :", ":")
            out.append(prefix + a.body.rstrip())
    return out


def step_markdown(
    step: Step,
    number: int,
    total: int,
    lang: str,
    hints_shown: int = 0,
    solution: bool = False,
    fill: Callable[[str], str] = str,
) -> str:
    """The step as Markdown; *fill* puts known variable values into the prose."""
    parts = [
        f"## {s('step', lang)} {number}/{total} · {step.title_in(lang)}",
        fill(step.text_in(lang).strip()),
    ]
    cmds = commands_of(step)
    if cmds:
        parts.append(f"**{s('step.commands', lang)}**")
        parts.append("```sh\n" + "\n".join(cmds) + "\n```")
    tried = fill(step.try_in(lang).strip())
    if tried:
        parts.append(f"### {s('step.try', lang)}\n\n{tried}\n\n*{s('step.try_keys', lang)}*")
    hints = step.hints_in(lang)
    for i, hint in enumerate(hints[:hints_shown]):
        parts.append(f"> **{s('step.hint', lang)} {i + 1}/{len(hints)}** {fill(hint.strip())}")
    if solution:
        sol = "\n".join(a.body.rstrip() for a in step.of("solution"))
        if sol:
            parts.append(
                f"### {s('step.solution', lang)}\n\n```sh\n{sol}\n```\n\n*{s('step.solution_keys', lang)}*"
            )
    return "\n\n".join(p for p in parts if p)


class Explanation(VerticalScroll):
    def compose(self):  # type: ignore[override]
        yield Markdown(id="explain-md")

    def show(self, markdown: str, keep_scroll: bool = False) -> None:
        self.query_one(Markdown).update(markdown)
        if not keep_scroll:
            self.scroll_home(animate=False)
        else:
            self.call_after_refresh(self.scroll_end, animate=False)
