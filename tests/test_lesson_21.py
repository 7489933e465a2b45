"""Lesson 21 (user namespaces and rootless containers) and the parts it brought.

Without root: the "user" journal kind's validation, how the lab calls useradd, the
host fingerprint's view of the account files (by content, the lab's lines left out).

For real, as root (run under the kernel lock): the user op makes an account that the
undo removes with its processes and its subordinate-id lines; an account of the same
form the lab did not make is left alone; the doctor's user-namespace probe; `play 21`
passes and leaves nothing (no user, no /etc/subuid line, no process); and a play
killed with SIGKILL mid-lesson leaves a user that `shikumi cleanup` removes.
"""

from __future__ import annotations

import json
import os
import pwd
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.lesson import leaks
from lab.ops import users
from lab.safety import undo_user
from lab.safety.entry import Entry
from lab.safety.journal import Journal
from tests.harness import state
from tests.support import REPO, need_root, need_tool, shikumi

NAME = "shikumi-l21"  # the lesson's user
TEST_USER = "shikumi-l21test"


def _lines(name: str) -> list[str]:
    found = []
    for path in ("/etc/passwd", "/etc/group", "/etc/subuid", "/etc/subgid"):
        found += [
            f"{path}: {ln}"
            for ln in Path(path).read_text().splitlines()
            if ln.startswith(name + ":")
        ]
    return found


def _processes_of(uid: int) -> list[int]:
    return undo_user._processes_of(uid)


# -- the parts, no root needed ------------------------------------------------------------


def test_user_entries_name_the_labs_users(tmp_path: Path) -> None:
    ok = Entry(1, "user", "shikumi-l21", {"uid": 1001})
    assert undo_user.validate(ok, tmp_path) == ""
    for bad in ("root", "l21", "shikumi-", "shikumi-L21", "shikumi-a;b", "shikumi-" + "x" * 30):
        assert undo_user.validate(Entry(1, "user", bad), tmp_path), bad
    assert undo_user.validate(Entry(1, "user", "shikumi-x", {"uid": 0}), tmp_path)
    assert undo_user.validate(Entry(1, "user", "shikumi-x", {"uid": "7"}), tmp_path)


def test_the_user_is_made_marked_and_without_subordinate_ids() -> None:
    argv = users.useradd_argv("shikumi-l21")
    assert argv[0] == "useradd" and argv[-1] == "shikumi-l21"
    assert argv[argv.index("--comment") + 1] == undo_user.MARK
    assert "--no-create-home" in argv and "/usr/sbin/nologin" in argv
    assert "SUB_UID_COUNT=0" in argv and "SUB_GID_COUNT=0" in argv


def test_account_files_are_compared_without_the_labs_lines(tmp_path: Path) -> None:
    f = tmp_path / "passwd"
    f.write_text("root:x:0:0::/root:/bin/sh\n")
    before = state._account_content(str(f))
    f.write_text("root:x:0:0::/root:/bin/sh\nshikumi-l21:x:1001:1001::/nonexistent:/x\n")
    assert state._account_content(str(f)) == before
    f.write_text("root:x:0:0::/root:/bin/sh\nmallory:x:1002:1002::/:/bin/sh\n")
    assert state._account_content(str(f)) != before


# -- for real, as root (under the kernel lock) ---------------------------------------------


def test_a_user_is_made_and_removed_with_its_processes_and_ranges(tmp_path: Path) -> None:
    need_root()
    need_tool("useradd", "setpriv")
    home = tmp_path / "home"
    assert _lines(TEST_USER) == []
    with Journal.open(home) as j:
        pw, entry = users.create(j, TEST_USER)
        try:
            assert pw.pw_uid > 0 and entry.meta["uid"] == pw.pw_uid
            assert _lines(TEST_USER)[0].startswith(f"/etc/passwd: {TEST_USER}:x:{pw.pw_uid}:")
            assert f"user {TEST_USER}" in leaks._users()
            assert f"user {TEST_USER}" in state.lab_things(home)
            for f in ("/etc/subuid", "/etc/subgid"):  # as the learner writes them
                with open(f, "a") as out:
                    out.write(f"{TEST_USER}:900000:65536\n")
            assert f"subuid {TEST_USER}" in leaks._users()
            as_user = ["setpriv", f"--reuid={TEST_USER}", f"--regid={TEST_USER}", "--clear-groups"]
            p = subprocess.Popen([*as_user, "sleep", "60"])
            deadline = time.monotonic() + 5
            while p.pid not in _processes_of(pw.pw_uid) and time.monotonic() < deadline:
                time.sleep(0.01)
            assert p.pid in _processes_of(pw.pw_uid)
        finally:
            res = j.undo(entry)
        assert res.ok, res.action
        assert "removed user" in res.action and "killed" in res.action
        p.wait(timeout=10)  # (the undo reaped its own child already: the status is gone)
        assert not Path(f"/proc/{p.pid}").exists()
    assert _lines(TEST_USER) == []
    assert not [t for t in leaks._users() if TEST_USER in t]
    assert _processes_of(pw.pw_uid) == []


def test_a_user_the_lab_did_not_make_is_left_alone(tmp_path: Path) -> None:
    need_root()
    need_tool("useradd", "userdel")
    subprocess.run(
        ["useradd", "-M", "-s", "/usr/sbin/nologin", "-K", "SUB_UID_COUNT=0", TEST_USER],
        check=True,
        capture_output=True,
        timeout=30,
    )
    try:
        with Journal.open(tmp_path / "home") as j:
            with pytest.raises(Exception, match="did not make it"):
                users.create(j, TEST_USER)
            res = j.undo(j.record("user", TEST_USER))
            assert not res.ok and "not made by the lab" in res.action
        assert pwd.getpwnam(TEST_USER)
    finally:
        subprocess.run(["userdel", TEST_USER], capture_output=True, timeout=30)
    assert _lines(TEST_USER) == []


def test_the_userns_probe_says_what_the_kernel_allows() -> None:
    need_root()
    from lab.doctor import userns_probe

    before = set(Path("/tmp").glob("shikumi-doctor-userns-*"))
    found = {c.name: c for c in userns_probe.probe_all()}
    assert set(found) == set(userns_probe.NAMES)
    for c in found.values():
        assert c.ok or c.fix, c
    if found["userns.unprivileged"].ok:
        major, minor = (int(x) for x in os.uname().release.split(".")[:2])
        assert found["userns.overlay"].ok == ((major, minor) >= (5, 11)), found["userns.overlay"]
    assert set(Path("/tmp").glob("shikumi-doctor-userns-*")) <= before  # its scratch is gone


def _need_lesson() -> None:
    need_root()
    need_tool("unshare", "nsenter", "setpriv", "useradd", "newuidmap", "newgidmap")


# open_home: tests/conftest.py (a home lesson 21's user can reach)


def test_lesson_21_plays_and_leaves_nothing(open_home: Path) -> None:
    _need_lesson()
    r = shikumi("play", "21", "--json", home=open_home, timeout=280)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(r.stdout)
    (lesson,) = data["lessons"]
    assert lesson["failed"] == 0, lesson
    for skip in lesson["skips"]:  # only for what this kernel forbids or a tool not here
        assert "userns." in json.dumps(skip) or "rootlesskit" in json.dumps(skip), skip
    assert data["leaked"] == []
    assert _lines(NAME) == []


def test_cleanup_after_sigkill_mid_lesson_removes_the_user(open_home: Path) -> None:
    """`play 21` killed with SIGKILL once the user exists and runs a process (its first
    user namespace): the user is still there; `shikumi cleanup` removes it, its
    processes and its lines, and the leak check finds nothing of it."""
    _need_lesson()
    home = open_home
    env = dict(os.environ, SHIKUMI_HOME=str(home))
    play = subprocess.Popen(
        [sys.executable, "-m", "lab", "play", "21"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    uid = None
    try:
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and play.poll() is None:
            try:
                uid = pwd.getpwnam(NAME).pw_uid
            except KeyError:
                uid = None
            if uid is not None and _processes_of(uid):
                break
            time.sleep(0.02)
        assert play.poll() is None, "the play ended before it could be killed mid-lesson"
        play.send_signal(signal.SIGKILL)
        play.wait(timeout=10)
        assert uid is not None and _lines(NAME), "the kill did not land mid-lesson"
    finally:
        if play.poll() is None:
            play.kill()
            play.wait(timeout=10)
        r = subprocess.run(
            [sys.executable, "-m", "lab", "cleanup"],
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=120,
        )
    assert r.returncode == 0, r.stdout + r.stderr
    assert _lines(NAME) == []
    assert _processes_of(uid) == []
    assert not [t for t in state.lab_things(home) if NAME in t]
