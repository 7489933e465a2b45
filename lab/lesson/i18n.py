"""Languages: which one to show, translation freshness hashes, and shared UI words.

pick_lang(cli_value)   --lang if given, else the locale (ja_* → "ja"), else "en"
step_hash(step)        8 hex digits over a step's English prose; lesson.ja.md's
                       heading carries it as {#id src=HASH}, so `shikumi check`
                       can tell when the English changed under a translation
t(key, lang)           the few words the player and the app share
"""

from __future__ import annotations

import hashlib
import os

from lab.lesson.model import LANGS, Step

_WORDS: dict[str, dict[str, str]] = {
    "passed": {"en": "passed", "ja": "成功"},
    "failed": {"en": "failed", "ja": "失敗"},
    "timeout": {"en": "timeout", "ja": "時間切れ"},
    "skipped": {"en": "skipped", "ja": "スキップ"},
    "cancelled": {"en": "cancelled", "ja": "中止"},
    "Step": {"en": "Step", "ja": "ステップ"},
    "Hint": {"en": "Hint", "ja": "ヒント"},
    "Solution": {"en": "Solution", "ja": "解答"},
    "Try it yourself": {"en": "Try it yourself", "ja": "自分でやってみよう"},
    "Predict": {"en": "Predict", "ja": "予想しよう"},
    "expected to fail": {"en": "expected to fail", "ja": "失敗するのが正解"},
    "Run": {"en": "Run", "ja": "実行"},
    "Check": {"en": "Check", "ja": "確認"},
    "Lesson": {"en": "Lesson", "ja": "レッスン"},
    "Lessons": {"en": "Lessons", "ja": "レッスン一覧"},
    "done": {"en": "done", "ja": "完了"},
    "missing": {"en": "missing", "ja": "不足"},
    "available": {"en": "available", "ja": "利用可"},
    "requires": {"en": "requires", "ja": "必要なもの"},
    "Next": {"en": "Next", "ja": "次へ"},
    "Back": {"en": "Back", "ja": "戻る"},
    "Reset": {"en": "Reset", "ja": "リセット"},
    "timed out": {"en": "timed out", "ja": "タイムアウト"},
}


def pick_lang(cli_value: str | None) -> str:
    """--lang wins; else LC_ALL / LC_MESSAGES / LANG (the first one set) starting "ja"."""
    if cli_value:
        return cli_value if cli_value in LANGS else "en"
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        value = os.environ.get(var, "")
        if value:
            return "ja" if value.lower().startswith("ja") else "en"
    return "en"


def _norm(text: str) -> str:
    return " ".join(text.split())


def step_hash(step: Step) -> str:
    """8 hex digits of sha256 over the English title, explanation, try and hints."""
    parts = [
        step.title,
        step.text,
        *(a.body for a in step.of("try")),
        *(a.body for a in step.of("hint")),
    ]
    data = "\x1f".join(_norm(p) for p in parts)
    return hashlib.sha256(data.encode("utf-8")).hexdigest()[:8]


def t(key: str, lang: str) -> str:
    """The UI word *key* in *lang* (the key itself when there is no entry)."""
    entry = _WORDS.get(key)
    if entry is None:
        return key
    return entry.get(lang) or entry["en"]


def words() -> dict[str, dict[str, str]]:
    """The whole table (a copy), e.g. for a test that every word has both languages."""
    return {k: dict(v) for k, v in _WORDS.items()}
