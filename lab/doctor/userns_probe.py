"""Probe: user namespaces for an ordinary user (lesson 21), and overlay inside one.

- ``userns.unprivileged``: a process that is not root (uid 65534 when the doctor
  runs as root) makes a user namespace, maps its own uid to 0 there (setgroups
  "deny" first, as the kernel asks of an unprivileged writer) and mounts a tmpfs in
  a new mount namespace of its own. Debian's ``kernel.unprivileged_userns_clone=0``
  and ``user.max_user_namespaces=0`` stop the first part, Ubuntu's AppArmor
  restriction (``kernel.apparmor_restrict_unprivileged_userns=1``) the last.
- ``userns.overlay``: the same process mounts an overlay there — Linux ≥ 5.11.

The attempt runs in a fresh interpreter (unshare(2) changes its caller) that exits
at once: its namespaces and mounts die with it. Its scratch directories are in a
temporary directory removed afterwards.
"""

from __future__ import annotations

import contextlib
import errno
import json
import os
import shutil
import sys
import tempfile

from lab.doctor.probe import Check, one_line, run

NAMES = ("userns.unprivileged", "userns.overlay")
NOBODY = 65534

_BODY = r"""
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
libc.mount.argtypes = [ctypes.c_char_p] * 3 + [ctypes.c_ulong, ctypes.c_char_p]
top, uid = sys.argv[1], int(sys.argv[2])
out = {}
def err():
    return ctypes.get_errno() or 1
try:
    if os.geteuid() == 0:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
        libc.prctl(4, 1, 0, 0, 0)  # PR_SET_DUMPABLE: a uid change cleared it (and /proc/self with it)
    me, mygid = os.geteuid(), os.getegid()
    if libc.unshare(0x10000000 | 0x00020000) != 0:  # CLONE_NEWUSER | CLONE_NEWNS
        out["unshare"] = err()
    else:
        for name, text in (("setgroups", "deny"), ("uid_map", f"0 {me} 1"), ("gid_map", f"0 {mygid} 1")):
            try:
                with open(f"/proc/self/{name}", "w") as f:
                    f.write(text)
            except OSError as e:
                out["map"] = e.errno or 1
                break
        if "map" not in out:
            if libc.mount(b"none", f"{top}/t".encode(), b"tmpfs", 0, None) != 0:
                out["mount"] = err()
            data = f"lowerdir={top}/l,upperdir={top}/u,workdir={top}/w".encode()
            if libc.mount(b"overlay", f"{top}/m".encode(), b"overlay", 0, data) != 0:
                out["overlay"] = err()
except OSError as e:
    out["setup"] = e.errno or 1
print(json.dumps(out))
"""


def _sysctl(name: str) -> str:
    try:
        with open("/proc/sys/" + name.replace(".", "/")) as f:
            return f.read().strip()
    except OSError:
        return ""


def _fix_unshare(code: int) -> str:
    if code == errno.ENOSPC or _sysctl("user.max_user_namespaces") == "0":
        return "sysctl -w user.max_user_namespaces=15000 (it is 0 here)"
    if _sysctl("kernel.unprivileged_userns_clone") == "0":
        return "sysctl -w kernel.unprivileged_userns_clone=1 (Debian's switch, 0 here)"
    return "a kernel that allows user namespaces to every user (CONFIG_USER_NS); the lesson runs the rest"


def _why(code: int) -> str:
    return f"{errno.errorcode.get(code, code)} ({os.strerror(code)})"


def attempt() -> dict:
    """The child's findings: {} when everything worked, else the step and its errno."""
    top = tempfile.mkdtemp(prefix="shikumi-doctor-userns-")
    try:
        for d in ("t", "l", "u", "w", "m"):
            os.mkdir(os.path.join(top, d))
            if os.geteuid() == 0:
                os.chown(os.path.join(top, d), NOBODY, NOBODY)
        os.chmod(top, 0o755)
        rc, out, err = run([sys.executable, "-c", _BODY, top, str(NOBODY)], timeout=10, again=60)
        if rc != 0:
            return {"crash": f"exit {rc}: {one_line(err)}"}
        return json.loads(out)
    except (OSError, ValueError) as e:
        return {"crash": str(e)}
    finally:
        _remove(top)


def _remove(top: str) -> None:
    """The scratch directory, even the overlay's work/work (mode 000, owned by 65534)."""
    for dirpath, dirnames, _ in os.walk(top):
        for d in dirnames:
            with contextlib.suppress(OSError):
                os.chmod(os.path.join(dirpath, d), 0o700)
    shutil.rmtree(top, ignore_errors=True)


def probe_all() -> list[Check]:
    found = attempt()
    who = "uid 65534" if os.geteuid() == 0 else f"uid {os.geteuid()}"
    un, ov = NAMES
    if "crash" in found:
        bug = "report this as a bug (shikumi doctor --json shows the error)"
        return [Check(n, False, False, f"the probe failed: {found['crash']}", bug) for n in NAMES]
    if "setup" in found:
        why = f"could not become {who}: {_why(found['setup'])}"
        return [Check(n, False, False, why, "run shikumi doctor as root") for n in NAMES]
    if "unshare" in found:
        c = found["unshare"]
        detail = f"{who} cannot make a user namespace: unshare(CLONE_NEWUSER) {_why(c)}"
        return [
            Check(un, False, False, detail, _fix_unshare(c)),
            Check(ov, False, False, "no user namespace to mount it in", _fix_unshare(c)),
        ]
    if "map" in found or "mount" in found:
        c = found.get("map") or found["mount"]
        what = "write its uid_map" if "map" in found else "mount a tmpfs as root of it"
        fix = (
            "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu's AppArmor restriction)"
            if _sysctl("kernel.apparmor_restrict_unprivileged_userns") == "1"
            else "a kernel that lets a user namespace's root mount (the lesson runs the rest)"
        )
        detail = f"{who} makes a user namespace but cannot {what}: {_why(c)}"
        return [Check(un, False, False, detail, fix), Check(ov, False, False, detail, fix)]
    unpriv = Check(
        un,
        True,
        False,
        f"{who} made a user namespace, mapped itself to root there and mounted a tmpfs",
        "",
    )
    if "overlay" in found:
        release = os.uname().release
        return [
            unpriv,
            Check(
                ov,
                False,
                False,
                f"overlay inside a user namespace refused: {_why(found['overlay'])} (kernel {release})",
                "Linux ≥ 5.11 mounts overlay in a user namespace; the lesson's overlay step is skipped",
            ),
        ]
    return [
        unpriv,
        Check(ov, True, False, f"{who} mounted an overlay inside its user namespace", ""),
    ]
