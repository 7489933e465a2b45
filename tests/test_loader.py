"""Parsing and loading lesson files: fences, headings, attributes, line endings."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.lesson import catalog
from lab.lesson.i18n import step_hash
from lab.lesson.loader import load_lesson
from lab.lesson.model import Step
from lab.lesson.parse import parse, split_lines

FRONT = '+++\ntitle = "T"\n+++\n'


def _lesson(tmp_path: Path, text: str, ja: str | None = None, name: str = "01-t") -> Path:
    folder = tmp_path / name
    folder.mkdir(parents=True)
    (folder / "lesson.md").write_text(text, encoding="utf-8", newline="")
    if ja is not None:
        (folder / "lesson.ja.md").write_text(ja, encoding="utf-8")
    return folder


def test_front_matter_and_step() -> None:
    p = parse(
        '+++\ntitle = "Hello"\nrequires = ["root"]\n+++\nIntro.\n\n## First step {#first}\nText.\n',
        Path("l.md"),
    )
    assert p.front == {"title": "Hello", "requires": ["root"]} and not p.problems
    assert p.front_line == 1 and p.front_end == 4
    assert p.intro.text == "Intro."
    (s,) = p.steps
    assert s.heading and (s.heading.title, s.heading.id, s.heading.line) == (
        "First step",
        "first",
        7,
    )
    assert s.text == "Text."


def test_fence_lengths_and_tildes() -> None:
    text = FRONT + (
        "## S {#s}\n"
        "````run\n"  # 5
        "cat <<EOF\n```\nnot a close\nEOF\n"
        "````\n"  # 10
        "~~~hint\n"  # 11
        "a ``` inside\n"
        "~~~~\n"  # 13: a longer closing fence closes it
        "```solution\n"
        "echo ok\n"
        "``````\n"
    )
    p = parse(text, Path("l.md"))
    assert not p.problems
    run, hint, sol = p.steps[0].fences
    assert (run.kind, run.line, run.end) == ("run", 5, 10)
    assert run.body == "cat <<EOF\n```\nnot a close\nEOF"
    assert (hint.kind, hint.line, hint.body) == ("hint", 11, "a ``` inside")
    assert (sol.kind, sol.body) == ("solution", "echo ok")


def test_tilde_fence_is_not_closed_by_backticks() -> None:
    p = parse(FRONT + "## S {#s}\n~~~run\necho\n```\n", Path("l.md"))
    assert [pr.line for pr in p.problems] == [5]
    assert "never closed" in p.problems[0].message


def test_prose_fences_stay_in_text() -> None:
    text = FRONT + "## S {#s}\nBefore.\n\n```console\n$ ls\n## not a heading {#x}\n```\nAfter.\n"
    p = parse(text, Path("l.md"))
    (s,) = p.steps
    assert s.fences == [] and len(s.prose_fences) == 1
    assert "```console\n$ ls\n## not a heading {#x}\n```" in s.text
    assert s.text.startswith("Before.") and s.text.endswith("After.")


def test_info_string_attrs_with_quotes() -> None:
    text = FRONT + (
        '## S {#s requires="tool.tree, docker" timeout=60}\n'
        '```view tree title=\'a b\' note="say \\"hi\\"" x=1\n```\n'
        "```run expect=any in=box\ntrue\n```\n"
    )
    p = parse(text, Path("l.md"))
    assert not p.problems
    h = p.steps[0].heading
    assert h and h.attrs == {"requires": "tool.tree, docker", "timeout": "60"}
    view, run = p.steps[0].fences
    assert view.name == "tree" and view.attrs == {"title": "a b", "note": 'say "hi"', "x": "1"}
    assert run.attrs == {"expect": "any", "in": "box"}


def test_crlf_and_bom(tmp_path: Path) -> None:
    text = "\ufeff" + (FRONT + "## S {#s}\nText.\n```run expect=3\nexit 3\n```\n").replace(
        "\n", "\r\n"
    )
    folder = _lesson(tmp_path, text)
    lesson, problems = load_lesson(folder)
    assert not problems and lesson is not None
    (s,) = lesson.steps
    assert s.line == 4 and s.text == "Text."
    (run,) = s.actions
    assert run.body == "exit 3" and run.line == 6 and run.expect == 3
    assert "\r" not in run.body


def test_split_lines_numbers_like_an_editor() -> None:
    assert split_lines("a\r\nb\rc\nd\x0ce") == ["a", "b", "c", "d\x0ce"]


def test_load_lesson_builds_the_model(tmp_path: Path) -> None:
    text = FRONT.replace('title = "T"', 'title = "T"\npart = "The host"\nslides = "7"') + (
        "Intro.\n\n"
        '## One {#one requires="root,tool.ps" timeout=5}\n'
        "Explain.\n"
        "```spawn name=box\nsleep 100\n```\n"
        '```view proctree\npid = "box"\ndepth = 2\n```\n'
        '```check path-exists\npath = "{{work}}/x"\nmessage = "x"\n```\n'
        "```try in=box\nLook.\n```\n"
        "```hint\nFirst.\n```\n```hint\nSecond.\n```\n"
        "```run expect=any timeout=2.5\nfalse\n```\n"
    )
    lesson, problems = load_lesson(_lesson(tmp_path, text))
    assert lesson is not None and not problems
    assert (lesson.id, lesson.number, lesson.part, lesson.slides, lesson.intro) == (
        "01-t",
        "01",
        "The host",
        "7",
        "Intro.",
    )
    (s,) = lesson.steps
    assert s.requires == ["root", "tool.ps"] and s.timeout == 5.0
    assert [a.kind for a in s.actions] == ["spawn", "view", "check", "try", "hint", "hint", "run"]
    assert s.of("view")[0].params == {"pid": "box", "depth": 2}
    assert s.of("check")[0].name == "path-exists"
    assert s.hints_in("ja") == ["First.", "Second."]  # no translation: English
    assert s.of("run")[0].expect is None and s.of("run")[0].attrs["timeout"] == "2.5"


def test_translation_goes_into_i18n(tmp_path: Path) -> None:
    en = FRONT + "Intro.\n## One {#one}\nExplain.\n```try\nDo.\n```\n```hint\nH.\n```\n"
    folder = _lesson(tmp_path, en)
    lesson, _ = load_lesson(folder)
    assert lesson is not None
    h = step_hash(lesson.steps[0])
    ja = f'+++\ntitle = "題"\n+++\nはじめに。\n## 一 {{#one src={h}}}\n説明。\n```try\nやる。\n```\n```hint\nヒント。\n```\n'
    (folder / "lesson.ja.md").write_text(ja, encoding="utf-8")
    lesson, problems = load_lesson(folder, "ja")
    assert lesson is not None and not problems
    s = lesson.steps[0]
    assert (lesson.title_in("ja"), lesson.intro_in("ja")) == ("題", "はじめに。")
    assert (s.title_in("ja"), s.text_in("ja"), s.try_in("ja"), s.hints_in("ja")) == (
        "一",
        "説明。",
        "やる。",
        ["ヒント。"],
    )
    assert s.i18n["ja"]["src"] == h
    assert lesson.title_in("en") == "T"


def test_step_hash_ignores_whitespace_only() -> None:
    a = Step("s", "Title", 1, text="Some  text\nhere")
    b = Step("s", "Title", 9, text="Some text   here\n")
    c = Step("s", "Title", 1, text="Some other text")
    assert step_hash(a) == step_hash(b) != step_hash(c)
    assert re.fullmatch(r"[0-9a-f]{8}", step_hash(a)), step_hash(a)  # eight hex digits


def test_loader_problems_have_lines(tmp_path: Path) -> None:
    text = FRONT + "## S {#s timeout=x}\n```run expect=abc\ntrue\n```\n```view tree\npath = \n```\n"
    lesson, problems = load_lesson(_lesson(tmp_path, text))
    assert lesson is not None
    assert [(p.line, p.message.split(" ")[0]) for p in problems] == [
        (4, "timeout='x'"),
        (5, "expect='abc'"),
        (9, "```view"),
    ]
    assert lesson.steps[0].of("run")[0].expect == 0  # the bad value is dropped, never crashes


def test_load_lesson_none_when_unreadable(tmp_path: Path) -> None:
    assert load_lesson(tmp_path / "nope")[0] is None
    (tmp_path / "empty").mkdir()
    lesson, problems = load_lesson(tmp_path / "empty")
    assert lesson is None and "no lesson.md" in problems[0].message
    folder = _lesson(tmp_path, "x")
    (folder / "lesson.md").write_bytes(b"\xff\xfe")
    lesson, problems = load_lesson(folder)
    assert lesson is None and "not UTF-8" in problems[0].message


# -- catalog ---------------------------------------------------------------------------


def _catalog(tmp_path: Path) -> Path:
    for name in ("01-where", "05-libraries", "12-commit", "12-save"):
        _lesson(tmp_path, FRONT + "## S {#s}\n", name=name)
    (tmp_path / "notes").mkdir()
    return tmp_path


def test_catalog_find_and_resolve(tmp_path: Path) -> None:
    d = _catalog(tmp_path)
    assert [p.name for p in catalog.find([d])] == [
        "01-where",
        "05-libraries",
        "12-commit",
        "12-save",
    ]
    for name in ("05-libraries", "05", "5", "05-lib"):
        assert catalog.resolve(name, [d]).name == "05-libraries"
    assert catalog.resolve("1", [d]).name == "01-where"
    with pytest.raises(LabError) as e:
        catalog.resolve("07", [d])
    assert "no lesson '07'" in e.value.message and "05-libraries" in e.value.fix
    with pytest.raises(LabError) as e:
        catalog.resolve("12", [d])
    assert "12-commit, 12-save" in e.value.message
    assert catalog.resolve(str(d / "12-save"), [d]).name == "12-save"  # a path


def test_catalog_bundled_dir(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv("SHIKUMI_LESSONS", raising=False)
    assert catalog.bundled_dir().name == "lessons"
    assert (catalog.bundled_dir().parent / "lab").is_dir()
    monkeypatch.setenv("SHIKUMI_LESSONS", str(_catalog(tmp_path)))
    assert len(catalog.find()) == 4
    loaded = catalog.load_all()
    assert [lesson.id for _, lesson, _ in loaded if lesson] == [p.name for p in catalog.find()]
