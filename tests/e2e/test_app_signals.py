"""The real app in a real terminal, stopped by a signal in the middle of a running step:
SIGTERM, SIGHUP (the terminal closed) and SIGINT. Each is a clean exit: the step's
processes are gone, the journal is dropped, nothing is mounted under the home."""

from __future__ import annotations

import os
import shutil
import signal
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


def wait_for(pred, timeout: float = 15.0, what: str = "") -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def pids_with(text: str) -> list[int]:
    out = subprocess.run(["pgrep", "-f", text], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


@pytest.mark.parametrize(
    "sig", [signal.SIGTERM, signal.SIGHUP, signal.SIGINT], ids=lambda s: s.name
)
def test_signal_mid_step_is_a_clean_exit(tmp_path: Path, sig: signal.Signals) -> None:
    if shutil.which("tmux") is None:
        pytest.skip("needs tmux (assets/provision.sh installs it)")
    lessons = write_lessons(tmp_path)
    home = tmp_path / "home"
    name = f"shikumi-sig-{uuid.uuid4().hex[:8]}"
    env = f"SHIKUMI_HOME={home} SHIKUMI_LESSONS={lessons} LANG=C.UTF-8 TERM=xterm-256color"
    command = f"cd {REPO} && exec env -u COLUMNS -u LINES {env} {sys.executable} -m lab open 02"
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", command)
    try:
        pid = int(tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip())
        wait_for(
            lambda: "Step 1/" in tmux("capture-pane", "-p", "-t", name), what="the lesson screen"
        )
        tmux("send-keys", "-t", name, "r")
        # the step's `sleep 30` runs, marked as the lab's (its cwd is the lesson's work dir)
        wait_for(
            lambda: any(
                Path(f"/proc/{p}/cwd").resolve() == (home / "work" / "02-slow").resolve()
                for p in pids_with("sleep 30")
                if Path(f"/proc/{p}").exists()
            ),
            what="the running step",
        )
        os.kill(pid, sig)
        wait_for(
            lambda: (
                not Path(f"/proc/{pid}").exists()
                or Path(f"/proc/{pid}/stat").read_text().split()[2] == "Z"
            ),
            timeout=20,
            what="the app to exit",
        )
    finally:
        tmux("kill-session", "-t", name)
    time.sleep(0.2)
    assert list((home / "journal").glob("*.jsonl")) == [], "the session journal was not dropped"
    leftover = [
        p
        for p in pids_with("sleep 30")
        if Path(f"/proc/{p}/environ").exists()
        and b"SHIKUMI_MARK" in Path(f"/proc/{p}/environ").read_bytes()
    ]
    assert leftover == [], f"the step's processes survived: {leftover}"
    with open("/proc/self/mountinfo") as f:
        assert not [ln for ln in f if str(home) in ln]
    assert not (home / "work" / "02-slow").exists()
