"""An ordinary user for lesson 21 (user namespaces, rootless containers).

``create`` journals a "user" entry *before* ``useradd`` makes the account, so
``shikumi cleanup`` removes it (and its processes and subordinate-id lines) even
after a crash: see ``lab.safety.undo_user``. The account has no home, no login
shell, a group of its own, no subordinate ids (the lesson's learner adds them),
and the lab's mark in its GECOS field, which the undo insists on.
"""

from __future__ import annotations

import pwd
import shutil
import subprocess

from lab.errors import LabError
from lab.safety import undo_user
from lab.safety.journal import Entry, Journal

TIMEOUT = 30


def useradd_argv(name: str) -> list[str]:
    return [
        "useradd",
        "--comment",
        undo_user.MARK,
        "--no-create-home",
        "--home-dir",
        "/nonexistent",
        "--shell",
        "/usr/sbin/nologin",
        "--user-group",
        "-K",
        "SUB_UID_COUNT=0",  # no subordinate ids yet: the learner adds them
        "-K",
        "SUB_GID_COUNT=0",
        name,
    ]


def create(j: Journal, name: str) -> tuple[pwd.struct_passwd, Entry]:
    """Make the user *name* (shikumi-…), journaled first; one left by an earlier run
    of the lab (it carries the mark) is removed and made again."""
    if not undo_user.NAME_RE.match(name):
        raise LabError(f"the lab's users are named shikumi-… in lowercase (got {name!r})")
    old = undo_user.lookup(name)
    if old is not None and not undo_user.is_labs(old):
        raise LabError(f"a user {name} exists and the lab did not make it: not touching it")
    if shutil.which("useradd", path=undo_user.SBIN_PATH) is None:
        raise LabError("useradd is not installed: apt-get install passwd")
    entry = j.record("user", name)
    if old is not None:
        undo_user.undo(entry, j.home)
    argv = useradd_argv(name)
    argv[0] = shutil.which("useradd", path=undo_user.SBIN_PATH) or "useradd"
    r = subprocess.run(
        argv, capture_output=True, text=True, stdin=subprocess.DEVNULL, timeout=TIMEOUT
    )
    pw = undo_user.lookup(name)
    if r.returncode != 0 or pw is None:
        raise LabError(f"useradd {name} failed: {r.stderr.strip() or f'exit {r.returncode}'}")
    j.update(entry, uid=pw.pw_uid, gid=pw.pw_gid)
    return pw, entry
