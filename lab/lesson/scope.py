"""Where a step's "what changed" looks: the scope of its snapshots (lab/host/snapshot.py).

The context is the step's try context (a spawned container's pid, or the host); the
processes are the learner's shell and everything the lesson spawned; the files are
the lesson's work dir, the home's containers (their roots), the overlays' uppers
under the home, the context's root, the folders the step's checks name and those
the lesson's tree views have shown so far; and, for a try inside a container, the
writable mounts of its own mount namespace (its tmpfs, its volumes), shown as
``NAME:/tmp/file``; and Docker's images and containers, once the lesson uses Docker.
"""

from __future__ import annotations

import os
from typing import Any

from lab.errors import LabError
from lab.host.dockerhost import docker_socket
from lab.host.nsview import inner_mounts
from lab.host.snapshot import Scope, overlay_uppers
from lab.lesson.context import host_pid
from lab.ops import changes


def _paths(runner: Any, actions: Any) -> list[str]:
    """The ``path`` each of *actions* names, its values filled (one not yet known: left out)."""
    out = []
    for a in actions:
        path = a.params.get("path")
        if isinstance(path, str):
            try:
                out.append(runner.vars.fill(path))
            except LabError:
                continue
    return out


def _check_dirs(runner: Any, step: Any) -> list[str]:
    return [os.path.dirname(p) for p in _paths(runner, step.of("check"))]


def _view_dirs(runner: Any, index: int) -> list[str]:
    """The folders the lesson's tree views showed up to step *index* (a registry's
    storage, say): what the learner's command adds there is news."""
    return [p for st in runner.lesson.steps[: index + 1] for p in _paths(runner, st.of("view"))]


DOCKER = ("docker", "tool.docker")  # requirements of a lesson or a step that uses Docker


def _docker(runner: Any, index: int) -> str:
    """The daemon's socket when the lesson, or a step of it so far, uses Docker."""
    lesson = runner.lesson
    reqs = [*lesson.requires, *(r for st in lesson.steps[: index + 1] for r in st.requires)]
    return docker_socket() if any(r in DOCKER for r in reqs) else ""


def scope_for(runner: Any, index: int, shell_pid: int | None = None) -> Scope:
    """The scope of step *index* of *runner* now (*shell_pid*: the learner's shell)."""
    step = runner.lesson.steps[index]
    name = runner.try_in(step)
    try:
        pid = runner.ctx.pid(name) if name else host_pid()
    except LabError:
        pid = host_pid()
    home = str(runner.journal.home)
    dirs = [str(runner.work), os.path.join(home, "containers")]
    dirs += overlay_uppers(pid, home) + overlay_uppers(os.getpid(), home)
    try:
        root = os.readlink(f"/proc/{pid}/root")
    except OSError:
        root = "/"
    if root != "/":
        dirs.append(root)
    dirs += _check_dirs(runner, step) + _view_dirs(runner, index)
    dirs = [d for d in dict.fromkeys(dirs) if d and d != "/" and os.path.isdir(d)]
    # a folder inside another one given is walked once (within the bounds of the outer)
    dirs = [d for d in dirs if not any(d != o and d.startswith(o + "/") for o in dirs)]
    roots = [sp.pid for sp in runner.ctx.spawned.values()]
    if shell_pid:
        roots.append(shell_pid)
    label = runner.context_label(index) if name else ""
    inside = tuple((f"/proc/{pid}/root{m}", f"{label}:{m}") for m in inner_mounts(pid))
    return Scope(
        pid=pid,
        roots=tuple(roots),
        dirs=tuple(dirs),
        inside=inside,
        docker=_docker(runner, index),
    )


class StepChanges:
    """Snapshots around the lab's own run of a step (``play --json``'s "changes")."""

    def __init__(self, runner: Any, index: int) -> None:
        self.runner, self.index = runner, index
        self.before = changes.take(scope_for(runner, index))

    def after(self) -> list[changes.Change]:
        scope = scope_for(self.runner, self.index)
        return changes.diff(self.before, changes.take(scope))
