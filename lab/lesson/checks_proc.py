"""The ``proc-status`` check: what the kernel says of one process in /proc/PID/status —
its capabilities, its seccomp mode, no_new_privs — for lessons 19–20.

The process is found from the world, never from what was typed: a pid (or a
spawned name), a Docker container by name (its pid from `docker inspect`), a runc
container under the lab's runc root (its pid from `runc state`), or the newest
process whose command line matches a pattern (a marker the try asks for; ``says``
/``says_ja`` put it in words). Its reasons come from lab/lesson/check_words.py in
the learner's language: what was expected and what was seen, never a pattern.
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
from lab.lesson.check_words import say
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
        # what the cmdline pattern looks for, in words (a reason never quotes the pattern)
        "says": str,
        "says_ja": str,
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


def _cap(name: str, lang: str) -> str:
    n = str(name).strip().lower()
    n = n if n.startswith("cap_") else "cap_" + n
    if n[4:] not in CAP_NAMES:
        raise LabError(say("ps.cap.unknown", lang, name=name))
    return n


def status(pid: int, lang: str = "en") -> dict[str, str]:
    try:
        text = Path(f"/proc/{pid}/status").read_text()
    except OSError as e:
        path = f"/proc/{pid}/status"
        raise LabError(say("cannot.read", lang, path=path, why=e.strerror)) from None
    return dict(
        (k.strip(), v.strip()) for k, _, v in (ln.partition(":") for ln in text.splitlines())
    )


def _docker_pid(name: str, lang: str) -> int:
    from lab.host.dockerhost import with_docker_host

    r = subprocess.run(
        ["docker", "container", "inspect", name],
        capture_output=True,
        text=True,
        env=with_docker_host(dict(os.environ)),
        timeout=10,
    )
    if r.returncode != 0:
        raise LabError(say("ps.docker.none", lang, name=name))
    st = (json.loads(r.stdout) or [{}])[0].get("State") or {}
    if not st.get("Running"):
        raise LabError(say("ps.docker.stopped", lang, name=name))
    return int(st.get("Pid") or 0)


def _runc_pid(cid: str, home: str, lang: str) -> int:
    from lab.ops import runc

    root = runc.root_of(Path(home))
    st = runc.state(root, cid)
    if st is None:
        raise LabError(say("ps.runc.none", lang, id=cid, root=root))
    if st.status != "running":
        raise LabError(say("ps.runc.state", lang, id=cid, status=st.status))
    return st.pid


def _says(p: dict, lang: str) -> str:
    says = str((p.get("says_ja") if lang == "ja" else None) or p.get("says") or "")
    return says or say("ps.says.default", lang)


def _by_cmdline(p: dict, lang: str) -> int:
    try:
        rx = re.compile(str(p["cmdline"]))
    except re.error as e:
        raise LabError(say("ps.cmdline.bad", lang, why=e)) from None
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
        raise LabError(say("ps.cmdline.none", lang, says=_says(p, lang)))
    return max(found)[1]


def _find(p: dict, ctx: Any) -> tuple[int, str]:
    lang = ctx.lang
    if p.get("docker"):
        name = str(p["docker"])
        return _docker_pid(name, lang), say("ps.who.docker", lang, name=name)
    if p.get("runc"):
        cid = str(p["runc"])
        return _runc_pid(cid, ctx.fill("{{home}}"), lang), say("ps.who.runc", lang, id=cid)
    pid = _by_cmdline(p, lang) if p.get("cmdline") else ctx.pid(p["pid"])
    return pid, say("ps.who.pid", lang, pid=pid)


def proc_status(p: dict, ctx: Any) -> tuple[bool, str]:
    """Is the process's /proc/PID/status as the check wants? A reason in words:
    what was expected and what was seen (never the cmdline pattern)."""
    lang = ctx.lang
    has = [_cap(c, lang) for c in p.get("has_caps") or []]
    lacks = [_cap(c, lang) for c in p.get("lacks_caps") or []]
    pid, who = _find(p, ctx)
    st = status(pid, lang)
    mask = st.get("CapEff", "0")
    caps = set(decode(mask))
    held = {"who": who, "mask": mask, "count": len(caps)}
    for c in has:
        if c not in caps:
            return False, say("ps.cap.missing", lang, cap=c, **held)
    for c in lacks:
        if c in caps:
            return False, say("ps.cap.extra", lang, cap=c, **held)
    seen = []
    for k, want in (p.get("fields") or {}).items():
        got = st.get(k)
        if got != str(want):
            got = say("ps.absent", lang) if got is None else got
            return False, say("ps.field", lang, who=who, field=k, seen=got, want=want)
        seen.append(say("ps.field.ok", lang, field=k, value=want))
    if has:
        seen.insert(0, say("ps.holds", lang, caps=say("ps.comma", lang).join(has)))
    if lacks:
        seen.insert(1 if has else 0, say("ps.lacks", lang, caps=say("ps.comma", lang).join(lacks)))
    if not seen:
        return True, say("ps.found", lang, **held)
    return True, say("ps.ok", lang, what=say("ps.join", lang).join(seen), **held)


HANDLERS = {"proc-status": proc_status}
