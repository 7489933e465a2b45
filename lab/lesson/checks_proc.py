"""The ``proc-status`` check: what the kernel says of one process in /proc/PID/status —
its capabilities, its seccomp mode, no_new_privs — for lessons 19–20.

The process is found from the world, never from what was typed: a pid (or a
spawned name), a Docker container by name (its pid from `docker inspect`), a runc
container under the lab's runc root (its pid from `runc state`), or the newest
process whose command line matches a pattern (a marker the try asks for).
Registered in ``lab.lesson.checks`` (KINDS, REQUIRED, ONE_OF, handlers).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.safety import procs

# capability(7) numbers, as <linux/capability.h> names them (capsh --decode prints these)
CAP_NAMES = [
    "chown",
    "dac_override",
    "dac_read_search",
    "fowner",
    "fsetid",
    "kill",
    "setgid",
    "setuid",
    "setpcap",
    "linux_immutable",
    "net_bind_service",
    "net_broadcast",
    "net_admin",
    "net_raw",
    "ipc_lock",
    "ipc_owner",
    "sys_module",
    "sys_rawio",
    "sys_chroot",
    "sys_ptrace",
    "sys_pacct",
    "sys_admin",
    "sys_boot",
    "sys_nice",
    "sys_resource",
    "sys_time",
    "sys_tty_config",
    "mknod",
    "lease",
    "audit_write",
    "audit_control",
    "setfcap",
    "mac_override",
    "mac_admin",
    "syslog",
    "wake_alarm",
    "block_suspend",
    "audit_read",
    "perfmon",
    "bpf",
    "checkpoint_restore",
]

KINDS: dict[str, dict[str, Any]] = {
    "proc-status": {
        "pid": (str, int),
        "docker": str,
        "runc": str,
        "cmdline": str,
        "has_caps": list,
        "lacks_caps": list,
        "fields": dict,
    }
}
REQUIRED: dict[str, frozenset[str]] = {"proc-status": frozenset()}
ONE_OF: dict[str, tuple[str, ...]] = {"proc-status": ("pid", "docker", "runc", "cmdline")}


def decode(hexmask: str) -> list[str]:
    """``000001ff…`` → ["cap_chown", …] (what `capsh --decode=` prints)."""
    n = int(hexmask, 16)
    return [f"cap_{c}" for i, c in enumerate(CAP_NAMES) if n >> i & 1]


def _cap(name: str) -> str:
    n = str(name).strip().lower()
    n = n if n.startswith("cap_") else "cap_" + n
    if n[4:] not in CAP_NAMES:
        raise LabError(f"unknown capability {name!r}")
    return n


def status(pid: int) -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError as e:
        raise LabError(f"cannot read /proc/{pid}/status: {e.strerror}") from None
    return dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in text.splitlines())
    )


def _docker_pid(name: str) -> int:
    from lab.host.dockerhost import with_docker_host

    r = subprocess.run(
        ["docker", "container", "inspect", name],
        capture_output=True,
        text=True,
        env=with_docker_host(dict(os.environ)),
        timeout=10,
    )
    if r.returncode != 0:
        raise LabError(f"Docker has no container {name!r}")
    st = (json.loads(r.stdout) or [{}])[0].get("State") or {}
    if not st.get("Running"):
        raise LabError(f"container {name!r} is not running")
    return int(st.get("Pid") or 0)


def _runc_pid(cid: str, home: str) -> int:
    from lab.ops import runc

    st = runc.state(runc.root_of(Path(home)), cid)
    if st is None:
        raise LabError(f"runc (--root {runc.root_of(Path(home))}) has no container {cid!r}")
    if st.status != "running":
        raise LabError(f"runc container {cid!r} is {st.status}, not running")
    return st.pid


def _by_cmdline(pattern: str) -> int:
    try:
        rx = re.compile(pattern)
    except re.error as e:
        raise LabError(f"bad pattern /{pattern}/: {e}") from None
    me = os.getpid()
    found: list[tuple[int, int]] = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) == me:
            continue
        try:
            raw = Path(f"/proc/{name}/cmdline").read_bytes()
        except OSError:
            continue
        if raw and rx.search(raw.rstrip(b"\0").replace(b"\0", b" ").decode(errors="replace")):
            found.append((procs.starttime(int(name)) or 0, int(name)))
    if not found:
        raise LabError(f"no process's command line matches /{pattern}/")
    return max(found)[1]


def _find(p: dict, ctx: Any) -> tuple[int, str]:
    if p.get("docker"):
        return _docker_pid(str(p["docker"])), f"container {p['docker']}"
    if p.get("runc"):
        return _runc_pid(str(p["runc"]), ctx.fill("{{home}}")), f"runc container {p['runc']}"
    if p.get("cmdline"):
        pid = _by_cmdline(str(p["cmdline"]))
        return pid, f"pid {pid}"
    pid = ctx.pid(p["pid"])
    return pid, f"pid {pid}"


def proc_status(p: dict, ctx: Any) -> tuple[bool, str]:
    pid, who = _find(p, ctx)
    st = status(pid)
    caps = set(decode(st.get("CapEff", "0")))
    seen = []
    for c in p.get("has_caps") or []:
        if _cap(c) not in caps:
            return False, f"{who}: CapEff {st.get('CapEff')} lacks {_cap(c)}"
        seen.append(f"+{_cap(c)}")
    for c in p.get("lacks_caps") or []:
        if _cap(c) in caps:
            return False, f"{who}: CapEff {st.get('CapEff')} holds {_cap(c)}"
        seen.append(f"-{_cap(c)}")
    for k, want in (p.get("fields") or {}).items():
        if st.get(k) != str(want):
            return False, f"{who}: {k} is {st.get(k, '(absent)')!r}, not {str(want)!r}"
        seen.append(f"{k}={want}")
    return True, f"{who}: {', '.join(seen) or 'found'} (CapEff {st.get('CapEff')})"


HANDLERS = {"proc-status": proc_status}
