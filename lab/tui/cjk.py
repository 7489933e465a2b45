"""Line breaking for Japanese in the app.

Textual and Rich break lines only at spaces, and fold a run longer than the line
wherever it overflows. Japanese has no spaces between words, so a paragraph broke
at the few spaces around ASCII words (``hello.sh``) and left ragged half-empty
lines. ``install()`` makes each CJK character a unit a line may break after, and
keeps closing punctuation and small kana with the character before them (and opening
brackets with the one after), the basic kinsoku rules.
"""

from __future__ import annotations

import re

CJK = "\u3000-\u303f\u3040-\u309f\u30a0-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff00-\uffef"
# never at the start of a line: closing brackets and punctuation, small kana, the long vowel mark
CLOSE = "、。，．・：；？！）」』】〕〉》ー…ぁぃぅぇぉっゃゅょゎァィゥェォッャュョヮヵヶ"
# never at the end of a line: opening brackets
OPEN = "（「『【〔〈《"
UNIT = rf"[{OPEN}]*[{CJK}][{CLOSE}]*"

TEXTUAL_CHUNK = re.compile(rf"{UNIT}\s*|[^\s{CJK}]+\s*|\s+")
RICH_WORD = re.compile(rf"\s*(?:{UNIT}|[^\s{CJK}]+)\s*")


# (module, name, our regex): the private names patched; rich is pinned in pyproject.toml
# and tests/test_tui_catalog.py fails loudly if a release renames them
PATCHED = (("textual._wrap", "re_chunk", TEXTUAL_CHUNK), ("rich._wrap", "re_word", RICH_WORD))


def install() -> list[str]:
    """Patch the word splitters of Textual's and Rich's wrappers (idempotent; the app
    calls it once). Returns the names it could not find (then nothing is patched there:
    lines break at spaces only, as without the patch)."""
    import importlib

    missing = []
    for module_name, name, regex in PATCHED:
        module = importlib.import_module(module_name)
        if hasattr(module, name):
            setattr(module, name, regex)
        else:
            missing.append(f"{module_name}.{name}")
    return missing
