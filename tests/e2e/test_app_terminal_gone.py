"""The real app in a real terminal (tmux) whose terminal goes away — `tmux kill-session`,
as an SSH drop or a closed window does — in each state: mid-step, in the try shell,
in a dialog, while quitting; and with SIGHUP never delivered (only the terminal's
hang-up tells). Each time the app is gone within 5 s and nothing of it is left: no
marked process, no mount under the home, no journal.

Also SIGTERM in the try shell (the app is suspended, its thread waiting for the shell),
and the try shell's background processes (`sleep &`, `setsid sleep &`): gone when the
lesson ends, and after `shikumi cleanup` when the app was killed outright.
"""

from __future__ import annotations

import os
import shlex
import shutil
import signal
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from harness.state import lab_things
from test_app_helpers import write_lessons

REPO = Path(__file__).resolve().parent.parent.parent
GONE_WITHIN = 5.0  # the bound: the app ends within 5 s of its terminal going

pytestmark = pytest.mark.skipif(
    shutil.which("tmux") is None, reason="needs tmux (assets/provision.sh installs it)"
)

DIALOG_AND_TRY = """+++
title = "Busy things"
part = "The host"
+++
## Make something {#make}
```run
mkdir -p made && echo made
```
```check path-exists
path = "{{work}}/made"
message = "made exists"
```

## Your turn {#turn}
```try
Start something in the background.
```
```check path-exists
path = "{{work}}/never-there"
message = "never there"
```
"""


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, check=False, timeout=10
    ).stdout


def wait_for(pred, timeout: float = 20.0, what: str = "", every: float = 0.05) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(every)
    raise AssertionError(f"timed out waiting for {what}")


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")


def marked(owner: int, needle: str = "") -> list[int]:
    """Live processes carrying a marker of the app with pid *owner* (and *needle*)."""
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            env = Path(f"/proc/{name}/environ").read_bytes()
            cmdline = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        ours = f"SHIKUMI_MARK=shikumi-{owner}-".encode() in env
        if ours and needle.encode() in cmdline and not gone(int(name)):
            found.append(int(name))
    return found


class App:
    """`shikumi open LESSON` in a detached tmux session; the pane's process is the app."""

    def __init__(self, tmp: Path, lesson: str, block_hup: bool = False) -> None:
        self.lessons = write_lessons(tmp)
        extra = self.lessons / "03-busy"
        extra.mkdir()
        (extra / "lesson.md").write_text(DIALOG_AND_TRY)
        self.home = tmp / "home"
        self.name = f"shikumi-gone-{uuid.uuid4().hex[:8]}"
        env = (
            f"SHIKUMI_HOME={shlex.quote(str(self.home))} "
            f"SHIKUMI_LESSONS={shlex.quote(str(self.lessons))} LANG=C.UTF-8 TERM=xterm-256color"
        )
        py = shlex.quote(sys.executable)
        if block_hup:  # SIGHUP blocked (inherited across exec): only the hang-up itself tells
            launch = (
                f"{py} -c 'import os,signal,sys; signal.pthread_sigmask(signal.SIG_BLOCK,"
                f"[signal.SIGHUP]); os.execv(sys.executable, [sys.executable,*sys.argv[1:]])'"
                f" -m lab open {lesson}"
            )
        else:
            launch = f"{py} -m lab open {lesson}"
        self.command = f"cd {REPO} && exec env -u COLUMNS -u LINES {env} {launch}"

    def __enter__(self) -> App:
        # what exists before the app (another lab's, a VM build's, or the lab home
        # itself mounted as a volume in a fresh container) is not the app's to undo
        self.before = set(lab_things(self.home))
        tmux("new-session", "-d", "-s", self.name, "-x", "140", "-y", "40", self.command)
        self.pid = int(tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").strip())
        return self

    def __exit__(self, *exc: object) -> None:
        tmux("kill-session", "-t", self.name)
        if gone(self.pid):
            return
        # never leave anything behind, even when a test failed: give the app its time
        # to end, then kill it and clean up after it (and say so if that fails)
        end = time.monotonic() + GONE_WITHIN + 2
        while not gone(self.pid) and time.monotonic() < end:
            time.sleep(0.05)
        if not gone(self.pid):
            os.kill(self.pid, signal.SIGKILL)
        r = subprocess.run(
            [sys.executable, "-m", "lab", "cleanup"],
            env={**os.environ, "SHIKUMI_HOME": str(self.home)},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        left = marked(self.pid)
        for pid in left:
            os.kill(pid, signal.SIGKILL)
        if exc[0] is None:  # (a test that failed already says why)
            assert r.returncode == 0 and not left, f"cleanup after the app: {r.stdout}{r.stderr}"

    def screen(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.name)

    def wait_screen(self, text: str, timeout: float = 20.0) -> None:
        wait_for(lambda: text in self.screen(), timeout, f"{text!r} on screen:\n{self.screen()}")

    def keys(self, *keys: str) -> None:
        tmux("send-keys", "-t", self.name, *keys)

    def kill_terminal(self) -> float:
        """Kill the tmux session; seconds until the app was gone (AssertionError past 5 s)."""
        t0 = time.monotonic()
        tmux("kill-session", "-t", self.name)
        wait_for(lambda: gone(self.pid), GONE_WITHIN, "the app to end with its terminal")
        return time.monotonic() - t0

    def assert_nothing_left(self) -> None:
        assert marked(self.pid) == [], "the app's processes survived it"
        assert sorted(set(lab_things(self.home)) - self.before) == []
        assert list((self.home / "journal").glob("*.jsonl")) == [], "the journal was not undone"


def test_terminal_gone_mid_step(tmp_path: Path) -> None:
    with App(tmp_path, "02") as app:
        app.wait_screen("Step 1/")
        app.keys("r")
        wait_for(lambda: marked(app.pid, "sleep"), what="the step's sleep 30")
        app.kill_terminal()
    app.assert_nothing_left()


def test_terminal_gone_in_the_try_shell(tmp_path: Path) -> None:
    with App(tmp_path, "03") as app:
        app.wait_screen("Step 1/")
        app.keys("r")
        app.wait_screen("passed")
        app.keys("n")
        app.wait_screen("Step 2/")
        app.keys("t")
        wait_for(lambda: marked(app.pid, "bash"), what="the try shell (marked)")
        app.keys("sleep 9875 &", "Enter")
        app.keys("setsid sleep 9876 &", "Enter")
        wait_for(lambda: len(marked(app.pid, "sleep 987")) == 2, what="the learner's sleeps")
        app.kill_terminal()
    app.assert_nothing_left()


def test_terminal_gone_in_a_dialog(tmp_path: Path) -> None:
    with App(tmp_path, "03") as app:
        app.wait_screen("Step 1/")
        app.keys("r")
        app.wait_screen("passed")
        assert (app.home / "work" / "03-busy" / "made").is_dir()
        app.keys("g")
        app.wait_screen("Jump to a step")
        app.kill_terminal()
    app.assert_nothing_left()
    assert not (app.home / "work" / "03-busy").exists()


def test_terminal_gone_while_quitting(tmp_path: Path) -> None:
    with App(tmp_path, "02") as app:
        app.wait_screen("Step 1/")
        app.keys("r")
        wait_for(lambda: marked(app.pid, "sleep"), what="the step's sleep 30")
        app.keys("q")  # a step runs: the app asks first
        app.wait_screen("Quit?")
        app.keys("y")
        app.kill_terminal()
    app.assert_nothing_left()


def test_terminal_hang_up_alone_ends_the_app(tmp_path: Path) -> None:
    """SIGHUP never arrives (blocked): the guard sees the hung-up terminal itself."""
    with App(tmp_path, "02", block_hup=True) as app:
        app.wait_screen("Step 1/")
        app.keys("r")
        wait_for(lambda: marked(app.pid, "sleep"), what="the step's sleep 30")
        sig_blk = next(
            ln
            for ln in Path(f"/proc/{app.pid}/status").read_text().splitlines()
            if ln.startswith("SigBlk:")
        )
        assert int(sig_blk.split()[1], 16) & (1 << (signal.SIGHUP - 1)), "SIGHUP not blocked"
        app.kill_terminal()
    app.assert_nothing_left()


def test_sigterm_in_the_try_shell(tmp_path: Path) -> None:
    with App(tmp_path, "03") as app:
        app.wait_screen("Step 1/")
        app.keys("n")
        app.wait_screen("Step 2/")
        app.keys("t")
        wait_for(lambda: marked(app.pid, "bash"), what="the try shell (marked)")
        os.kill(app.pid, signal.SIGTERM)
        wait_for(lambda: gone(app.pid), GONE_WITHIN, "the app to end on SIGTERM")
    app.assert_nothing_left()


def test_try_shell_background_processes_end_with_the_lesson(tmp_path: Path) -> None:
    with App(tmp_path, "03") as app:
        app.wait_screen("Step 1/")
        app.keys("n")
        app.wait_screen("Step 2/")
        app.keys("t")
        wait_for(lambda: marked(app.pid, "bash"), what="the try shell (marked)")
        app.keys("sleep 9875 &", "Enter")
        app.keys("setsid sleep 9876 &", "Enter")
        wait_for(lambda: len(marked(app.pid, "sleep 987")) == 2, what="the learner's sleeps")
        app.keys("exit", "Enter")
        app.wait_screen("never there")  # back in the app, the checks ran
        # still there: the learner's checks may look at what they started
        assert len(marked(app.pid, "sleep 987")) == 2
        app.keys("Escape")  # the lesson ends: its cleanup ends them
        app.wait_screen("A demo lesson")  # the lesson list again
        wait_for(lambda: not marked(app.pid, "sleep 987"), 10, "the sleeps to go")
        assert list((app.home / "journal").glob("*.jsonl")) == []
        app.keys("q")
        wait_for(lambda: gone(app.pid), 10, "the app to quit")
    app.assert_nothing_left()


def test_try_shell_background_processes_go_with_cleanup_after_a_kill(tmp_path: Path) -> None:
    with App(tmp_path, "03") as app:
        app.wait_screen("Step 1/")
        app.keys("n")
        app.wait_screen("Step 2/")
        app.keys("t")
        wait_for(lambda: marked(app.pid, "bash"), what="the try shell (marked)")
        app.keys("sleep 9875 &", "Enter")
        app.keys("setsid sleep 9876 &", "Enter")
        wait_for(lambda: len(marked(app.pid, "sleep 987")) == 2, what="the learner's sleeps")
        sleeps = marked(app.pid, "sleep 987")
        os.kill(app.pid, signal.SIGKILL)  # a crash: nothing of the app runs any more
        wait_for(lambda: gone(app.pid), 5, "the killed app")
        tmux("kill-session", "-t", app.name)
        assert [p for p in sleeps if not gone(p)], "the setsid sleep outlives its terminal"
        r = subprocess.run(
            [sys.executable, "-m", "lab", "cleanup"],
            env={**os.environ, "SHIKUMI_HOME": str(app.home)},
            capture_output=True,
            text=True,
            timeout=60,
            cwd=REPO,
        )
        assert r.returncode == 0, r.stderr
        assert all(gone(p) for p in sleeps), f"cleanup left the learner's sleeps: {r.stdout}"
    app.assert_nothing_left()
