"""Lessons 06–09 (a container by hand), for real as root: they pass with nothing
skipped, and leave nothing behind — no mount under the home, no hello.sh, no
network namespace, the host's hostname untouched. Plus hello.sh itself and the
"host" process the lessons compare against."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import pytest

from lab.host import mounts
from lab.lesson.context import host_pid
from tests.support import REPO, need_root, need_tool, play_passes, shikumi

LESSONS = ["06-rootfs-tar", "07-chroot", "08-unshare", "09-namespace-inodes"]
HELLO = REPO / "assets" / "hello.sh"


def _netns() -> set[str]:
    try:
        return set(os.listdir("/run/netns"))
    except OSError:
        return set()


def _live_hello() -> list[str]:
    """hello.sh processes that are still running (zombies awaiting their reaper aside)."""
    out = []
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            cmd = Path(f"/proc/{name}/cmdline").read_bytes().replace(b"\0", b" ").decode()
            state = Path(f"/proc/{name}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except (OSError, IndexError):
            continue
        if "/opt/bin/hello.sh" in cmd and state != "Z":
            out.append(f"{name}: {cmd.strip()}")
    return out


def test_lessons_06_to_09_pass_and_leave_nothing(tmp_path: Path) -> None:
    need_root()
    need_tool("unshare", "nsenter", "chroot", "ldd", "tar", "ip", "busybox", "tree")
    home = tmp_path / "home"
    host_before = socket.gethostname()
    netns_before = _netns()
    data = play_passes(*[x[:2] for x in LESSONS], home=home, timeout=300)
    assert [x["id"] for x in data["lessons"]] == LESSONS
    # nothing left: mounts, the container's processes, namespaces, the hostname
    assert [m.target for m in mounts.under(str(home)) if m.target != str(home)] == []
    deadline = time.monotonic() + 5
    while _live_hello() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _live_hello() == []
    assert _netns() == netns_before
    assert socket.gethostname() == host_before
    assert not (home / "containers").exists()
    assert not (home / "work" / "06-rootfs-tar").exists()


def test_lessons_06_to_09_read_in_japanese(tmp_path: Path) -> None:
    need_root()
    need_tool("unshare", "nsenter", "chroot", "ldd", "tar", "ip", "busybox", "tree")
    r = shikumi("play", "07", "09", "--lang", "ja", home=tmp_path / "home", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "chroot はコンテナではない" in r.stdout
    assert "三つの列：シェル、ホスト、コンテナ" in r.stdout
    assert "Three columns" not in r.stdout


def test_lessons_06_to_09_lint_clean() -> None:
    r = shikumi("check", *[f"lessons/{x}" for x in LESSONS])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).replace("0 error(s)", "")


@pytest.mark.parametrize("shell", ["sh", "dash", "busybox"])
def test_hello_sh_is_posix_and_says_who_and_where(shell: str) -> None:
    argv = ["busybox", "sh"] if shell == "busybox" else [shell]
    if shutil.which(argv[0]) is None:
        pytest.skip(f"{argv[0]} is not installed")
    r = subprocess.run(
        [*argv, str(HELLO), "1"], capture_output=True, text=True, timeout=10, cwd="/"
    )
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0].startswith(f"hello from {socket.gethostname()}: I am pid ")
    assert "my root holds: /" in lines[0]
    assert lines[-1].endswith("says goodbye")
    assert r.stderr == ""


def test_hello_sh_waits_until_stopped() -> None:
    p = subprocess.Popen(["sh", str(HELLO)], stdout=subprocess.PIPE, text=True)
    try:
        time.sleep(1.5)
        assert p.poll() is None  # still waiting, like the slides' `sleep 260`
    finally:
        p.kill()
        p.wait()


def test_host_is_pid_1_when_readable_else_a_readable_elder() -> None:
    pid = host_pid()
    try:
        os.readlink("/proc/1/ns/mnt")
        readable_1 = True
    except OSError:
        readable_1 = False
    if readable_1:
        assert pid == 1
    else:
        assert pid != 1
        assert os.readlink(f"/proc/{pid}/ns/mnt").startswith("mnt:[")


def test_07_the_chroot_shell_shows_its_own_prompt(tmp_path: Path) -> None:
    """07#shell: `/bin/sh` started by chroot takes its prompt from the PS1 it inherits,
    so the try's `PS1='(chroot) # ' chroot …` marks the shell inside as inside."""
    from lab.ops import rootfs
    from lab.safety.journal import Journal

    need_root()
    need_tool("chroot", "ldd")
    with Journal.open(tmp_path / "home") as j:
        r = rootfs.build(j, j.home / "rootfs", programs=["sh", "ls"])
        env = {**os.environ, "PS1": "(chroot) # "}
        p = subprocess.run(
            ["chroot", str(r.root), "/bin/sh", "-i"],
            input="ls /\nexit\n",
            capture_output=True,
            text=True,
            env=env,
            timeout=20,
        )
    assert p.returncode == 0, p.stderr
    assert "(chroot) # " in p.stderr  # sh writes its prompt to stderr
