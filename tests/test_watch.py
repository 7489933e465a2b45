"""Checks that watch (lab/lesson/watch.py), driven by a scripted shell: the real
try shell (bash, its prompt reporting in band, `script` recording its output) fed
commands one at a time on its stdin, as a learner would type them.

Nothing machine-wide changes (a file in the lesson's work dir): no kernel lock."""

from __future__ import annotations

import queue
import subprocess
import threading
import time
from pathlib import Path

from lab.lesson.loader import load_lesson
from lab.lesson.runner import Runner
from lab.lesson.session import LessonSession
from lab.lesson.watch import LOCK_WAIT, Watcher, WatchUpdate
from lab.safety.journal import Journal
from tests.support import need_tool

LESSON = """+++
title = "watch"
summary = "watch"
part = "test"
requires = []
+++
## Make x {#make-x}
Make a file.

```run
true
```
```view tree
path = "{{work}}"
depth = 1
```
```try
Make the file x here: `touch x`.
```
```hint
The general hint.
```
```solution
touch x
```
```check path-exists
path = "{{work}}/x"
message = "the file x exists"
hint = "Run `touch x` in the work dir."
hint_ja = "作業ディレクトリで `touch x` を実行する。"
```
```check output-matches
pattern = "^made$"
message = "the shell printed made"
```
"""


def _lesson(tmp: Path, text: str = LESSON, name: str = "92-watch"):
    d = tmp / "lessons" / name
    d.mkdir(parents=True)
    (d / "lesson.md").write_text(text)
    lesson, problems = load_lesson(d)
    assert lesson is not None, problems
    return lesson


def _next(q: queue.Queue, trigger: str) -> WatchUpdate:
    while True:
        u = q.get(timeout=15)
        if u.trigger == trigger:
            return u


def test_the_checks_follow_the_learners_shell(tmp_path: Path) -> None:
    need_tool("script", "bash")
    lesson = _lesson(tmp_path)
    with Journal.open(tmp_path / "home") as j:
        r = Runner(lesson, j)
        assert r.run_step(0).status == "failed"  # the learner's turn: the checks wait
        argv = r.shell(0)
        q: queue.Queue = queue.Queue()
        w = Watcher(r, 0, r.try_log(0), q.put, interval=0.5)
        w.start()
        start = _next(q, "start")  # before the shell: the baseline, every check failing
        assert [c.ok for c in start.checks] == [False, False] and not start.done
        assert start.hint == "Run `touch x` in the work dir."
        shell = subprocess.Popen(
            argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
        )
        w.shell_pid = shell.pid
        w.alive = lambda: shell.poll() is None
        try:
            _next(q, "prompt")  # the shell's first prompt: it is ready

            def typed(line: str) -> WatchUpdate:
                assert shell.stdin is not None
                shell.stdin.write(line.encode() + b"\n")
                shell.stdin.flush()
                return _next(q, "prompt")

            u = typed("echo nothing # made")  # typed, not printed: the output check still fails
            assert [c.ok for c in u.checks] == [False, False]
            assert r.try_output(0) == "nothing"
            u = typed("touch x")
            assert u.checks[0].ok and not u.done
            views = _next(q, "views").views  # the step's views, collected again after it
            assert views and not views[0].error and "'x'" in repr(views[0].data)
            assert f"+ files: {r.work}/x (0 B)" in [str(c) for c in u.changes]
            assert u.hint == ""  # the failing check (output) has no hint of its own
            u = typed("rm x; echo made")  # x goes again: its check stays passed
            assert u.done and u.checks[0].ok and "passed earlier" in u.checks[0].reason
            assert f"- files: {r.work}/x (0 B)" in [str(c) for c in u.changes]
            typed_exit = shell.stdin
            assert typed_exit is not None
            typed_exit.write(b"exit\n")
            typed_exit.flush()
            shell.wait(10)
            _next(q, "closed")
        finally:
            w.stop()
            if shell.poll() is None:
                shell.kill()
                shell.wait(5)
        r.finish()


def test_the_baseline_waits_for_a_busy_session(tmp_path: Path) -> None:
    """A run holding the session past LOCK_WAIT when the watch starts: the baseline is
    still taken (before the shell opens: the app waits for ``wait_ready``), so the
    learner's first change is a change, not part of the baseline (CI's failure of
    the tmux test: the first command's file never showed in What changed)."""
    lesson = _lesson(tmp_path)
    with Journal.open(tmp_path / "home") as j:
        r = Runner(lesson, j)
        assert r.run_step(0).status == "failed"
        lock = threading.Lock()
        lock.acquire()  # a run holds the session
        q: queue.Queue = queue.Queue()
        w = Watcher(r, 0, None, q.put, lock=lock, interval=0.3, views=False)
        w.start()
        try:
            assert not w.wait_ready(LOCK_WAIT * 1.5)  # no baseline while the run holds it
            lock.release()
            assert w.wait_ready(LOCK_WAIT * 3)
            assert not _next(q, "start").done
            (r.work / "x").touch()  # the learner's first command
            u = _next(q, "timer")
            assert f"+ files: {r.work}/x (0 B)" in [str(c) for c in u.changes]
            assert u.checks[0].ok
        finally:
            w.stop()
        r.finish()


def test_h_shows_the_failing_checks_hint_first(tmp_path: Path) -> None:
    lesson = _lesson(tmp_path)
    ctl = LessonSession(lesson, lambda lesson, on_event: None, lambda e: None)
    assert ctl.hints("en") == ["The general hint."]
    from lab.lesson.model import CheckResult
    from lab.lesson.session import ChecksEnded

    failing = [CheckResult("path-exists", "x", False), CheckResult("output-matches", "y", True)]
    ctl.checks_ended(ChecksEnded(0, failing))
    assert ctl.hints("en") == ["Run `touch x` in the work dir.", "The general hint."]
    assert ctl.hints("ja")[0] == "作業ディレクトリで `touch x` を実行する。"
    assert ctl.next_hint("en") == "shown"
    ctl.checks_ended(ChecksEnded(0, [failing[1], failing[1]]))
    assert ctl.hints("en") == ["The general hint."]


def test_a_shell_that_does_not_mark_its_prompt_is_watched_when_it_goes_quiet(
    tmp_path: Path,
) -> None:
    """dash as root sets its own prompt (no marker): what it prints, once it settles,
    counts as a prompt; its whole transcript is the step's output."""
    need_tool("script", "dash")
    lesson = _lesson(tmp_path)
    with Journal.open(tmp_path / "home") as j:
        r = Runner(lesson, j)
        assert r.run_step(0).status == "failed"
        log = r.work / ".try-plain.log"
        r._try_logs[0] = [log]  # the recording the watcher follows, as shell() registers it
        q: queue.Queue = queue.Queue()
        w = Watcher(r, 0, log, q.put, interval=5.0)
        w.start()
        _next(q, "start")
        argv = ["script", "-q", "-f", "--log-out", str(log), "--command", "dash -i"]
        shell = subprocess.Popen(
            argv,
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd=r.work,
        )
        try:
            assert shell.stdin is not None
            end = time.monotonic() + 10  # its prompt first, as a learner would see it
            while b"# " not in (log.read_bytes() if log.exists() else b""):
                assert time.monotonic() < end, "dash never showed its prompt"
                time.sleep(0.05)
            shell.stdin.write(b"touch x; echo made\n")
            shell.stdin.flush()
            u = _next(q, "prompt")
            while not u.done:  # the first quiet moment may come before the command ran
                u = _next(q, "prompt")
            assert not w.marked and u.checks[0].ok
            assert "made" in (r.try_output(0) or "")
        finally:
            w.stop()
            shell.kill()
            shell.wait(5)
        r.finish()


TWO_STEPS = """+++
title = "scope"
summary = "scope"
part = "test"
requires = []
+++
## A store {#store}
```run
mkdir -p {{home}}/store/a/b
```
```view tree
path = "{{home}}/store"
depth = 3
```
## Put a file there {#put}
```run
true
```
"""


def test_what_changed_looks_where_the_lessons_tree_views_looked(tmp_path: Path) -> None:
    """A folder a tree view showed (a registry's storage, lesson 22) is in the scope of
    that step and of the later ones: a file the learner puts there is a change."""
    from lab.lesson.scope import scope_for
    from lab.ops import changes

    lesson = _lesson(tmp_path, TWO_STEPS, "93-scope")
    with Journal.open(tmp_path / "home") as j:
        r = Runner(lesson, j)
        assert r.run_step(0).status == "passed"
        store = str(tmp_path / "home" / "store")
        assert store in scope_for(r, 1).dirs
        before = changes.take(scope_for(r, 1))
        (tmp_path / "home" / "store" / "a" / "b" / "blob").write_text("x")
        got = [str(c) for c in changes.diff(before, changes.take(scope_for(r, 1)))]
        assert f"+ files: {store}/a/b/blob (1 B)" in got
        r.finish()
