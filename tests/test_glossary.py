"""docs/glossary.md fixes the Japanese terms: no text a learner reads in Japanese uses a
spelling the glossary rules out (フォルダ for フォルダー, ネームスペース for 名前空間…)."""

from __future__ import annotations

import re

from tests.support import REPO

# the glossary's "not" column, as patterns (a long vowel missing, another word)
AVOID = {
    r"フォルダ(?!ー)": "フォルダー",
    r"キャラクタ(?!ー)": "キャラクター",
    r"レイヤ(?!ー)": "レイヤー",
    r"ユーザ(?!ー)": "ユーザー",
    r"サーバ(?!ー)": "サーバー",
    r"コンテナー": "コンテナ",
    r"ディレクトリー": "ディレクトリ",
    r"ライブラリー": "ライブラリ",
    r"ネームスペース": "名前空間",
    r"私的な": "自分だけの",
    r"マウントテーブル": "マウント表",
    r"インタフェース|インターフェイス": "インターフェース",
    r"ケイパビリティ": "ケーパビリティ",
    r"終了コード": "終了ステータス",
    r"読込専用": "読み取り専用",
    r"クォーター": "クォータ",
    r"ランタイム環境": "実行環境",
    r"ポート転送": "ポートフォワード",
}
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


def _japanese_lines():
    sources = [
        *sorted((REPO / "lessons").glob("*/lesson.ja.md")),
        *sorted((REPO / "lessons").glob("*/lesson.md")),  # the *_ja fields
        REPO / "lessons" / "parts.toml",
        REPO / "lab" / "tui" / "strings.py",
        REPO / "lab" / "lesson" / "i18n.py",
        REPO / "lab" / "lesson" / "check_words.py",
        *sorted((REPO / "lab" / "views").glob("*.py")),
    ]
    for path in sources:
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if JAPANESE.search(line):
                yield path.relative_to(REPO), n, line


def test_the_glossary_exists_and_names_every_rule() -> None:
    text = (REPO / "docs" / "glossary.md").read_text(encoding="utf-8")
    for want in AVOID.values():
        assert want in text


def test_no_japanese_text_uses_a_spelling_the_glossary_rules_out() -> None:
    found = [
        f"{path}:{n}: {m.group(0)} → {want}"
        for path, n, line in _japanese_lines()
        for pattern, want in AVOID.items()
        for m in [re.search(pattern, line)]
        if m
    ]
    assert not found, "\n".join(found)
