"""The app's tables: strings in both languages, the command table (keys, palette, help),
the part names as lesson data, the CJK line-break patch on the pinned rich, sizes."""

from __future__ import annotations

import re
import tomllib
from importlib.metadata import version
from pathlib import Path

import pytest

from lab.lesson import catalog
from lab.lesson.i18n import words
from lab.tui import cjk, commands
from lab.tui.strings import LANGS, s
from lab.tui.strings import catalog as strings_catalog
from lab.tui.widgets.explain import join_cjk_lines
from lab.views.units import size_text

REPO = Path(__file__).resolve().parent.parent


def test_every_string_key_exists_in_both_languages():
    tables = strings_catalog()
    assert set(LANGS) == {"en", "ja"}
    assert tables["en"].keys() == tables["ja"].keys()
    empty = [(lang, k) for lang, table in tables.items() for k, v in table.items() if not v]
    assert empty == []


def test_every_engine_word_exists_in_both_languages():
    missing = [k for k, v in words().items() if not v.get("en") or not v.get("ja")]
    assert missing == []


def test_every_command_label_is_a_string_in_both_languages():
    tables = strings_catalog()
    for c in commands.COMMANDS:
        assert c.label in tables["en"] and c.label in tables["ja"], c
        if c.palette is not None:
            assert all(c.palette), c
        if c.help is not None:
            assert all(c.help), c


def test_bindings_come_from_the_table_in_the_language_asked():
    en = {b.action: b for b in commands.bindings("lesson", "en")}
    ja = {b.action: b for b in commands.bindings("lesson", "ja")}
    assert en["run"].description == "Run" and ja["run"].description == "実行"
    assert en["run"].id == "key.run" and en["next"].key == "n,right"
    assert [b.key for b in commands.bindings("list")] == ["enter"]
    assert commands.bindings("list")[0].priority
    with pytest.raises(ValueError, match="unknown scope"):
        commands.bindings("nowhere")


def test_the_app_screens_use_the_table():
    from lab.tui.app import ShikumiApp
    from lab.tui.screens.lesson_list import LessonListScreen

    assert [b.action for b in ShikumiApp.BINDINGS] == [
        c.action for c in commands.commands("app") if c.keys
    ]
    assert [b.action for b in LessonListScreen.BINDINGS] == ["open"]


def test_palette_and_help_cover_the_same_commands_in_both_languages():
    for scope in ("app", "lesson"):
        en, ja = list(commands.palette(scope, "en")), list(commands.palette(scope, "ja"))
        assert [a for *_, a in en] == [a for *_, a in ja] and en != ja
    en, ja = commands.help_rows("en"), commands.help_rows("ja")
    assert [k for k, _ in en] == [k for k, _ in ja]
    assert en[0] == ("r", en[0][1]) and en[-1][0] == "q"
    # every action the help names has a binding or is Textual's own palette
    helped = {c.action for c in commands.COMMANDS if c.help}
    bound = {c.action for c in commands.COMMANDS if c.keys}
    assert helped - bound == {"command_palette"}


def test_rich_is_pinned_to_the_installed_version():
    data = tomllib.loads((REPO / "pyproject.toml").read_text())
    pins = [d for d in data["project"]["dependencies"] if re.match(r"rich\b", d)]
    assert pins == [f"rich=={version('rich')}"]


def test_the_cjk_patch_finds_the_names_it_patches():
    import rich._wrap
    import textual._wrap

    # if a rich or Textual release renames these, Japanese stops breaking between characters
    assert isinstance(getattr(rich._wrap, "re_word", None), re.Pattern)
    assert isinstance(getattr(textual._wrap, "re_chunk", None), re.Pattern)
    assert cjk.install() == []
    assert rich._wrap.re_word is cjk.RICH_WORD and textual._wrap.re_chunk is cjk.TEXTUAL_CHUNK


def test_the_cjk_patch_breaks_japanese_between_characters():
    from rich.console import Console
    from rich.text import Text

    cjk.install()
    # folding alone would start a line with "。"; the patch keeps it with "え"
    lines = Text("あいうえ。かき").wrap(Console(width=8), 8)
    assert [line.plain.rstrip() for line in lines] == ["あいう", "え。かき"]


def test_part_names_are_lesson_data():
    parts = {ls.split("=", 1)[1].strip().strip('"') for ls in _lesson_lines("part = ")}
    assert parts, "no lesson names its part"
    for part in parts:
        assert catalog.part_name(part, "ja") != part, f"part {part!r} has no Japanese name"
        assert catalog.part_name(part, "en") == part
    assert catalog.part_name("A part of my own", "ja") == "A part of my own"


def test_a_lesson_folder_of_ones_own_names_its_parts(tmp_path):
    (tmp_path / "parts.toml").write_text('["Mine"]\nja = "私の"\n')
    assert catalog.part_name("Mine", "ja", [tmp_path]) == "私の"
    assert catalog.part_name("Images", "ja", [tmp_path]) == "イメージ"  # the bundled ones still


def _lesson_lines(prefix: str) -> list[str]:
    out = []
    for f in sorted((REPO / "lessons").glob("*/lesson.md")):
        out += [ln for ln in f.read_text().splitlines() if ln.startswith(prefix)]
    return out


def test_sizes():
    assert [size_text(n) for n in (0, 999, 1000, 1234, 5_800_000, 1_200_000_000)] == [
        "0 B",
        "999 B",
        "1.0 kB",
        "1.2 kB",
        "5.8 MB",
        "1.2 GB",
    ]


def test_japanese_line_breaks_join_outside_code_only():
    md = "一行目\n二行目\n\n~~~~sh\nあ\nい\n~~~~\n\n    う\n    え\n\nお\nか\n"
    assert join_cjk_lines(md) == "一行目二行目\n\n~~~~sh\nあ\nい\n~~~~\n\n    う\n    え\n\nおか\n"
    assert s("key.run", "ja") == "実行"
