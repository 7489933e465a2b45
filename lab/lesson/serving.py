"""How the app is being shown: read-only (a projector view) and in a browser.

``shikumi serve --read-only`` starts each browser's app with ``SHIKUMI_READ_ONLY=1``
in its environment; textual-serve starts it with ``TEXTUAL_DRIVER`` naming
Textual's web driver. The lesson session reads both (never the screen), so a
read-only viewer cannot run a step, open a shell or throw progress away, and a
browser, which has no terminal to hand to a shell, is told how to practise.
"""

from __future__ import annotations

import os
import signal

READ_ONLY_ENV = "SHIKUMI_READ_ONLY"

_TEXT = {  # short: they are shown on one status line, after "cannot …:"
    "read_only": {
        "en": "a read-only view (shikumi serve --read-only): steps do not run, shells do not open",
        "ja": "閲覧専用の画面です (shikumi serve --read-only): ステップの実行もシェルもできません",
    },
    "browser_shell": {
        "en": "no terminal in a browser: practise in an SSH terminal to the VM: sudo shikumi shell",
        "ja": "ブラウザには端末がありません: VM に SSH で入り sudo shikumi shell で練習してください",
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


def die_with_parent() -> None:
    """An app that textual-serve started gets SIGHUP when the server goes, even by
    SIGKILL (its terminal "hangs up": the app's guard cleans up and ends it)."""
    import ctypes

    pr_set_pdeathsig = 1
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_pdeathsig, int(signal.SIGHUP), 0, 0, 0) != 0:
        return  # not Linux: the app ends when its websocket closes, as before
    if os.getppid() == 1:  # the server died before we asked
        os.kill(os.getpid(), signal.SIGHUP)
