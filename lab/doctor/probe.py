"""What an environment probe returns (``Check``), and the small helpers probes share.

``shikumi doctor`` (lab/doctor/doctor.py) runs the probes; the probe modules
(overlay_probe, ns_probe, cgroups_probe, tools_probe) each return ``Check``s.
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass

RUN_AS_ROOT = "run as root: sudo shikumi"


@dataclass(frozen=True)
class Check:
    name: str  # stable machine name: "root", "overlayfs", "ns.pid", "cgroup.memory", "tool.ip"…
    ok: bool
    required: bool  # the lab as a whole needs it (else only the lessons that list it)
    detail: str  # what was found, one line
    fix: str = ""  # what a learner can do, one line ("" when ok)

    def to_json(self) -> dict:
        return {
            "name": self.name,
            "ok": self.ok,
            "required": self.required,
            "detail": self.detail,
            "fix": self.fix,
        }


def one_line(text: str, limit: int = 200) -> str:
    """The first non-empty line of *text*, trimmed to *limit* characters."""
    for line in text.splitlines():
        line = line.strip()
        if line:
            return line if len(line) <= limit else line[: limit - 1] + "…"
    return ""


def errno_text(err: OSError) -> str:
    """`EINVAL (Invalid argument)` for an OSError."""
    import errno as _errno

    code = err.errno or 0
    name = _errno.errorcode.get(code, f"errno {code}")
    return f"{name} ({os.strerror(code)})" if code else str(err)


def run(
    argv: Sequence[str],
    timeout: float = 3.0,
    env: dict[str, str] | None = None,
    again: float = 0.0,
) -> tuple[int, str, str]:
    """Run a short command; (returncode, stdout, stderr). Timeouts give returncode -9.
    With *again*, a first run past *timeout* is tried once more with *again* seconds:
    a kernel probe on a very busy machine (a VM under emulation) is slow, not missing.

    Raises OSError only when the command cannot be started at all.
    """
    try:
        r = subprocess.run(
            list(argv),
            capture_output=True,
            text=True,
            errors="replace",
            timeout=timeout,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except subprocess.TimeoutExpired as e:
        if again:
            rc, out, err = run(argv, again, env)
            if rc != -9:
                return rc, out, err
            return -9, out, f"no answer within {timeout:g} s, nor within {again:g} s again"
        out = e.stdout.decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
        return -9, out, f"no answer within {timeout:g} s"
    return r.returncode, r.stdout, r.stderr
