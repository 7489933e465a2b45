"""`shikumi reset`: asks first (or --yes), forgets the named lessons' progress only,
removes their work folders through the journal, undoes dead sessions, and never
touches a home where a lesson is running."""

from __future__ import annotations

import io
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab import cli
from lab.lesson.progress import Progress
from lab.safety.home import ensure_home
from lab.safety.runlock import RunLock

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def home(tmp_path: Path, monkeypatch) -> Path:
    h = ensure_home(tmp_path / "home")
    monkeypatch.setenv("SHIKUMI_HOME", str(h))
    p = Progress.load(h)
    p.mark("05-libraries", "ldd", "passed")
    p.note("05-libraries", "ldd", hints=2)
    p.mark("01-where-am-i", "kernel", "passed")
    for lesson in ("05-libraries", "01-where-am-i"):
        (h / "work" / lesson / "sub").mkdir(parents=True)
        (h / "work" / lesson / "sub" / "file").write_text("x")
    return h


def run(capsys, *argv: str) -> tuple[int, str, str]:
    code = cli.main(list(argv))
    out = capsys.readouterr()
    return code, out.out, out.err


def test_reset_one_lesson_leaves_the_others(home: Path, capsys) -> None:
    code, out, err = run(capsys, "reset", "05", "--yes")
    assert code == 0, err
    assert "reset 05-libraries: 1 step record(s) forgotten, 1 work folder(s) removed." in out
    p = Progress.load(home)
    assert "05-libraries" not in p.lessons and p.done("01-where-am-i") == {"kernel"}
    assert not (home / "work" / "05-libraries").exists()
    assert (home / "work" / "01-where-am-i" / "sub" / "file").exists()
    assert not any((home / "journal").glob("*.jsonl"))  # its journal closed and dropped


def test_reset_all(home: Path, capsys) -> None:
    code, out, _ = run(capsys, "reset", "--all", "--yes")
    assert code == 0 and "reset every lesson: 2 step record(s) forgotten" in out
    assert Progress.load(home).lessons == {}
    assert list((home / "work").iterdir()) == []


def test_without_a_terminal_reset_refuses_unless_yes(home: Path, capsys, monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", io.StringIO("y\n"))  # not a TTY
    code, _, err = run(capsys, "reset", "05")
    assert code == 1 and "no terminal to ask on" in err and "--yes" in err
    assert "05-libraries" in Progress.load(home).lessons
    assert (home / "work" / "05-libraries").exists()


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


@pytest.mark.parametrize("answer, resets", [("n\n", False), ("\n", False), ("y\n", True)])
def test_the_question_decides(home: Path, capsys, monkeypatch, answer: str, resets: bool) -> None:
    monkeypatch.setattr(sys, "stdin", Tty(answer))
    code, out, _ = run(capsys, "reset", "05-libraries")
    assert "reset 05-libraries: forget its progress (1 step record(s))" in out  # the question
    assert ("05-libraries" in Progress.load(home).lessons) is not resets
    assert (home / "work" / "05-libraries").exists() is not resets
    assert code == (0 if resets else 1)
    if not resets:
        assert "nothing was reset." in out


def test_unknown_lessons_and_wrong_use_say_so(home: Path, capsys) -> None:
    code, _, err = run(capsys, "reset", "99-nothing", "--yes")
    assert code == 1 and "no lesson '99-nothing'" in err and "known lessons: 01-" in err
    code, _, err = run(capsys, "reset", "--yes")
    assert code == 1 and "name the lessons to reset, or --all" in err
    code, _, err = run(capsys, "reset", "05", "--all", "--yes")
    assert code == 1 and "not both" in err
    assert Progress.load(home).done("05-libraries") == {"ldd"}  # nothing happened


def test_a_lesson_only_in_the_progress_file_can_be_reset(home: Path, capsys) -> None:
    Progress.load(home).mark("77-retired", "x", "passed")
    code, out, _ = run(capsys, "reset", "77-retired", "--yes")
    assert code == 0 and "reset 77-retired: 1 step record(s) forgotten." in out
    assert "77-retired" not in Progress.load(home).lessons


def test_a_running_lesson_is_never_reset_under_it(home: Path, capsys) -> None:
    lock = RunLock(home)
    lock.acquire("lesson 05-libraries")  # as the app does while it runs a lesson
    try:
        code, _, err = run(capsys, "reset", "05", "--yes")
    finally:
        lock.release()
    assert code == 1 and "another shikumi is running lesson 05-libraries" in err
    assert (home / "work" / "05-libraries" / "sub" / "file").exists()
    assert Progress.load(home).done("05-libraries") == {"ldd"}


def test_what_a_dead_session_left_is_undone(home: Path, capsys) -> None:
    left = home / "work" / "05-libraries" / "left-by-a-crash"
    script = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from lab.safety.journal import Journal
        j = Journal.open(Path({str(home)!r}))
        j.record("dir", {str(left)!r})
        os.mkdir({str(left)!r})
        os._exit(0)  # dies without closing its journal
        """
    )
    subprocess.run([sys.executable, "-c", script], cwd=ROOT, check=True, timeout=60)
    assert left.is_dir() and any((home / "journal").glob("*.jsonl"))
    code, _, err = run(capsys, "reset", "01", "--yes")  # another lesson: the crash is undone too
    assert code == 0, err
    assert not left.exists() and not any((home / "journal").glob("*.jsonl"))


def test_in_japanese(home: Path, capsys) -> None:
    code, out, _ = run(capsys, "reset", "05", "--yes", "--lang", "ja")
    assert code == 0
    assert (
        out.strip()
        == "05-libraries をリセットしました: 1 ステップ分の記録を消去、作業フォルダー 1 個を削除。"
    )
