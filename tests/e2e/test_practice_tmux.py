"""End to end: practice beside the app. The real app (`python -m lab open 07`) in a
real tmux (its own server: `tmux -L`), `t` opens the learner's shell in a pane
beside it, the test types into that pane with `send-keys` and reads the app's pane:
a wrong command leaves the check failing and `h` shows that check's own hint; the
solution turns the checks green and the What changed panel lists the file it made;
quitting closes the pane and leaves nothing (mounts, netns, shikumi cgroups,
processes of the shell, the journal). Drives the kernel: run it under the lock
(`flock /tmp/shikumi-kernel.lock`).
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

REPO = Path(__file__).resolve().parent.parent.parent


class Tmux:
    def __init__(self, socket: str) -> None:
        self.socket = socket

    def __call__(self, *args: str) -> str:
        r = subprocess.run(
            ["tmux", "-L", self.socket, *args], capture_output=True, text=True, timeout=10
        )
        return r.stdout

    def screen(self, target: str) -> str:
        return self("capture-pane", "-p", "-J", "-t", target)

    def wait(self, target: str, *texts: str, timeout: float = 20.0) -> str:
        end = time.monotonic() + timeout
        shown = ""
        while time.monotonic() < end:
            shown = self.screen(target)
            if all(t in shown for t in texts):
                return shown
            time.sleep(0.1)
        raise AssertionError(f"{texts!r} never all showed on {target}; it was:\n{shown}")

    def panes(self, session: str) -> list[str]:
        return self("list-panes", "-t", session, "-F", "#{pane_id}").split()


def _machine() -> dict[str, set[str]]:
    """What a lesson could leave behind, machine-wide."""
    with open("/proc/self/mountinfo") as f:
        mounts = {line.split()[4] for line in f}
    netns = set(os.listdir("/run/netns")) if os.path.isdir("/run/netns") else set()
    cgroups = set()
    for top in Path("/sys/fs/cgroup").iterdir():
        if top.is_dir():
            cgroups |= {str(p) for p in top.glob("shikumi*")}
    return {"mounts": mounts, "netns": netns, "cgroups": cgroups}


def _ppid(pid: int) -> int:
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return 0
    return int(stat.rsplit(")", 1)[1].split()[1])


def _ours(home: Path) -> list[int]:
    """Processes whose environment names our home (the app's, the shell's, its jobs)."""
    needle = f"SHIKUMI_HOME={home}".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.append(int(name))
            except OSError:
                continue
    return found


def test_practice_beside_the_app_in_tmux(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("tmux", "script", "chroot", "ldd"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    home = tmp_path / "home"
    exit_file = tmp_path / "exit-status"
    socket = f"shikumi-p16-{uuid.uuid4().hex[:8]}"
    t = Tmux(socket)
    before = _machine()
    env = f"SHIKUMI_HOME={home} LANG=C.UTF-8 TERM=xterm-256color PYTHONPATH={REPO}"
    command = (
        f"cd {REPO} && env -u COLUMNS -u LINES {env} {sys.executable} -m lab open 07;"
        f" echo $? > {exit_file}; sleep 5"
    )
    t("new-session", "-d", "-s", "app", "-x", "200", "-y", "50", command)
    try:
        app = t("list-panes", "-t", "app", "-F", "#{pane_id}").split()[0]
        t.wait(app, "Step 1/8")
        t("send-keys", "-t", app, "r")
        t.wait(app, "✓ the runtime environment is in place")
        t("send-keys", "-t", app, "4")
        t.wait(app, "Step 4/8")
        t("send-keys", "-t", app, "r")
        t.wait(app, "Only this step")  # steps 2-3 did not run in this session: run 4 alone
        t("send-keys", "-t", app, "Tab", "Enter")
        t.wait(app, "○ a file written to /tmp inside")  # waits for the learner
        t("send-keys", "-t", app, "t")
        end = time.monotonic() + 10
        while len(t.panes("app")) < 2 and time.monotonic() < end:
            time.sleep(0.1)
        shell = next(p for p in t.panes("app") if p != app)
        t.wait(shell, "(shikumi 07 · host) #")
        t.wait(app, "What changed")

        # a wrong command: the file lands in the work dir, not the container's /tmp
        t("send-keys", "-t", shell, "echo inside > $SHIKUMI_WORK/wrong.txt", "Enter")
        t.wait(app, "+ files: $SHIKUMI_HOME/work/07-chroot/wrong.txt (7 B)", "not yet")
        t("send-keys", "-t", app, "h")  # the failing check's own hint comes first
        t.wait(app, "Hint 1/3", "The file is not there yet")

        # the solution, typed as the learner would, and a job left running
        cmd = "chroot $SHIKUMI_HOME/containers/test /bin/sh -c 'echo inside > /tmp/note.txt'"
        t("send-keys", "-t", shell, cmd, "Enter")
        shown = t.wait(
            app, "+ files: $SHIKUMI_HOME/containers/test/tmp/note.txt (7 B)", "Every check holds"
        )
        assert "✗ a file written" not in shown
        t("send-keys", "-t", shell, "sleep 4242 &", "Enter")
        t.wait(shell, "[1]")
        jobs = [p for p in _ours(home) if b"4242" in Path(f"/proc/{p}/cmdline").read_bytes()]
        assert jobs, "the learner's job runs, marked"

        t("send-keys", "-t", app, "q")
        end = time.monotonic() + 20
        while not exit_file.exists() and time.monotonic() < end:
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
        # the app's pane stays (its command sleeps a little): the shell's pane is gone
        assert t.panes("app") == [app], "the shell's pane closed with the app"
    finally:
        t("kill-server")
    time.sleep(0.3)
    assert _ours(home) == [], "nothing the shell started survives"
    assert [m for m in _machine()["mounts"] if m.startswith(str(home))] == []
    after = _machine()
    assert after["netns"] - before["netns"] == set()
    assert after["cgroups"] - before["cgroups"] == set()
    assert not list((home / "journal").glob("*.jsonl")), "the journal is empty"
    assert not (home / "practice.json").exists()


def test_a_killed_app_leaves_nothing_after_cleanup(tmp_path: Path) -> None:
    """SIGKILL of the app with the shell beside open and a job running in it, then
    `python -m lab cleanup`: the shell, its job and the pane are gone."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("tmux", "script", "chroot", "ldd"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    home = tmp_path / "home"
    socket = f"shikumi-p16-{uuid.uuid4().hex[:8]}"
    t = Tmux(socket)
    env = f"SHIKUMI_HOME={home} LANG=C.UTF-8 TERM=xterm-256color PYTHONPATH={REPO}"
    command = (
        f"cd {REPO} && env -u COLUMNS -u LINES {env} {sys.executable} -m lab open 07; sleep 30"
    )
    t("new-session", "-d", "-s", "app", "-x", "200", "-y", "50", command)
    try:
        app = t.panes("app")[0]
        t.wait(app, "Step 1/8")
        t("send-keys", "-t", app, "r")
        t.wait(app, "✓ the runtime environment is in place")
        t("send-keys", "-t", app, "4", "r")
        t.wait(app, "Only this step")  # steps 2-3 did not run in this session: run 4 alone
        t("send-keys", "-t", app, "Tab", "Enter")
        t.wait(app, "○ a file written to /tmp inside")
        t("send-keys", "-t", app, "t")
        end = time.monotonic() + 10
        while len(t.panes("app")) < 2 and time.monotonic() < end:
            time.sleep(0.1)
        shell = next(p for p in t.panes("app") if p != app)
        t.wait(shell, "(shikumi 07 · host) #")
        t("send-keys", "-t", shell, "sleep 4343 &", "Enter")
        t.wait(shell, "[1]")
        opens = [
            p for p in _ours(home) if b"-m\0lab\0open" in Path(f"/proc/{p}/cmdline").read_bytes()
        ]
        # the app itself, not a child it forked that has not exec'd its command yet
        # (a check's subprocess, caught between fork and exec on a busy machine)
        apps = [p for p in opens if _ppid(p) not in opens]
        assert len(apps) == 1, opens
        os.kill(apps[0], 9)
        time.sleep(0.5)
        assert any(b"4343" in Path(f"/proc/{p}/cmdline").read_bytes() for p in _ours(home))
        r = subprocess.run(
            [sys.executable, "-m", "lab", "cleanup"],
            env={**os.environ, "SHIKUMI_HOME": str(home), "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert r.returncode == 0, r.stdout + r.stderr
        end = time.monotonic() + 5
        while len(t.panes("app")) > 1 and time.monotonic() < end:
            time.sleep(0.1)
        assert t.panes("app") == [app], "the shell's pane closed with its processes"
    finally:
        t("kill-server")
    time.sleep(0.3)
    assert _ours(home) == [], "nothing the shell started survives"
    assert [m for m in _machine()["mounts"] if m.startswith(str(home))] == []
    assert not list((home / "journal").glob("*.jsonl"))


def test_lesson_10_in_the_containers_shell_beside(tmp_path: Path) -> None:
    """Lesson 10's try, in the container's own shell beside the app: the learner's new
    file and whiteout land in the overlay's upper, as the What changed panel shows;
    the checks turn green; quitting leaves no mount, no process of ours."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("tmux", "script", "unshare", "nsenter", "ldd", "tar"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    home = tmp_path / "home"
    exit_file = tmp_path / "exit-status"
    t = Tmux(f"shikumi-p16-{uuid.uuid4().hex[:8]}")
    env = f"SHIKUMI_HOME={home} LANG=C.UTF-8 TERM=xterm-256color PYTHONPATH={REPO}"
    command = (
        f"cd {REPO} && env -u COLUMNS -u LINES {env} {sys.executable} -m lab open 10;"
        f" echo $? > {exit_file}; sleep 5"
    )
    t("new-session", "-d", "-s", "app", "-x", "200", "-y", "50", command)
    try:
        app = t.panes("app")[0]
        for k in range(1, 7):  # the lab's steps set the stage: image, overlay, container
            t.wait(app, f"Step {k}/10")
            t("send-keys", "-t", app, "r")
            if k == 6:  # #whiteout asks its predict question first: run without guessing
                t.wait(app, "Predict first")
                t("send-keys", "-t", app, "s")
            t.wait(app, "✓ passed", timeout=60)
            t("send-keys", "-t", app, "n")
        t.wait(app, "Step 7/10")
        t("send-keys", "-t", app, "r")
        t.wait(app, "○ your new file went to the upper", timeout=30)
        t("send-keys", "-t", app, "t")
        end = time.monotonic() + 10
        while len(t.panes("app")) < 2 and time.monotonic() < end:
            time.sleep(0.1)
        shell = next(p for p in t.panes("app") if p != app)
        time.sleep(1.0)  # the container's shell starts
        t("send-keys", "-t", shell, "echo my notes > /root/notes.txt", "Enter")
        t.wait(app, "$SHIKUMI_HOME/containers/web/upper/root/notes.txt")
        t("send-keys", "-t", shell, "rm /etc/passwd; ls /etc", "Enter")
        t.wait(app, "$SHIKUMI_HOME/containers/web/upper/etc/passwd", "Every check holds")
        t("send-keys", "-t", app, "q")
        end = time.monotonic() + 30
        while not exit_file.exists() and time.monotonic() < end:
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
        assert t.panes("app") == [app], "the shell's pane closed with the app"
    finally:
        t("kill-server")
    time.sleep(0.3)
    assert _ours(home) == [], "nothing the shell started survives"
    assert [m for m in _machine()["mounts"] if m.startswith(str(home))] == []
    assert not list((home / "journal").glob("*.jsonl")), "the journal is empty"


def test_outside_tmux_shikumi_shell_in_a_second_terminal(tmp_path: Path) -> None:
    """The app outside tmux (TMUX unset; --no-tmux): a step that waits for the learner
    is offered to `shikumi shell`, run in a second terminal (another tmux window
    here); what is typed there turns the app's checks green; leaving the step
    kills that shell. `shikumi shell` refuses clearly once no app offers one."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("tmux", "script", "chroot", "ldd"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    home = tmp_path / "home"
    t = Tmux(f"shikumi-p16-{uuid.uuid4().hex[:8]}")
    env = f"SHIKUMI_HOME={home} LANG=C.UTF-8 TERM=xterm-256color PYTHONPATH={REPO}"
    lab = f"cd {REPO} && env -u TMUX -u COLUMNS -u LINES {env} {sys.executable} -m lab"
    t("new-session", "-d", "-s", "app", "-x", "160", "-y", "45", f"{lab} open 07 --no-tmux")
    try:
        app = t.panes("app")[0]
        t.wait(app, "Step 1/8")
        t("send-keys", "-t", app, "r")
        t.wait(app, "✓ the runtime environment is in place")
        t("send-keys", "-t", app, "4", "r")
        t.wait(app, "Only this step")  # steps 2-3 did not run in this session: run 4 alone
        t("send-keys", "-t", app, "Tab", "Enter")
        t.wait(app, "shikumi shell")  # the app says where the shell is
        t("new-window", "-t", "app", f"{lab} shell; echo shell-ended; sleep 30")
        second = t("display-message", "-p", "-t", "app:1", "#{pane_id}").strip()
        t.wait(second, "(shikumi 07 · host) #")
        cmd = "chroot $SHIKUMI_HOME/containers/test /bin/sh -c 'echo inside > /tmp/note.txt'"
        t("send-keys", "-t", second, cmd, "Enter")
        t.wait(app, "$SHIKUMI_HOME/containers/test/tmp/note.txt (7 B)", "Every check holds")
        t("send-keys", "-t", app, "n")  # leaving the step: the second terminal's shell ends
        t.wait(second, "shell-ended")
        r = subprocess.run(
            [sys.executable, "-m", "lab", "shell"],
            env={**os.environ, "SHIKUMI_HOME": str(home), "PYTHONPATH": str(REPO)},
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 1 and "no shikumi app offers a shell now" in r.stderr
        t("send-keys", "-t", app, "q")
        end = time.monotonic() + 20
        while _ours(home) and time.monotonic() < end:
            time.sleep(0.1)
    finally:
        t("kill-server")
    time.sleep(0.3)
    assert _ours(home) == []
    assert not list((home / "journal").glob("*.jsonl"))
