"""Probe: can each kind of namespace really be created here?

unshare(2) changes the *calling* process, so it never runs in the caller (which
may be a threaded app): one fresh interpreter forks once per namespace type;
each child calls unshare(2), then proves the namespace is new by comparing
``/proc/self/ns/<type>`` (``<type>_for_children`` for pid and time) before and
after. For pid it forks again and checks that the grandchild is PID 1. The
children report through their exit code (0, or the errno, or a code below).
"""

from __future__ import annotations

import errno
import json
import os
import sys

from lab.doctor.probe import RUN_AS_ROOT, Check, one_line, run

# type -> (CLONE_* flag, needed by the lab as a whole)
NAMESPACES: dict[str, tuple[int, bool]] = {
    "mnt": (0x00020000, True),
    "uts": (0x04000000, True),
    "ipc": (0x08000000, False),
    "pid": (0x20000000, True),
    "net": (0x40000000, True),
    "user": (0x10000000, False),
    "cgroup": (0x02000000, False),
    "time": (0x00000080, False),
}

NOT_NEW = 250  # unshare succeeded but the namespace link did not change
NOT_PID1 = 251  # the first child in a new pid namespace was not PID 1
CRASH = 252  # anything else went wrong in the child

# Runs in a fresh interpreter. argv[1]: JSON {type: flag}. Prints JSON {type: {...}}.
_PROBE_BODY = r"""
import ctypes, json, os, sys
libc = ctypes.CDLL(None, use_errno=True)
todo = json.loads(sys.argv[1])
out = {}
for ns, flag in todo.items():
    link = "/proc/self/ns/" + (ns + "_for_children" if ns in ("pid", "time") else ns)
    if not os.path.exists("/proc/self/ns/" + ns):
        out[ns] = {"absent": True}
        continue
    try:
        before = os.readlink(link)
    except OSError:
        before = ""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        code = CRASH
        try:
            os.close(r)
            if libc.unshare(flag) != 0:
                code = ctypes.get_errno() or CRASH
            elif ns != "pid":
                after = os.readlink(link)
                os.write(w, after.encode())
                code = 0 if after != before else NOT_NEW
            else:
                # pid_for_children only appears once the namespace has a process:
                # the first child (PID 1 inside) reads its own /proc/self/ns/pid
                gc = os.fork()
                if gc == 0:
                    gcode = CRASH
                    try:
                        after = os.readlink("/proc/self/ns/pid")
                        os.write(w, after.encode())
                        gcode = NOT_NEW if after == before else 0 if os.getpid() == 1 else NOT_PID1
                    finally:
                        os._exit(gcode)
                _, st = os.waitpid(gc, 0)
                code = os.waitstatus_to_exitcode(st) if os.WIFEXITED(st) else CRASH
        finally:
            os._exit(code)
    os.close(w)
    after = b""
    while True:
        chunk = os.read(r, 256)
        if not chunk:
            break
        after += chunk
    os.close(r)
    _, st = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(st)
    out[ns] = {"code": code, "before": before, "after": after.decode(errors="replace")}
print(json.dumps(out))
"""
PROBE = f"CRASH, NOT_NEW, NOT_PID1 = {CRASH}, {NOT_NEW}, {NOT_PID1}\n" + _PROBE_BODY


def probe_namespaces() -> list[Check]:
    names = list(NAMESPACES)
    try:
        rc, out, err = run(
            [sys.executable, "-c", PROBE, json.dumps({n: NAMESPACES[n][0] for n in names})],
            timeout=10,
            again=60,
        )
        results = json.loads(out) if rc == 0 else None
        problem = "" if rc == 0 else f"the probe exited {rc}: {one_line(err)}"
    except (OSError, ValueError) as e:
        results, problem = None, f"could not run the probe ({sys.executable}): {e}"
    if results is None:
        fix = (
            "the machine was too busy to answer: run `shikumi doctor` again; report it if it hangs"
            if problem.startswith("the probe exited -9")
            else "report this as a bug"
        )
        return [Check(f"ns.{n}", False, NAMESPACES[n][1], problem, fix) for n in names]
    return [_check(n, results.get(n, {})) for n in names]


def _check(ns: str, res: dict) -> Check:
    name, required = f"ns.{ns}", NAMESPACES[ns][1]
    if res.get("absent"):
        since = {"time": "5.6", "cgroup": "4.6"}.get(ns, "")
        return Check(
            name,
            False,
            required,
            f"this kernel has no {ns} namespaces (no /proc/self/ns/{ns})",
            f"use a newer kernel (≥ {since})"
            if since
            else f"use a kernel built with CONFIG_{ns.upper()}_NS",
        )
    code = res.get("code", CRASH)
    if code == 0:
        link = f"/proc/self/ns/{ns}" + ("_for_children" if ns == "time" else "")
        extra = "; the first process inside is PID 1" if ns == "pid" else ""
        return Check(
            name,
            True,
            required,
            f"created: {link} {res.get('before')} → {res.get('after')}{extra}",
            "",
        )
    if code == NOT_NEW:
        return Check(
            name,
            False,
            required,
            f"unshare succeeded but {ns} namespace link did not change",
            "report this as a bug",
        )
    if code == NOT_PID1:
        return Check(
            name,
            False,
            required,
            "new pid namespace, but its first process was not PID 1",
            "report this as a bug",
        )
    if code == CRASH or code < 0:
        return Check(
            name, False, required, f"the probe child failed (status {code})", "report this as a bug"
        )
    return Check(
        name, False, required, f"unshare({_flag_name(ns)}) failed: {_errname(code)}", _fix(ns, code)
    )


def _flag_name(ns: str) -> str:
    return "CLONE_NEWNS" if ns == "mnt" else f"CLONE_NEW{ns.upper()}"


def _errname(code: int) -> str:
    return f"{errno.errorcode.get(code, f'errno {code}')} ({os.strerror(code)})"


def _fix(ns: str, code: int) -> str:
    root = os.geteuid() == 0
    if code == errno.EINVAL:
        return f"this kernel lacks {ns} namespaces: use a distro kernel (CONFIG_{'USER' if ns == 'user' else ns.upper()}_NS)"
    if ns == "user":
        if code == errno.ENOSPC:
            return "allow user namespaces: sysctl -w user.max_user_namespaces=15000"
        if code == errno.EPERM:
            if os.path.exists("/proc/sys/kernel/apparmor_restrict_unprivileged_userns"):
                return "sysctl -w kernel.apparmor_restrict_unprivileged_userns=0 (Ubuntu), or run as root"
            if os.path.exists("/proc/sys/kernel/unprivileged_userns_clone"):
                return "sysctl -w kernel.unprivileged_userns_clone=1 (Debian), or run as root"
            return (
                RUN_AS_ROOT
                if not root
                else "a seccomp profile blocks unshare: run the lab on a VM or host, not in a container"
            )
    if code == errno.ENOSPC:
        return f"raise the limit: sysctl -w user.max_{ns}_namespaces=15000"
    if code == errno.EPERM:
        if not root:
            return RUN_AS_ROOT
        return "root but not allowed (a container's seccomp/capabilities?): run the lab on a VM or host, or docker run --privileged"
    return "report this as a bug"
