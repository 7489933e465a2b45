"""The lesson linter, `shikumi check / new / list`, languages and progress.

The corpus (tests/lint_corpus/<case>/lesson.md) holds one kind of mistake per
case; its expect.txt lists exactly the problems the linter must report, one
``[FILE:]LINE: message-substring`` per line. Cases without a lesson.ja.md would
all warn that the translation is missing: that warning is only expected where a
case says so (translation-missing).
"""

from __future__ import annotations

import json
import os
import re
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.lesson import catalog, lint_registry
from lab.lesson.i18n import pick_lang, step_hash, t, words
from lab.lesson.lint import _LessonLinter, errors, lint
from lab.lesson.lint_actions import distance, looks_like_kind
from lab.lesson.lint_registry import Registry, spec_from
from lab.lesson.loader import load_lesson
from lab.lesson.model import Problem
from lab.lesson.parse import parse
from lab.lesson.progress import Progress
from lab.lesson.scaffold import new_lesson
from tests.support import REPO, shikumi

CORPUS = Path(__file__).parent / "lint_corpus"
CASES = sorted(p.name for p in CORPUS.iterdir() if p.is_dir())
PID = (str, int)
SAYS = {"says": (str, False), "says_ja": (str, False)}  # a pattern's words (lint: required)
REG = Registry(
    views={
        "tree": spec_from({"path": (str, True), "depth": (int, False)}),
        "proctree": spec_from({"pid": (PID, False)}),
    },
    checks={
        "path-exists": spec_from(
            {"path": (str, True), "type": (str, False), "message": (str, True)}
        ),
        "file-contains": spec_from(
            {"path": (str, True), "pattern": (str, True), "message": (str, True), **SAYS}
        ),
        "output-matches": spec_from(
            {"pattern": (str, True), "of": (str, False), "message": (str, True), **SAYS}
        ),
        "proc-status": spec_from(
            {"pid": (PID, False), "cmdline": (str, False), "message": (str, True), **SAYS}
        ),
        "ns-differ": spec_from(
            {
                "a": (PID, True),
                "b": (PID, True),
                "types": (list[str], False),
                "message": (str, True),
            }
        ),
    },
    requirements={"root", "docker", "overlayfs", "ns.pid", "tool.tree"},
)
LINE_RE = re.compile(r"^\S+:\d+: (warning: )?\S")


def _expected(case: Path) -> list[tuple[str, int, str]]:
    out = []
    for raw in (case / "expect.txt").read_text(encoding="utf-8").splitlines():
        if not raw.strip() or raw.startswith("#"):
            continue
        m = re.match(r"^(?:([\w.-]+\.md|[\w.-]+):)?(\d+): (.*)$", raw)
        assert m, f"{case.name}/expect.txt: cannot read {raw!r}"
        out.append((m.group(1) or "", int(m.group(2)), m.group(3)))
    return out


def _shown(p: Problem) -> str:
    return ("warning: " if p.severity == "warning" else "") + p.message


def test_corpus_is_big_enough() -> None:
    assert len(CASES) >= 20, CASES
    assert all((CORPUS / c / "expect.txt").exists() for c in CASES)


@pytest.mark.parametrize("case", CASES)
def test_corpus_case(case: str) -> None:
    folder = CORPUS / case
    got = [
        p
        for p in lint([folder], REG)
        if not ("no lesson.ja.md" in p.message and case != "translation-missing")
    ]
    want = _expected(folder)
    unmatched = list(got)
    missing = []
    for fname, line, sub in want:
        hit = next(
            (
                p
                for p in unmatched
                if p.line == line
                and sub in _shown(p)
                and (not fname or p.path.name == fname)
                and (fname or p.path.name in ("lesson.md", folder.name))
            ),
            None,
        )
        if hit is None:
            missing.append(f"{fname}:{line}: {sub}")
        else:
            unmatched.remove(hit)
    extra = [f"{p.path.name}:{p.line}: {_shown(p)}" for p in unmatched]
    assert not missing and not extra, f"missing: {missing}\nunexpected: {extra}"
    assert want, "a corpus case expects at least one problem"


def test_corpus_errors_are_errors() -> None:
    # every case but the warning-only one has at least one error (so check exits 1)
    for case in CASES:
        problems = lint([CORPUS / case], REG)
        if case == "translation-missing":
            assert not errors(problems)
        else:
            assert errors(problems), case


def test_typo_detection_spares_languages() -> None:
    for word in ("rust", "ruby", "py", "rs", "sh", "console", "text", "python", "toml", "vim"):
        assert looks_like_kind(word) == "", word
    for word, kind in (
        ("rnu", "run"),
        ("spwan", "spawn"),
        ("chekc", "check"),
        ("veiw", "view"),
        ("hnit", "hint"),
        ("soltuion", "solution"),
        ("Cleanup", "cleanup"),
    ):
        assert looks_like_kind(word) == kind, word
    assert distance("abcd", "abdc") == 1


def test_internal_error_becomes_a_problem(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    folder = new_lesson("01-x", tmp_path)

    def boom(self: object) -> list[Problem]:
        raise RuntimeError("kaboom")

    monkeypatch.setattr(_LessonLinter, "run", boom)
    got = lint([folder], REG)
    assert [p.message for p in got] == ["internal linter error: RuntimeError: kaboom"]


def test_lint_paths_forms(tmp_path: Path) -> None:
    folder = new_lesson("01-x", tmp_path / "ls")
    assert lint([tmp_path / "ls"], REG) == []  # a folder of lessons
    assert lint([folder / "lesson.md"], REG) == []  # the lesson file itself
    assert lint([folder / "lesson.ja.md", folder], REG) == []  # each lesson once
    other = tmp_path / "draft.md"
    shutil.copy(folder / "lesson.md", other)
    assert lint([other], REG) == []  # any lesson file, on its own
    gone = lint([tmp_path / "nope"], REG)
    assert [p.message for p in gone] == ["no such file or folder"]


def test_real_registry_knows_checks_and_requirements() -> None:
    reg = Registry.default()
    assert reg.checks and "path-exists" in reg.checks
    assert reg.checks["path-exists"]["path"].required
    assert reg.requirements and {"root", "docker", "tool.tree"} <= reg.requirements
    assert reg.views and "tree" in reg.views  # lab.views.names() / params()
    assert reg.views["tree"]["path"].required and not reg.views["tree"]["depth"].required


@dataclass
class _ViewParams:
    path: str
    depth: int = 1
    mode: Literal["a", "b"] = "a"


def _check_fn(pid: int | str, *, label: str | None = None) -> None: ...


def test_spec_forms() -> None:
    s = spec_from(_ViewParams)
    assert s["path"].required and not s["depth"].required
    assert s["mode"].problem("c") and not s["mode"].problem("a")
    g = spec_from(_check_fn)
    assert g["pid"].required and not g["label"].required
    assert not g["pid"].problem("box") and g["pid"].problem(1.5)
    assert spec_from({"n": float})["n"].problem(True)  # bools are not numbers
    assert not spec_from({"n": float})["n"].problem(3)
    assert lint_registry.param_from(object).problem("x") == ""


# -- bundled lessons -----------------------------------------------------------------


def test_bundled_lessons_lint_clean() -> None:
    problems = lint(catalog.find())
    assert not errors(problems), "\n".join(str(p) for p in errors(problems))
    r = shikumi("check")
    assert r.returncode == 0, r.stdout + r.stderr
    assert "Traceback" not in r.stderr


def test_authoring_guide_example_lints_clean(tmp_path: Path) -> None:
    guide = (REPO / "docs" / "authoring.md").read_text(encoding="utf-8")
    example = re.search(r"````markdown\n(.*?)\n````", guide, re.S)
    assert example, "docs/authoring.md has a complete example"
    folder = tmp_path / "03-example"
    folder.mkdir()
    (folder / "lesson.md").write_text(example.group(1) + "\n", encoding="utf-8")
    problems = lint([folder])
    assert not errors(problems), "\n".join(str(p) for p in problems)


# -- fuzzing: nothing an author writes crashes the linter ------------------------------

VALID = (CORPUS.parent / "lint_corpus" / "translation-problems" / "lesson.md").read_text()
SNIPPETS = [
    "+++",
    "```",
    "~~~",
    "````run",
    "```run expect=",
    "{",
    "}",
    "{{",
    "}}",
    "{#",
    "## ",
    "## T {#x",
    '"',
    "'",
    "\x00",
    "\r",
    "\ufeff",
    "```view tree\n",
    "```check\n",
    "=",
    "```spawn name=",
    "in=",
    "[[",
    "\\",
    "\t",
    "```try in=\n",
]


def _lint_text(tmp: Path, data: bytes) -> list[Problem]:
    folder = tmp / "01-fuzz"
    folder.mkdir(exist_ok=True)
    (folder / "lesson.md").write_bytes(data)
    got = lint([folder], REG)
    assert isinstance(got, list) and all(isinstance(p, Problem) for p in got)
    assert not any("internal linter error" in p.message for p in got), got
    for p in got:
        assert p.line >= 1 and "\n" not in p.message
    return got


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.text(max_size=400))
def test_fuzz_random_text(tmp_path: Path, text: str) -> None:
    _lint_text(tmp_path, text.encode("utf-8", "surrogatepass"))


@settings(
    max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.binary(max_size=300))
def test_fuzz_random_bytes(tmp_path: Path, data: bytes) -> None:
    _lint_text(tmp_path, data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    lines = VALID.split("\n")
    for _ in range(draw(st.integers(1, 6))):
        op = draw(st.sampled_from(["delete", "duplicate", "insert", "splice", "bytes"]))
        i = draw(st.integers(0, len(lines) - 1)) if lines else 0
        if op == "delete" and lines:
            del lines[i]
        elif op == "duplicate" and lines:
            lines.insert(i, lines[i])
        elif op == "insert":
            lines.insert(i, draw(st.sampled_from(SNIPPETS)) + draw(st.text(max_size=12)))
        elif op == "splice" and lines:
            k = draw(st.integers(0, len(lines[i])))
            lines[i] = lines[i][:k] + draw(st.sampled_from(SNIPPETS)) + lines[i][k:]
        else:
            return "\n".join(lines).encode("utf-8", "surrogatepass") + draw(st.binary(max_size=8))
    return "\n".join(lines).encode("utf-8", "surrogatepass")


@settings(
    max_examples=250, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(mutated())
def test_fuzz_mutated_lesson(tmp_path: Path, data: bytes) -> None:
    _lint_text(tmp_path, data)


@settings(max_examples=200, deadline=None)
@given(
    st.text(
        alphabet=st.sampled_from(["+", "`", "~", "#", "{", "}", "=", '"', "\n", "a", " ", "\r"]),
        max_size=200,
    )
)
def test_fuzz_parser_on_syntax_characters(text: str) -> None:
    parsed = parse(text, Path("x.md"))
    assert all(isinstance(p, Problem) for p in parsed.problems)


# -- the command -----------------------------------------------------------------------


def test_cli_check_broken_exits_1_with_path_line_message(tmp_path: Path) -> None:
    case = tmp_path / "variables"
    shutil.copytree(CORPUS / "variables", case)
    r = shikumi("check", str(case), cwd=tmp_path)
    assert r.returncode == 1, r.stdout + r.stderr
    assert "Traceback" not in r.stdout + r.stderr
    lines = r.stdout.strip().splitlines()
    assert lines and all(LINE_RE.match(ln) for ln in lines), lines
    assert any(ln.startswith("variables/lesson.md:8: unknown variable {{wrk}}") for ln in lines)
    assert "error(s)" in r.stderr


def test_cli_check_binary_and_missing(tmp_path: Path) -> None:
    r = shikumi("check", str(CORPUS / "binary-nul"), str(tmp_path / "nope"))
    assert r.returncode == 1
    assert "binary-nul/lesson.md:5: binary file" in r.stdout
    assert f"{tmp_path / 'nope'}:1: no such file or folder" in r.stdout
    assert "Traceback" not in r.stderr


def test_cli_new_then_check_passes(tmp_path: Path) -> None:
    r = shikumi("new", "19-my-lesson", "--dir", str(tmp_path), home=tmp_path / "home")
    assert r.returncode == 0, r.stderr
    folder = tmp_path / "19-my-lesson"
    assert (folder / "lesson.md").exists() and (folder / "lesson.ja.md").exists()
    r = shikumi("check", str(folder))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == ""  # not even a warning
    again = shikumi("new", "19-my-lesson", "--dir", str(tmp_path))
    assert again.returncode == 1 and "already exists" in again.stderr
    bad = shikumi("new", "My Lesson", "--dir", str(tmp_path))
    assert bad.returncode == 1 and "invalid lesson id" in bad.stderr
    assert "Traceback" not in again.stderr + bad.stderr


def test_new_lesson_loads_with_translations(tmp_path: Path) -> None:
    folder = new_lesson("07-demo", tmp_path)
    lesson, problems = load_lesson(folder)
    assert lesson is not None and not problems
    kinds = {a.kind for s in lesson.steps for a in s.actions}
    assert {"run", "view", "check", "try", "hint", "solution"} <= kinds
    assert all(s.i18n["ja"]["src"] == step_hash(s) for s in lesson.steps)
    assert lesson.steps[1].title_in("ja") == "やってみよう"


def _lessons_env(tmp_path: Path) -> dict[str, str]:
    lessons = tmp_path / "lessons"
    new_lesson("01-first", lessons)
    new_lesson("02-second", lessons)
    (lessons / "02-second" / "lesson.md").write_text(
        (lessons / "02-second" / "lesson.md")
        .read_text()
        .replace("requires = []", 'requires = ["tool.no-such-tool"]')
    )
    return {"SHIKUMI_LESSONS": str(lessons), "LANG": "C.UTF-8", "LC_ALL": "", "LC_MESSAGES": ""}


def test_cli_list_json_shape(tmp_path: Path) -> None:
    env = _lessons_env(tmp_path)
    home = tmp_path / "home"
    p = Progress.load(home)
    p.mark("01-first", "write", "passed")
    r = shikumi("list", "--json", home=home, env=env)
    assert r.returncode == 0, r.stderr
    rows = json.loads(r.stdout)
    assert [row["id"] for row in rows] == ["01-first", "02-second"]
    for row in rows:
        assert {"id", "title", "steps", "available", "missing", "done", "complete"} <= set(row)
        assert isinstance(row["missing"], list) and isinstance(row["done"], int)
    first, second = rows
    assert first["title"] == "First" and first["steps"] == 2
    assert first["done"] == 1 and first["complete"] is False
    assert "tool.no-such-tool" in second["missing"] and second["available"] is False
    table = shikumi("list", home=home, env=env)
    assert table.returncode == 0 and "01-first" in table.stdout


def test_cli_list_language(tmp_path: Path) -> None:
    env = _lessons_env(tmp_path)
    home = tmp_path / "home"
    ja = json.loads(shikumi("list", "--json", "--lang", "ja", home=home, env=env).stdout)
    assert ja[0]["title"] == "First（日本語）"
    env_ja = env | {"LANG": "ja_JP.UTF-8"}
    by_locale = json.loads(shikumi("list", "--json", home=home, env=env_ja).stdout)
    assert by_locale[0]["title"] == "First（日本語）"
    forced_en = json.loads(shikumi("list", "--json", "--lang", "en", home=home, env=env_ja).stdout)
    assert forced_en[0]["title"] == "First"


def test_pick_lang(monkeypatch: pytest.MonkeyPatch) -> None:
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        monkeypatch.delenv(var, raising=False)
    assert pick_lang(None) == "en"
    monkeypatch.setenv("LANG", "ja_JP.UTF-8")
    assert pick_lang(None) == "ja"
    assert pick_lang("en") == "en"
    monkeypatch.setenv("LC_ALL", "C.UTF-8")  # LC_ALL overrides LANG
    assert pick_lang(None) == "en"
    monkeypatch.setenv("LC_ALL", "ja_JP.UTF-8")
    assert pick_lang(None) == "ja"


def test_ui_words_have_both_languages() -> None:
    for key, entry in words().items():
        assert entry.get("en") and entry.get("ja"), key
    assert t("Hint", "ja") == "ヒント" and t("Hint", "en") == "Hint"
    assert t("no such word", "ja") == "no such word"


# -- progress ------------------------------------------------------------------------


def test_progress_persists(tmp_path: Path) -> None:
    folder = new_lesson("01-p", tmp_path / "lessons")
    lesson, _ = load_lesson(folder)
    assert lesson is not None
    p = Progress.load(tmp_path)
    assert p.first_unfinished(lesson) == 0 and not p.is_complete(lesson)
    p.mark(lesson.id, "write", "passed")
    p.mark(lesson.id, "your-turn", "failed")
    q = Progress.load(tmp_path)
    assert q.done(lesson.id) == {"write"} and q.failed(lesson.id) == {"your-turn"}
    assert q.first_unfinished(lesson) == 1
    q.mark(lesson.id, "your-turn", "passed")
    assert Progress.load(tmp_path).is_complete(lesson)
    q.reset(lesson.id)
    assert Progress.load(tmp_path).done(lesson.id) == set()
    assert not list(tmp_path.glob(".progress-*"))  # no temp files left


@pytest.mark.parametrize(
    "content", [b"{not json", b"[1, 2]", b'{"lessons": {"x": 3}}', b"\xff\xfe"]
)
def test_progress_corrupt_file(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "progress.json").write_bytes(content)
    p = Progress.load(tmp_path)
    assert p.lessons == {} and p.error
    assert (tmp_path / "progress.json.bak").read_bytes() == content
    p.mark("01-x", "a", "passed")
    assert Progress.load(tmp_path).done("01-x") == {"a"}


def test_progress_unwritable_home_does_not_raise(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    p = Progress.load(blocker / "home")  # its parent is a file: cannot be created
    p.mark("01-x", "a", "passed")
    assert p.error and p.done("01-x") == {"a"}


def test_lesson_package_has_no_textual_import() -> None:
    # the boundary test walks lab.lesson; make sure it sees this helper's modules
    import pkgutil

    import lab.lesson

    names = {m.name for m in pkgutil.iter_modules(lab.lesson.__path__)}
    assert {"parse", "loader", "lint", "catalog", "i18n", "progress", "scaffold"} <= names
    assert os.path.exists(REPO / "tests" / "test_import_boundary.py")
