"""The step's explanation: its Markdown text, the exact commands it runs, the try prose,
and whatever hints or the solution the learner has asked for."""

from __future__ import annotations

import re
from collections.abc import Callable

from markdown_it import MarkdownIt
from rich.text import Text
from textual.containers import VerticalScroll
from textual.reactive import var
from textual.widgets import Markdown, Static

from lab.lesson.model import Step
from lab.tui.cjk import CJK
from lab.tui.strings import s
from lab.tui.widgets.more import MoreHint

# a line break between two Japanese characters: Markdown would make it a space
_CJK_BREAK = re.compile(rf"(?<=[{CJK}])[ \t]*\n[ \t]*(?=[{CJK}])")
_PARSER = MarkdownIt("commonmark")  # the parser Textual's Markdown widget uses


def join_cjk_lines(markdown: str) -> str:
    """Join the source's line breaks inside Japanese sentences (outside code blocks), so
    the text does not show stray spaces where the author wrapped a line. Code blocks
    are found by the Markdown parser itself (fenced or indented, any fence length)."""
    lines = markdown.splitlines(keepends=True)
    code = [False] * len(lines)
    for token in _PARSER.parse(markdown):
        if token.type in ("fence", "code_block") and token.map:
            for i in range(*token.map):
                code[i] = True
    out: list[str] = []
    prose: list[str] = []
    for line, in_code in zip(lines, code, strict=True):
        if in_code:
            out.append(_CJK_BREAK.sub("", "".join(prose)))
            prose = []
            out.append(line)
        else:
            prose.append(line)
    out.append(_CJK_BREAK.sub("", "".join(prose)))
    return "".join(out)


_BLOCK = re.compile(r"\s|[-*+] |\d+[.)] |```")  # a code line, a list item, a fence


def paragraphs(text: str) -> str:
    """Prose as the transcript shows it: the author's line breaks inside a paragraph
    joined (Japanese without a space); blank lines, code lines (indented or fenced) and
    list items kept on their own lines."""
    out: list[str] = []
    for line in join_cjk_lines(text).split("\n"):
        prev = out[-1] if out else ""
        if prev and line and not _BLOCK.match(line) and not _BLOCK.match(prev):
            out[-1] = prev + " " + line
        else:
            out.append(line)
    return "\n".join(out)


def commands_of(step: Step, lang: str = "en") -> list[str]:
    """The commands a run of the step executes, in order, as the file spells them, with
    a comment line in the learner's language where one runs inside or stays running."""
    out: list[str] = []
    for a in step.actions:
        if a.kind in ("run", "spawn"):
            where = a.attrs.get("in")
            prefix = f"# {s('explain.in', lang).format(where=where)}\n" if where else ""
            if a.kind == "spawn":
                name = a.attrs.get("name", "")
                prefix += f"# {s('explain.spawn', lang).format(name=name)}\n"
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
    hints: list[str] | None = None,
) -> str:
    """The step as Markdown; *fill* puts known variable values into the prose; *hints*
    (default: the step's own) in the order they are shown (a failing check's first)."""
    parts = [
        f"## {s('step', lang)} {number}/{total} · {step.title_in(lang)}",
        fill(step.text_in(lang).strip()),
    ]
    cmds = [fill(c) for c in commands_of(step, lang)]  # as they will run: real paths and pids
    if cmds:
        parts.append(f"**{s('step.commands', lang)}**")
        parts.append("```sh\n" + "\n".join(cmds) + "\n```")
    tried = fill(step.try_in(lang).strip())
    if tried:
        parts.append(f"### {s('step.try', lang)}\n\n{tried}\n\n*{s('step.try_keys', lang)}*")
    hints = step.hints_in(lang) if hints is None else hints
    for i, hint in enumerate(hints[:hints_shown]):
        parts.append(f"> **{s('step.hint', lang)} {i + 1}/{len(hints)}** {fill(hint.strip())}")
    if solution:
        sol = fill("\n".join(a.body.rstrip() for a in step.of("solution")))
        if sol:
            parts.append(
                f"### {s('step.solution', lang)}\n\n```sh\n{sol}\n```\n\n*{s('step.solution_keys', lang)}*"
            )
    return "\n\n".join(p for p in parts if p)


def folded_text(
    step: Step, number: int, total: int, lang: str, fill: Callable[[str], str] = str
) -> Text:
    """What the explanation folds to after a run: the step's title and the commands it ran."""
    text = Text()
    text.append(f"{s('step', lang)} {number}/{total} · {step.title_in(lang)}", style="bold")
    text.append(f"   ({s('explain.folded', lang)})", style="dim italic")
    for cmd in commands_of(step, lang):
        for i, line in enumerate(fill(cmd).splitlines()):
            text.append("\n")
            if line.startswith("# "):
                text.append(line, style="dim")
            else:
                text.append("$ " if i == 0 or not line.startswith(" ") else "  ", style="cyan")
                text.append(line)
    return text


class Explanation(MoreHint, VerticalScroll):
    """The step's text; ``folded`` (after a run) shows only its title and commands, and
    unfolding brings the learner back where they were in the text."""

    DEFAULT_CSS = """
    Explanation #explain-fold { display: none; }
    Explanation.-folded #explain-fold { display: block; }
    Explanation.-folded #explain-md { display: none; }
    """

    folded: var[bool] = var(False)

    def __init__(self, **kw) -> None:  # type: ignore[no-untyped-def]
        super().__init__(**kw)
        self._kept_y = 0.0  # where the learner was in the whole text

    def compose(self):  # type: ignore[override]
        yield Markdown(id="explain-md")
        yield Static(id="explain-fold", markup=False)

    def watch_folded(self, folded: bool) -> None:
        if folded:
            self._kept_y = self.scroll_y
        self.set_class(folded, "-folded")
        if not folded:
            y = self._kept_y
            self.call_after_refresh(self.scroll_to, y=y, animate=False)

    def fold(self, summary: Text) -> None:
        self.query_one("#explain-fold", Static).update(summary)
        self.folded = True

    def show(self, markdown: str, keep_scroll: bool = False, stay: bool = False) -> None:
        """Show *markdown*: from its top, or (*keep_scroll*) with its end brought into view
        (a hint or the solution was added there), or (*stay*) where the learner was (the
        same text in the other language)."""
        if not (keep_scroll or stay):
            self._kept_y = 0.0
        updated = self.query_one(Markdown).update(join_cjk_lines(markdown))
        if stay:
            y = self.scroll_y

            async def back_there() -> None:
                await updated
                self.call_after_refresh(self.scroll_to, y=y, animate=False)

            self.run_worker(back_there, group="explain-scroll", exclusive=True)
            return
        if not keep_scroll:
            self.scroll_home(animate=False)
            return

        async def to_the_end() -> None:
            # a hint or the solution is added at the end: once the Markdown has its new
            # blocks (the update is asynchronous), bring the end into view
            await updated
            self.call_after_refresh(self.scroll_end, animate=False)

        self.run_worker(to_the_end, group="explain-scroll", exclusive=True)
