"""Undoing a user the lab made (lesson 21): its processes, its account, its group,
and its lines in /etc/subuid and /etc/subgid.

A "user" entry names the account (``shikumi-…``). The lab makes it with ``useradd``
and a GECOS field holding ``MARK``; the undo refuses an account of that name without
the mark (somebody else's, made by hand), so cleanup never deletes a user it did not
make. Undoing: every process whose uid is the user's is killed (a learner's rootless
container included), then ``userdel`` (which drops the user's group and subordinate
ranges too), then any ``NAME:`` line still in /etc/subuid or /etc/subgid (a learner's
``echo >>``, or a crash between the two) and a group of the name left behind. A user
already gone is fine.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import re
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

from lab.safety import procs
from lab.safety.entry import Entry

NAME_RE = re.compile(r"^shikumi-[a-z0-9][a-z0-9-]{0,22}$")
MARK = "shikumi-lab user, removed by shikumi cleanup"
SUBID_FILES = ("/etc/subuid", "/etc/subgid")
TIMEOUT = 30
SBIN_PATH = "/usr/local/sbin:/usr/sbin:/sbin:/usr/local/bin:/usr/bin:/bin"


def validate(entry: Entry, home: Path) -> str:
    if not NAME_RE.match(entry.target):
        return f"the lab's users are named shikumi-… (lowercase, at most 32 characters; got {entry.target!r})"
    uid = entry.meta.get("uid")
    if uid is not None and (not isinstance(uid, int) or uid <= 0):
        return "a user entry's uid is a positive number"
    return ""


def lookup(name: str) -> pwd.struct_passwd | None:
    try:
        return pwd.getpwnam(name)
    except KeyError:
        return None


def is_labs(pw: pwd.struct_passwd) -> bool:
    return MARK in pw.pw_gecos


def subid_lines(name: str) -> list[str]:
    """This user's lines in /etc/subuid and /etc/subgid, as ``FILE: LINE``."""
    found = []
    for path in SUBID_FILES:
        with contextlib.suppress(OSError):
            found += [
                f"{path}: {ln}"
                for ln in Path(path).read_text().splitlines()
                if ln.startswith(name + ":")
            ]
    return found


def _processes_of(uid: int) -> list[int]:
    pids = []
    for d in os.listdir("/proc"):
        if not d.isdigit():
            continue
        with contextlib.suppress(OSError):
            fields = dict(
                ln.split(":", 1)
                for ln in Path(f"/proc/{d}/status").read_text().splitlines()
                if ":" in ln
            )
            zombie = fields.get("State", "").split()[:1] == ["Z"]
            if not zombie and str(uid) in fields.get("Uid", "").split():
                pids.append(int(d))
    return pids


def _tool(name: str) -> str:
    path = shutil.which(name, path=SBIN_PATH)
    if path is None:
        raise RuntimeError(f"{name} is not installed (package passwd)")
    return path


def _drop_lines(path: str, name: str) -> int:
    """Remove NAME:… lines from a subordinate-id file, atomically, keeping its mode."""
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        return 0
    lines = text.splitlines(keepends=True)
    keep = [ln for ln in lines if not ln.startswith(name + ":")]
    if len(keep) == len(lines):
        return 0
    st = os.stat(path)
    fd, tmp = tempfile.mkstemp(dir=os.path.dirname(path), prefix=".shikumi-")
    try:
        with os.fdopen(fd, "w") as f:
            f.write("".join(keep))
        os.chown(tmp, st.st_uid, st.st_gid)
        os.chmod(tmp, st.st_mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
    return len(lines) - len(keep)


def undo(e: Entry, home: Path) -> str:
    name = e.target
    pw = lookup(name)
    done: list[str] = []
    if pw is not None:
        if not is_labs(pw):
            raise RuntimeError(
                f"user {name} was not made by the lab (no mark in its GECOS): left alone"
            )
        killed = 0
        for _ in range(20):  # a rootless container may fork while we look: look again
            pids = _processes_of(pw.pw_uid)
            if not pids:
                break
            killed += len(procs.kill_all(pids))
            time.sleep(0.02)
        r = subprocess.run(
            [_tool("userdel"), name],
            capture_output=True,
            text=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT,
        )
        if lookup(name) is not None:
            raise RuntimeError(r.stderr.strip() or f"userdel {name} failed")
        done.append(f"removed user {name} (uid {pw.pw_uid})")
        if killed:
            done.append(f"killed {killed} process(es)")
    n = sum(_drop_lines(p, name) for p in SUBID_FILES)
    if n:
        done.append(f"removed {n} subordinate-id line(s)")
    with contextlib.suppress(KeyError):
        grp.getgrnam(name)
        subprocess.run(
            [_tool("groupdel"), name],
            capture_output=True,
            stdin=subprocess.DEVNULL,
            timeout=TIMEOUT,
        )
        done.append(f"removed group {name}")
    return ", ".join(done) or "no such user"
