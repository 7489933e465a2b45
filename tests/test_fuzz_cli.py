"""Fuzzing the command line and lesson files: clear errors only, never a traceback."""

from __future__ import annotations

import contextlib
import io
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab import cli
from lab.lesson.lint import lint
from lab.lesson.loader import load_lesson

WORDS = ["list", "play", "check", "new", "doctor", "cleanup", "open", "--json", "--all", "--lang", "ja", "en", "xx",
         "--step", "0", "-1", "99", "--dir", "--force", "--watch", "01", "1", "01-where-am-i", "..", "/", "../../etc",
         "--help", "-h", "", " ", "\x00", "ｎｅｗ", "--version", "--lang=ja", "-"]  # fmt: skip


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fuzz")
    (root / "lessons").mkdir()
    return root


@settings(
    max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(argv=st.lists(st.one_of(st.sampled_from(WORDS), st.text(max_size=12)), max_size=5))
def test_command_line_never_tracebacks(
    argv: list[str], sandbox: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    if (argv and argv[0] in ("open", "")) or not argv or argv[0].startswith("--lang"):
        argv = ["list", *argv]  # the app needs a terminal; keep the fuzz headless
    if "play" in argv or "doctor" in argv:
        argv = ["check", *argv]  # covered by their own tests; keep each example fast
    monkeypatch.setenv("SHIKUMI_HOME", str(sandbox / "home"))
    monkeypatch.setenv("SHIKUMI_LESSONS", str(sandbox / "lessons"))
    monkeypatch.chdir(sandbox)
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            code = cli.main(argv)
        except SystemExit as e:  # argparse: usage errors exit 2, --help/--version exit 0
            code = e.code if isinstance(e.code, int) else 2
    assert "Traceback" not in err.getvalue() + out.getvalue(), (argv, err.getvalue())
    assert code in (0, 1, 2, 130), (argv, code, err.getvalue())
    assert code != 70, f"internal error for {argv!r}: {err.getvalue()}"
    # nothing was written outside the sandbox's lessons dir and home
    assert not any(p.name not in ("lessons", "home") for p in sandbox.iterdir()), list(
        sandbox.iterdir()
    )


ACTIONS = [
    "run",
    "spawn",
    "op",
    "view",
    "check",
    "try",
    "hint",
    "solution",
    "cleanup",
    "console",
    "rnu",
]
ATTRS = ["expect=0", "expect=abc", "expect=any", "timeout=5", "timeout=-1", "name=box", "name=", "in=box", "in=nope", "x=1", 'title="a b"', "'"]  # fmt: skip
BODIES = ["echo hi", "{{work}}", "{{pid.box}}", "{{out.a}}", "{{nope}}", "path = 1", 'path = "{{work}}"', "[[", "", "\x00", "sleep 1"]  # fmt: skip


@st.composite
def lessons(draw: st.DrawFn) -> str:
    front = draw(
        st.sampled_from(
            [
                '+++\ntitle = "t"\n+++\n',
                "+++\ntitle = 3\n+++\n",
                "+++\n",
                "",
                '+++\ntitle = "t"\nrequires = ["root", "nope"]\n+++\n',
            ]
        )
    )
    parts = [front, draw(st.text(max_size=30))]
    for i in range(draw(st.integers(0, 4))):
        sid = draw(st.sampled_from([f"s{i}", "s0", "", "bad id", "a"]))
        parts.append(f"## Step {i} {{#{sid}}}\n" if sid else f"## Step {i}\n")
        for _ in range(draw(st.integers(0, 4))):
            kind = draw(st.sampled_from(ACTIONS))
            name = draw(st.sampled_from(["", " tree", " path-exists", " rootfs", " nope"]))
            attrs = " ".join(draw(st.lists(st.sampled_from(ATTRS), max_size=3)))
            fence = draw(st.sampled_from(["```", "~~~", "````"]))
            close = draw(st.sampled_from([fence, fence, ""]))
            parts.append(f"{fence}{kind}{name} {attrs}\n{draw(st.sampled_from(BODIES))}\n{close}\n")
    return "".join(parts)


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(text=lessons(), ja=st.one_of(st.none(), lessons()))
def test_generated_lessons_never_crash_lint_or_load(
    text: str, ja: str | None, tmp_path: Path
) -> None:
    d = tmp_path / "lessons" / "50-fuzz"
    d.mkdir(parents=True, exist_ok=True)
    (d / "lesson.md").write_text(text, errors="surrogateescape")
    if ja is not None:
        (d / "lesson.ja.md").write_text(ja, errors="surrogateescape")
    elif (d / "lesson.ja.md").exists():
        os.unlink(d / "lesson.ja.md")
    problems = lint([d])
    assert all(p.line >= 0 and p.message for p in problems)
    assert not any("internal linter error" in p.message for p in problems), problems
    lesson, load_problems = load_lesson(d, "ja")
    assert lesson is not None or load_problems
