"""Small things a learner tripped over walking lessons 10-18 in the app, pinned down."""

from __future__ import annotations

from lab.lesson import check_words, operations
from lab.tui.screens import lesson_list


def test_an_operation_shows_its_lists_as_the_lesson_wrote_them() -> None:
    p = {"src": "/a b", "name": "base", "cmd": ["/bin/sh"], "x": True}
    line = operations.shown("image-import", p)
    first = line.splitlines()[0]
    assert 'cmd=["/bin/sh"]' in first and "x=true" in first and "src='/a b'" in first
    assert "'\"'\"'" not in first  # not the shell-quoted str() of a list


def test_an_error_line_keeps_its_end() -> None:
    line = "stat: cannot statx '/tmp/walkhome2/containers/web/upper/etc/passwd': " * 3
    line += "No such file or directory"
    cut = check_words.clip(line)
    assert len(cut) <= 160 and cut.endswith("No such file or directory") and "…" in cut
    assert check_words.clip("short") == "short"


def test_japanese_titles_are_cut_by_cells_and_parts_are_translated() -> None:
    title = "ファイルシステム：一本の木と、たくさんのマウント"
    cut = lesson_list._fit(title, 20)
    assert lesson_list._cells(cut) <= 20 and cut.endswith("…")
    assert lesson_list.part_label("Images", "ja") == "イメージ"
    assert lesson_list.part_label("Images", "en") == "Images"
    assert lesson_list.part_label("My own part", "ja") == "My own part"
