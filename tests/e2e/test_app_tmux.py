"""End to end: the real app (`python -m lab`) in a real terminal (tmux).

Start it, read the lesson list off the screen, open a lesson, run a step, quit,
and check nothing is left behind: no journal file, no mount under the home, no
work folder, no process of the step.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from test_app_helpers import write_lessons

REPO = Path(__file__).resolve().parent.parent.parent


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def screen(name: str) -> str:
    return tmux("capture-pane", "-p", "-t", name)


def wait_screen(name: str, text: str, timeout: float = 15.0) -> str:
    end = time.monotonic() + timeout
    shown = ""
    while time.monotonic() < end:
        shown = screen(name)
        if text in shown:
            return shown
        time.sleep(0.1)
    raise AssertionError(f"{text!r} never showed; the screen was:\n{shown}")


def mounts_under(path: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(path))]


def test_learner_opens_runs_and_quits_leaving_nothing(tmp_path):
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (assets/provision.sh installs it)")
    lessons = write_lessons(tmp_path)
    home = tmp_path / "home"
    name = f"shikumi-e2e-{uuid.uuid4().hex[:8]}"
    exit_file = tmp_path / "exit-status"
    env = f"SHIKUMI_HOME={home} SHIKUMI_LESSONS={lessons} LANG=C.UTF-8 TERM=xterm-256color"
    # -u: a COLUMNS/LINES inherited from the test runner would override the pane size
    command = (
        f"cd {REPO} && env -u COLUMNS -u LINES {env} {sys.executable} -m lab; echo $? > {exit_file}"
    )
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", command)
    tmux("resize-window", "-t", name, "-x", "120", "-y", "36")
    try:
        shown = wait_screen(name, "A demo lesson")
        assert "The host" in shown and "A slow lesson" in shown
        wait_screen(name, "ready")  # doctor has answered: availability is shown
        tmux("send-keys", "-t", name, "Enter")
        wait_screen(name, "Step 1/3")
        wait_screen(name, "echo hello > greeting.txt")  # the command, shown before it runs
        tmux("send-keys", "-t", name, "r")
        shown = wait_screen(name, "passed")
        assert "made greeting.txt" in shown and "greeting.txt exists" in shown
        assert list((home / "journal").glob("*.jsonl")), (
            "a session journal while the lesson is open"
        )
        tmux("send-keys", "-t", name, "q")
        end = time.monotonic() + 15
        while not exit_file.exists() and time.monotonic() < end:
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
    finally:
        tmux("kill-session", "-t", name)
    assert list((home / "journal").glob("*.jsonl")) == []
    assert mounts_under(home) == []
    assert not (home / "work" / "01-demo").exists()
    assert "make-file" in (home / "progress.json").read_text()
    # the app and everything the lab started carry SHIKUMI_HOME in their environment
    # (pgrep -f on the home matched only command lines that name it: not the step's)
    needle = f"SHIKUMI_HOME={home}".encode()
    leftover = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            env = Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
            state = Path(f"/proc/{pid}/stat").read_bytes().rsplit(b")", 1)[1].split()[0]
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ")
        except OSError:
            continue
        if needle in env and state != b"Z":
            leftover.append(cmdline)
    assert leftover == [], f"processes left behind: {leftover}"
    assert os.path.isdir(home)
