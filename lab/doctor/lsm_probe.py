"""Probe: the kernel's security features lesson 20 shows — seccomp, and the Linux
security modules AppArmor and SELinux (a kernel may have neither: many cloud and
sandbox kernels do not, and the lesson then says so and runs the rest).

Read, not guessed: seccomp from the ``Seccomp:`` line of /proc/self/status (absent
on a kernel built without it), an LSM from /sys/kernel/security/lsm (the active
ones) or, without securityfs, its own switch (/sys/module/apparmor/parameters/enabled,
/sys/fs/selinux/enforce).
"""

from __future__ import annotations

from pathlib import Path

from lab.doctor.probe import Check

NAMES = ("seccomp", "lsm.apparmor", "lsm.selinux")
KERNEL_FIX = "a kernel built with it (the lesson runs the rest without it)"


def _read(path: str) -> str:
    try:
        return Path(path).read_text().strip()
    except OSError:
        return ""


def active_lsms() -> list[str]:
    """The active Linux security modules, as the kernel lists them ([] if it cannot say)."""
    return [x for x in _read("/sys/kernel/security/lsm").split(",") if x]


def probe_seccomp() -> Check:
    line = next(
        (ln for ln in _read("/proc/self/status").splitlines() if ln.startswith("Seccomp:")), ""
    )
    if not line:
        return Check("seccomp", False, False, "no Seccomp: line in /proc/self/status", KERNEL_FIX)
    return Check(
        "seccomp",
        True,
        False,
        f"the kernel has seccomp (/proc/self/status: Seccomp {line.split()[-1]} for the lab itself)",
        "",
    )


def probe_lsm(name: str) -> Check:
    check = f"lsm.{name}"
    lsms = active_lsms()
    if lsms:
        if name in lsms:
            return Check(
                check, True, False, f"active (/sys/kernel/security/lsm: {','.join(lsms)})", ""
            )
        return Check(
            check,
            False,
            False,
            f"not active (/sys/kernel/security/lsm: {','.join(lsms)})",
            KERNEL_FIX,
        )
    switch = {
        "apparmor": ("/sys/module/apparmor/parameters/enabled", "Y"),
        "selinux": ("/sys/fs/selinux/enforce", ""),
    }[name]
    value = _read(switch[0])
    if value and (not switch[1] or value == switch[1]):
        return Check(check, True, False, f"{switch[0]}: {value}", "")
    return Check(
        check,
        False,
        False,
        f"this kernel has no {name} (no {switch[0]}, no /sys/kernel/security/lsm)",
        KERNEL_FIX,
    )


def probe_all() -> list[Check]:
    return [probe_seccomp(), probe_lsm("apparmor"), probe_lsm("selinux")]
