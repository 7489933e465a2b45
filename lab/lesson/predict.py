"""Predict, then run: a multiple-choice question asked before a step runs.

A ```predict fence holds TOML::

    question = "Will ls start once libc is hidden?"
    question_ja = "…"
    answer = 1                      # the right choice, counted from 0
    [[choices]]
    text = "Yes: ls itself is still there"
    text_ja = "…"
    why = "A program is not enough: the loader must find every library it links."
    why_ja = "…"                    # every wrong choice says which misconception it is
    [[choices]]
    text = "No: the loader cannot find the library"
    text_ja = "…"

No free text (Japanese input is unreliable in terminals): the learner picks one.
After the run, ``reveal`` says whether the pick was right and, for each wrong
choice, the misconception behind it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class Choice:
    text: str
    why: str = ""  # the misconception behind it (wrong choices)


@dataclass
class Prediction:
    question: str
    choices: list[Choice]
    answer: int


def problems(params: dict[str, Any]) -> list[str]:
    """What is wrong with a ```predict fence's parameters."""
    out = []
    known = {"question", "question_ja", "answer", "choices"}
    out += [
        f"unknown parameter {k!r} (known: {', '.join(sorted(known))})"
        for k in params
        if k not in known
    ]
    if not isinstance(params.get("question"), str) or not params.get("question", "").strip():
        out.append("missing parameter 'question'")
    choices = params.get("choices")
    if not isinstance(choices, list) or len(choices) < 2:
        return [*out, "a prediction needs at least two [[choices]]"]
    answer = params.get("answer")
    if not isinstance(answer, int) or isinstance(answer, bool) or not 0 <= answer < len(choices):
        out.append(f"answer must be the number of the right choice, 0 to {len(choices) - 1}")
        answer = None
    for i, c in enumerate(choices):
        if not isinstance(c, dict) or not isinstance(c.get("text"), str) or not c["text"].strip():
            out.append(f"choice {i} has no text")
            continue
        extra = set(c) - {"text", "text_ja", "why", "why_ja"}
        if extra:
            out.append(f"choice {i}: unknown key(s) {', '.join(sorted(extra))}")
        if answer is not None and i != answer and not str(c.get("why", "")).strip():
            out.append(f"choice {i} is wrong but has no why: say which misconception it is")
    return out


def of(params: dict[str, Any], lang: str = "en") -> Prediction:
    """The prediction in *lang* (Japanese where given, else English)."""

    def pick(d: dict[str, Any], key: str) -> str:
        return str((d.get(f"{key}_ja") if lang == "ja" else None) or d.get(key) or "")

    choices = [Choice(pick(c, "text"), pick(c, "why")) for c in params.get("choices") or []]
    return Prediction(pick(params, "question"), choices, int(params.get("answer", 0)))


def reveal(p: Prediction, chosen: int | None, lang: str = "en") -> list[str]:
    """Lines shown after the run: the right answer, the learner's pick, the misconceptions."""
    ja = lang == "ja"
    right = p.choices[p.answer].text
    out = [("答え: " if ja else "Answer: ") + right]
    if chosen is not None and 0 <= chosen < len(p.choices):
        if chosen == p.answer:
            out.append("あなたの予想は当たりました。" if ja else "Your prediction was right.")
        else:
            mine = p.choices[chosen]
            out.append(("あなたの予想: " if ja else "You predicted: ") + mine.text)
            out.append(mine.why)
            return out
    for i, c in enumerate(p.choices):
        if i != p.answer and c.why:
            out.append(f"✗ {c.text} — {c.why}")
    return out
