"""After a step with a predict question ran: the learner's guess, right or wrong, and
for a wrong guess the misconception behind it (the lesson's ``why``), then the answer.

The reveal takes the place of the commands in the folded explanation at the top of
the step (the commands are in the transcript below it): the bench keeps all its room
for the evidence (screens/lesson_ask.py). ``inline`` renders a question's or a
choice's `code` spans, for the question screen too.
"""

from __future__ import annotations

import re
from typing import Any

from rich.text import Text

from lab.lesson import predict
from lab.tui.strings import s

_CODE = re.compile(r"`([^`]+)`")


def inline(text: str, style: str = "") -> Text:
    """*text* with its `code` spans in bold, the backticks gone."""
    out, at = Text(style=style), 0
    for m in _CODE.finditer(text):
        out.append(text[at : m.start()])
        out.append(m.group(1), style="bold")
        at = m.end()
    out.append(text[at:])
    return out


def reveal_text(asks: list[dict[str, Any]], picks: list[int | None], lang: str) -> Text:
    """A few lines per question the learner met: the guess, right or wrong, and for a
    wrong one the misconception and the answer; with no guess, the answer and every
    wrong choice with its misconception. The question itself is shown only when a
    step has several."""
    blocks: list[Text] = []
    for params, pick in zip(asks, picks, strict=False):
        p = predict.of(params, lang)
        right = p.choices[p.answer]
        if len(asks) > 1:
            blocks.append(inline(p.question, "bold"))
        if pick is not None and 0 <= pick < len(p.choices):
            ok = pick == p.answer
            line = Text()
            line.append("✓ " if ok else "✗ ", style="bold green" if ok else "bold red")
            line.append(f"{s('predict.reveal', lang)}: ", style="bold")
            line.append_text(inline(f"{pick + 1}. {p.choices[pick].text}"))
            word = s("predict.right" if ok else "predict.wrong", lang)
            line.append(f" — {word}", style="green" if ok else "red")
            blocks.append(line)
            if ok:
                continue
            blocks.append(inline(f"  {p.choices[pick].why}", "italic"))
        else:
            blocks.append(Text(s("predict.none", lang), style="dim"))
        answer = Text()
        answer.append(f"→ {s('predict.answer', lang)}: ", style="bold cyan")
        blocks.append(answer + inline(f"{p.answer + 1}. {right.text}"))
        if pick is None:
            for i, c in enumerate(p.choices):
                if i != p.answer and c.why:
                    blocks.append(inline(f"  ✗ {i + 1}. {c.text} — {c.why}", "dim"))
    return Text("\n").join(blocks)
