"""How the app is being shown: read-only (a projector view) and in a browser.

``shikumi serve --read-only`` starts each browser's app with ``SHIKUMI_READ_ONLY=1``
in its environment; textual-serve starts it with ``TEXTUAL_DRIVER`` naming
Textual's web driver. The lesson session reads both (never the screen), so a
read-only viewer cannot run a step, open a shell or throw progress away, and a
browser, which has no terminal to hand to a shell, is told how to practise.
"""

from __future__ import annotations

import os

READ_ONLY_ENV = "SHIKUMI_READ_ONLY"

_TEXT = {
    "read_only": {
        "en": "this lab is shown read-only (shikumi serve --read-only): steps do not run"
        " and shells do not open here",
        "ja": "この画面は閲覧専用です (shikumi serve --read-only)。ここではステップを実行"
        "できず、シェルも開けません",
    },
    "browser_shell": {
        "en": "a browser has no terminal for the shell: open an SSH terminal to the VM"
        " (vagrant ssh) and practise there: sudo shikumi shell",
        "ja": "ブラウザにはシェル用の端末がありません。VM に SSH で入り (vagrant ssh)、"
        "sudo shikumi shell で練習してください",
    },
    "read_only_reset": {
        "en": "this lab is shown read-only: the progress is kept",
        "ja": "閲覧専用のため、進捗は消しません",
    },
}


def read_only() -> bool:
    return os.environ.get(READ_ONLY_ENV, "") not in ("", "0")


def in_browser() -> bool:
    return "web_driver" in os.environ.get("TEXTUAL_DRIVER", "")


def say(key: str, lang: str) -> str:
    """The line for *key* in *lang* (English if the language is unknown)."""
    texts = _TEXT[key]
    return texts.get(lang, texts["en"])
