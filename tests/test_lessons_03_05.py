"""Lessons 03 (/proc), 04 (the filesystem) and 05 (shared libraries), and the
``statuscompare`` view they use.

The lesson-level safety proof of 確認4 lives here: ``shikumi play 05`` hides a
library ``ls`` really links, inside a sandbox; the host's file must come out
byte-for-byte the same after a normal run *and* after the lab is SIGKILLed in the
middle of the step and ``shikumi cleanup`` runs.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab import views
from lab.host import mounts
from lab.lesson.runner import Runner
from lab.ops import sandbox
from lab.safety import procs
from lab.safety.journal import Journal
from tests.lessonkit import lesson
from tests.support import REPO, need_root, need_tool, shikumi

LESSONS = ("03-proc", "04-filesystem", "05-libraries")


def text_of(renderable: object, width: int = 140) -> str:
    from rich.console import Console

    with open(os.devnull, "w") as sink:
        c = Console(record=True, width=width, file=sink)
        c.print(renderable)
        return c.export_text()


def _sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# -- the statuscompare view ------------------------------------------------------------


def test_statuscompare_on_real_processes(tmp_path: Path) -> None:
    child = subprocess.Popen(["sleep", "30"])
    try:
        with Journal.open(tmp_path / "home") as j:
            r = Runner(lesson(), j)
            m = views.get("statuscompare")
            assert views.params("statuscompare")["pids"] == (list, True)
            d = m.collect(
                r.ctx,
                pids=["self", child.pid],
                labels=["the lab", "a sleep"],
                labels_ja=["ラボ"],
                title_ja="並べた status",
                keys=["Name", "Pid", "Uid", "Threads", "Nope"],
                explain={"Nope": "not a field"},
            )
            assert [p.pid for p in d.procs] == [os.getpid(), child.pid]
            rows = {row.key: row for row in d.rows}
            assert rows["Name"].values[1] == "sleep" and rows["Name"].differ
            assert rows["Pid"].values == [str(os.getpid()), str(child.pid)]
            assert not rows["Uid"].differ  # same user: not lit
            assert rows["Nope"].values == ["", ""] and not rows["Nope"].differ
            en = text_of(m.render(d))
            assert "the lab" in en and f"PID {child.pid}" in en
            assert "parent's process ID" not in en  # only the asked-for keys
            assert "user IDs: real, effective, saved, filesystem" in en
            assert "not a field" in en and "—" in en
            ja = text_of(m.render(d, lang="ja"))
            assert "意味" in ja and "ユーザー ID" in ja and "（なし）" in ja
            assert "並べた status" in ja and "ラボ" in ja and "a sleep" in ja  # falls back to en
            assert "the lab" not in ja and "並べた" not in en
            d2 = m.collect(r.ctx, pids=["self", child.pid])  # default keys: procfs.KEY_FIELDS
            assert [row.key for row in d2.rows][:3] == ["Name", "State", "Pid"]
    finally:
        child.kill()
        child.wait()


def test_statuscompare_reports_a_vanished_process(tmp_path: Path) -> None:
    gone = subprocess.Popen(["true"])
    gone.wait()
    with Journal.open(tmp_path / "home") as j:
        r = Runner(lesson(), j)
        m = views.get("statuscompare")
        d = m.collect(r.ctx, pids=["self", gone.pid], keys=["Name"])
        assert d.procs[1].error and not d.rows[0].differ
        assert d.procs[1].error in text_of(m.render(d))
        with pytest.raises(ValueError, match="2 or 3"):
            m.collect(r.ctx, pids=["self"])


# -- the lesson files -------------------------------------------------------------------


def test_lessons_lint_clean_without_warnings() -> None:
    r = shikumi("check", *(f"lessons/{x}" for x in LESSONS))
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout + r.stderr
    assert "warning" not in out and "clean" in out, out


def test_lessons_read_in_japanese() -> None:
    from lab.lesson.loader import load_lesson

    for lid in LESSONS:
        les, problems = load_lesson(REPO / "lessons" / lid, "ja")
        assert les is not None, problems
        assert any("\u3040" <= ch <= "\u30ff" for ch in les.title_in("ja"))
        for st in les.steps:
            assert st.i18n.get("ja", {}).get("title"), f"{lid}#{st.id} has no Japanese title"
            text = st.text_in("ja")
            assert any("\u3040" <= ch <= "\u30ff" for ch in text), f"{lid}#{st.id}: {text[:60]}"
            if st.of("try"):
                assert any("\u3040" <= ch <= "\u30ff" for ch in st.try_in("ja")), st.id
            for hint in st.hints_in("ja"):
                assert any("\u3040" <= ch <= "\u30ff" for ch in hint), (st.id, hint)
            for c in st.of("check"):
                assert c.params.get("message_ja"), f"{lid}#{st.id}: check without message_ja"


def _play(*lessons: str, home: Path, lang: str = "en") -> dict:
    r = shikumi("play", *lessons, "--json", "--lang", lang, home=home, timeout=300)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    return json.loads(r.stdout)


def test_play_03_04_pass_with_nothing_skipped(tmp_path: Path) -> None:
    need_root()
    need_tool("ps", "tree", "unshare", "findmnt", "mount")
    report = _play("03", "04", home=tmp_path / "home", lang="ja")
    assert report["leaked"] == []
    for les in report["lessons"]:
        assert les["failed"] == 0 and les["skipped"] == 0, les
        assert les["passed"] == les["steps"], les
    assert not mounts.under(str(tmp_path / "home"))


# -- 確認4: the host is never touched ---------------------------------------------------


@pytest.fixture()
def lib() -> str:
    need_root()
    need_tool("ldd", "ls", "unshare", "nsenter", "mount", "sha256sum")
    return sandbox.pick_library("ls").path  # what the lesson discovers, not hard-coded


def _overlays_mentioning(text: str) -> list[str]:
    with open("/proc/mounts") as f:
        return [ln for ln in f if " overlay " in ln and text in ln]


def _sandboxes(home: Path) -> list[int]:
    """Pids of `sleep infinity` processes started by a lab whose home is *home*."""
    found = []
    marker = f"SHIKUMI_HOME={home}".encode()
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/cmdline", "rb") as f:
                if f.read().split(b"\0")[:2] != [b"sleep", b"infinity"]:
                    continue
            with open(f"/proc/{entry}/environ", "rb") as f:
                if marker in f.read().split(b"\0"):
                    found.append(int(entry))
        except OSError:
            continue
    return found


def test_play_05_leaves_the_host_library_untouched(tmp_path: Path, lib: str) -> None:
    home = tmp_path / "home"
    before = _sha(lib)
    report = _play("05", home=home)
    (les,) = report["lessons"]
    assert les["id"] == "05-libraries" and les["failed"] == 0 and les["skipped"] == 0, les
    assert les["passed"] == les["steps"] and report["leaked"] == []
    assert _sha(lib) == before
    assert not os.path.exists(lib + ".bk")
    assert not _sandboxes(home)
    assert not mounts.under(str(home)) and not _overlays_mentioning(str(home))


def test_play_05_killed_mid_step_then_cleanup(tmp_path: Path, lib: str) -> None:
    home = tmp_path / "home"
    before = _sha(lib)
    hidden = home / "work" / "05-libraries" / "upper" / (os.path.basename(lib) + ".bk")
    env = dict(os.environ, SHIKUMI_HOME=str(home))
    p = subprocess.Popen(
        [sys.executable, "-m", "lab", "play", "05"],
        cwd=REPO,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while not hidden.exists():  # the overlay's upper layer records the rename
            assert p.poll() is None, "play ended before the library was hidden in the sandbox"
            assert time.monotonic() < deadline, "the library was never hidden"
            time.sleep(0.002)
        p.send_signal(signal.SIGSTOP)  # freeze it mid-step, then look around
        (box,) = _sandboxes(home)
        inside = subprocess.run(
            ["nsenter", "--target", str(box), "--mount", "ls", "/"], capture_output=True, text=True
        )
        assert inside.returncode == 127, inside
        assert os.path.basename(lib) in inside.stderr
        assert subprocess.run(["ls", "/"], capture_output=True).returncode == 0
        assert _sha(lib) == before and not os.path.exists(lib + ".bk")
        p.send_signal(signal.SIGKILL)
        p.wait(10)
    finally:
        if p.poll() is None:
            p.kill()
            p.wait(10)
    assert procs.alive(box), "the sandbox outlives the killed lab until cleanup"
    r = shikumi("cleanup", "--json", home=home)
    assert r.returncode == 0, r.stdout + r.stderr
    undone = json.loads(r.stdout)["undone"]
    assert undone and all(u["ok"] for u in undone), r.stdout  # something undone, all of it ok
    deadline = time.monotonic() + 5
    while procs.alive(box) and time.monotonic() < deadline:
        time.sleep(0.01)
    assert not procs.alive(box)
    assert not _sandboxes(home)
    assert _sha(lib) == before and not os.path.exists(lib + ".bk")
    assert not mounts.under(str(home))
    assert not _overlays_mentioning(str(home))
    assert not (home / "work" / "05-libraries").exists()
    again = shikumi("cleanup", "--json", home=home)  # idempotent
    assert again.returncode == 0
