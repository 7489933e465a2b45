"""The tmux the app runs in: a pane beside it for the learner's shell. Every call is
bounded (proc_run); argv only, never a shell line built from values."""

from __future__ import annotations

import os
import shutil
import subprocess
from dataclasses import dataclass, replace

from lab.host import proc_run

TIMEOUT = 3.0
NARROW = 150  # below this many columns the pane goes below the app, not beside it


@dataclass(frozen=True)
class Pane:
    id: str  # %N
    pid: int  # the pane's first process (the shell's recorder)
    way: str = "-h"  # beside the app (-h) or below it (-v)


def inside() -> bool:
    """Whether this process runs inside tmux (and tmux is there to talk to)."""
    return bool(os.environ.get("TMUX")) and shutil.which("tmux") is not None


def _tmux(*args: str) -> subprocess.CompletedProcess:
    return proc_run.run(["tmux", *args], capture_output=True, timeout=TIMEOUT)


def window_width(target: str = "") -> int:
    args = ["display-message", "-p"] + (["-t", target] if target else []) + ["#{window_width}"]
    r = _tmux(*args)
    try:
        return int(r.stdout.decode().strip())
    except ValueError:
        return 0


def split(argv: list[str], target: str = "", percent: int = 50) -> Pane:
    """Open a pane beside *target* (this app's pane), or below it on a narrow window,
    running *argv* (executed directly, no shell); it gets the focus."""
    target = target or os.environ.get("TMUX_PANE", "")
    way = way_for(target)
    args = ["split-window", way, "-l", f"{percent}%", "-P", "-F", "#{pane_id} #{pane_pid}"]
    if target:
        args += ["-t", target]
    r = _tmux(*args, "--", *argv)
    if r.returncode != 0:
        raise OSError(r.stderr.decode(errors="replace").strip() or "tmux split-window failed")
    pane_id, pid = r.stdout.decode().split()
    return Pane(pane_id, int(pid), way)


def way_for(target: str = "") -> str:
    """Beside (-h) on a window at least NARROW wide, else below (-v)."""
    return "-h" if window_width(target) >= NARROW else "-v"


def place(pane: Pane, target: str = "", percent: int = 50) -> Pane:
    """After the window was resized: *pane* moved beside *target* (the app's pane) on
    a wide window, below it on a narrow one, when it is not there yet (join-pane
    moves it and gives it the focus, as when it opened). Returns the pane as placed."""
    target = target or os.environ.get("TMUX_PANE", "")
    way = way_for(target)
    if way == pane.way or not target:
        return pane
    r = _tmux("join-pane", way, "-l", f"{percent}%", "-s", pane.id, "-t", target)
    if r.returncode != 0:
        raise OSError(r.stderr.decode(errors="replace").strip() or "tmux join-pane failed")
    return replace(pane, way=way)


def kill(pane: Pane) -> None:
    """Close the pane (nothing if it is gone already)."""
    _tmux("kill-pane", "-t", pane.id)


def alive(pane: Pane) -> bool:
    r = _tmux("display-message", "-p", "-t", pane.id, "#{pane_dead}")
    return r.returncode == 0 and r.stdout.decode().strip() == "0"


def select(pane: Pane) -> None:
    """Give *pane* the focus."""
    _tmux("select-pane", "-t", pane.id)
