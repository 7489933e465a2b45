"""Progress that cannot be saved is reported to the caller, never swallowed."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

from lab.lesson import player
from lab.lesson.progress import FILE, Progress


def test_mark_returns_why_it_could_not_save(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the home should be\n")
    p = Progress(blocker / FILE)
    err = p.mark("05-libraries", "ldd", "passed")
    assert err.startswith(f"cannot save progress to {blocker / FILE}: ")
    assert p.error == err
    assert p.status("05-libraries", "ldd") == "passed"  # kept in memory all the same
    ok = Progress(tmp_path / "home" / FILE)
    assert ok.mark("05-libraries", "ldd", "passed") == "" and ok.error == ""
    assert Progress.load(tmp_path / "home").done("05-libraries") == {"ldd"}
    assert ok.reset("05-libraries") == ""
    assert p.reset("05-libraries").startswith("cannot save progress")


def test_a_backup_that_cannot_be_kept_is_said(tmp_path: Path) -> None:
    (tmp_path / FILE).mkdir()  # unreadable as a file ...
    (tmp_path / (FILE + ".bak")).mkdir()
    (tmp_path / (FILE + ".bak") / "x").write_text("x")  # ... and no room for its backup
    p = Progress.load(tmp_path)
    assert p.error.startswith(f"cannot read {tmp_path / FILE}")
    assert f"could not be kept as {FILE}.bak" in p.error


def test_play_prints_a_progress_failure(tmp_path: Path) -> None:
    (tmp_path / FILE).mkdir()  # progress.json a directory: neither read nor replaced
    (tmp_path / (FILE + ".bak")).mkdir()
    (tmp_path / (FILE + ".bak") / "x").write_text("x")
    lesson = SimpleNamespace(id="05-libraries")
    results = [SimpleNamespace(step_id="ldd", status="passed")]
    msg = player._record_progress(tmp_path, lesson, results)  # type: ignore[arg-type]
    assert msg.startswith(f"cannot read {tmp_path / FILE}")
    assert f"cannot save progress to {tmp_path / FILE}" in msg
    good = tmp_path / "good"
    good.mkdir()
    assert player._record_progress(good, lesson, results) == ""  # type: ignore[arg-type]
    assert Progress.load(good).done("05-libraries") == {"ldd"}
