"""The views' own words (titles, column labels, notes), in English and Japanese.

Lessons give their titles and labels in both languages (``title``/``title_ja``,
``label``/``label_ja``; ``pick`` chooses); what a view writes by itself comes
from here (``w``). The string catalog of the app (lab/tui/strings.py) cannot be
used: views sit below lab/tui and lab/lesson and must not import them.
"""

from __future__ import annotations

_EN: dict[str, str] = {
    "output.of": "output of step “{of}”",
    "output.none": "(no output)",
    "output.exit": "exit status {exit}",
    "table.key": "key",
    "table.value": "value",
    "table.meaning": "meaning",
    "table.absent": "(not present)",
    "tree.more": "… {n} more",
    "trees.only": "◀ only here",
    "proctree.here": "this one",
    "proctree.title": "pid {pid}",
    "lddtree.title": "shared libraries",
    "lddtree.vdso": "provided by the kernel",
    "lddtree.loader": "the loader",
    "lddtree.missing": "not found",
    "lddtree.static": "static",
    "diff.changed": "{n} line(s) differ",
    "compare.other": "last row: lines with no key (as printed)",
}

_JA: dict[str, str] = {
    "output.of": "ステップ「{of}」の出力",
    "output.none": "（出力なし）",
    "output.exit": "終了ステータス {exit}",
    "table.key": "項目",
    "table.value": "値",
    "table.meaning": "意味",
    "table.absent": "（なし）",
    "tree.more": "… ほか {n} 件",
    "trees.only": "◀ こちらだけ",
    "proctree.here": "ここ",
    "proctree.title": "pid {pid}",
    "lddtree.title": "共有ライブラリ",
    "lddtree.vdso": "カーネルが用意",
    "lddtree.loader": "ローダー",
    "lddtree.missing": "見つからない",
    "lddtree.static": "静的リンク",
    "diff.changed": "違い：{n} 行",
    "compare.other": "最後の行：キーのない行（出力のまま）",
}

# the name a view's panel is framed with (English: the view's own name, as lessons write it)
NAMES_JA: dict[str, str] = {
    "output": "出力",
    "table": "表",
    "tree": "ツリー",
    "trees": "二つのツリー",
    "diff": "差分",
    "proctree": "プロセスツリー",
    "compare": "見比べ",
    "nsinodes": "名前空間の inode",
    "lddtree": "共有ライブラリ",
    "fstypes": "ファイルシステムの種類",
    "rootfs": "ルートファイルシステム",
    "statuscompare": "status の見比べ",
    "netdiagram": "ネットワーク図",
    "cgusage": "cgroup の使用量",
    "speedbars": "速さ",
    "escape": "脱出",
    "overlay": "オーバーレイ",
    "layers": "レイヤー",
    "savexport": "save と export",
}

WORDS: dict[str, dict[str, str]] = {"en": _EN, "ja": _JA}


def view_name(name: str, lang: str) -> str:
    """What a view's panel is called in *lang*."""
    return NAMES_JA.get(name, name) if lang == "ja" else name


def w(key: str, lang: str = "en", **values: object) -> str:
    """The view word *key* in *lang* (English when *lang* is not known)."""
    table = WORDS.get(lang, _EN)
    return table.get(key, _EN[key]).format(**values)


def pick(en: str, ja: str, lang: str) -> str:
    """A lesson's text in *lang*: the Japanese one in Japanese when it is given."""
    return (ja or en) if lang == "ja" else en
