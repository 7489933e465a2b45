"""The learner's shell beside the app, for one step, without a screen: its argv
(journaled with a marker before it starts), the watcher that re-runs the checks
and diffs the kernel state after each prompt, and closing it — which kills the
shell and everything it started. Leaving the step, the lesson or the app closes it.

Outside tmux the app writes what the shell needs to a state file in the home
(``practice.json``: the app's pid and start time, the lesson and step, the argv):
``shikumi shell`` in a second terminal runs that shell, and refuses when no app
runs. The argv is the lab's own (lab/lesson/try_shell.py), never a lesson's text.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.lesson.watch import Watcher, WatchUpdate
from lab.safety import procs

STATE = "practice.json"
LOCK_WAIT = 10.0


class Practice:
    def __init__(self, ctl: Any, index: int, on_update: Callable[[WatchUpdate], None]) -> None:
        self.ctl, self.index, self.on_update = ctl, index, on_update
        self.argv: list[str] = []
        self.watcher: Watcher | None = None
        self.closed = False

    @property
    def runner(self) -> Any:
        return self.ctl.session.runner

    def prepare(self) -> list[str] | None:
        """Quick (no command runs): the shell's argv, journaled and marked; None while
        something else holds the session. LabError if the session is closed."""
        argv = self.ctl.shell(self.index)
        if argv is not None:
            self.argv = argv
        return argv

    def label(self) -> str:
        return self.runner.context_label(self.index)

    def watch(
        self,
        shell_pid: int | None,
        alive: Callable[[], bool],
        spawn: Callable[[Callable[[], None]], Any] | None = None,
    ) -> None:
        """Start watching: the loop runs in *spawn* (the app's thread worker) or a
        thread of its own. The first update is the baseline."""
        log = self.runner.try_log(self.index)
        self.watcher = Watcher(
            self.runner,
            self.index,
            log,
            self.on_update,
            lock=self.ctl.lock,
            shell_pid=shell_pid,
            alive=alive,
        )
        if spawn is not None:
            spawn(self.watcher.loop)
        else:
            self.watcher.start()

    def close(self) -> str:
        """Blocking (a worker): stop watching, kill the shell and all it started.
        Returns '' or one line saying what could not be undone."""
        self.closed = True
        if self.watcher is not None:
            self.watcher.stop()
        session = self.ctl.session
        if session is None:  # the lesson closed: its rollback killed the shell
            return ""
        if not self.ctl.lock.acquire(timeout=LOCK_WAIT):
            return "the shell could not be closed: the session stayed busy"
        try:
            failed = session.runner.close_shells(self.index)
        finally:
            self.ctl.lock.release()
        return "; ".join(failed)


# -- the state file for `shikumi shell` --------------------------------------------------


def write_state(
    home: Path, lesson: str, step: int, title: str, label: str, argv: list[str]
) -> Path:
    path = Path(home) / STATE
    data = {
        "pid": os.getpid(),
        "start": procs.starttime(os.getpid()),
        "lesson": lesson,
        "step": step,
        "title": title,
        "context": label,
        "argv": argv,
    }
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, ensure_ascii=False))
    os.chmod(tmp, 0o600)
    tmp.replace(path)
    return path


def clear_state(home: Path, argv: list[str] | None = None) -> None:
    """Remove the state file if this process wrote it (and, given *argv*, for that
    shell: a newer step's offer stays)."""
    path = Path(home) / STATE
    try:
        data = json.loads(path.read_text())
        if data.get("pid") == os.getpid() and (argv is None or data.get("argv") == argv):
            path.unlink()
    except (OSError, ValueError):
        pass


def read_state(home: Path) -> dict[str, Any]:
    """The step the running app offers a shell for; LabError when no app runs or it
    offers none (with what to do)."""
    path = Path(home) / STATE
    fix = "start the lab (`sudo shikumi`), open a lesson, run a step with a try (r), then run this again"
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        raise LabError("no shikumi app offers a shell now", fix) from None
    except (OSError, ValueError) as e:
        raise LabError(f"cannot read {path}: {e}", fix) from None
    pid, start = data.get("pid"), data.get("start")
    if not isinstance(pid, int) or not procs.alive(pid, start if isinstance(start, int) else None):
        raise LabError("the shikumi app that offered a shell is not running any more", fix)
    argv = data.get("argv")
    if not (
        isinstance(argv, list)
        and argv
        and argv[0] == "env"
        and all(isinstance(a, str) for a in argv)
    ):
        raise LabError(f"{path} does not hold a shell of the lab's", fix)
    st = path.stat()
    if st.st_uid != os.geteuid() or st.st_mode & 0o022:
        raise LabError(f"{path} is not the lab's own (owner or mode)", fix)
    return data
