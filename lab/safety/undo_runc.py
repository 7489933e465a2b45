"""Undoing a runc (or crun) container: `runc --root ROOT delete --force ID`.

A "runc-container" entry names the container's id and, in ``root``, the runc
state root it lives under, which must be inside the lab's home (the lab never
touches the machine's own runc containers in /run/runc, nor Docker's). Deleting
with --force kills the container's processes, removes its cgroups and its state
directory; a container that is already gone is fine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from lab.safety.entry import Entry
from lab.safety.home import is_inside

ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TIMEOUT = 30


def validate(entry: Entry, home: Path) -> str:
    root = entry.meta.get("root")
    if not ID_RE.match(entry.target):
        return f"not a runc container id: {entry.target!r}"
    if entry.meta.get("tool", "runc") not in ("runc", "crun"):
        return "a runc-container entry names runc or crun"
    if not isinstance(root, str) or not root:
        return "a runc-container entry needs its runc root"
    if not is_inside(root, home) or os.path.normpath(root) == os.path.normpath(str(home)):
        return f"the runc root {root} is not inside the lab home {home}"
    return ""


def undo(e: Entry, home: Path) -> str:
    root = str(e.meta["root"])
    state_dir = os.path.join(root, e.target)
    if not os.path.isdir(state_dir):
        return "no such container"
    name = str(e.meta.get("tool", "runc"))
    tool = shutil.which(name)
    if tool is None:  # a state dir and no runtime: nothing can have made it run
        raise RuntimeError(f"{state_dir} exists but {name} is not installed")
    r = subprocess.run(
        [tool, "--root", root, "delete", "--force", e.target],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=TIMEOUT,
    )
    if os.path.isdir(state_dir):
        raise RuntimeError(r.stderr.strip() or f"runc delete --force {e.target} failed")
    return "deleted"
