"""Checks that watch: while the learner's shell is open, re-run the step's checks
and take a snapshot + diff after every prompt the shell reports, and on a slow
timer for background changes. No Textual: the app runs ``Watcher`` in a thread and
turns each ``WatchUpdate`` into a message; tests and bench/ call ``tick`` directly.

A check that passed once stays passed (the learner did it; undoing it later to try
something else does not take it back); when all have passed the step is done.
The shell reports prompts in band (lab/lesson/try_shell.py): the recorder's log
gets a marker with each prompt, and an inotify watch on the log wakes the loop.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.host.filewatch import FileWatch
from lab.host.nsview import ns_of
from lab.host.snapshot import read_processes, stat_all, tree_of
from lab.lesson import checks
from lab.lesson.model import CheckResult, ViewResult
from lab.lesson.scope import scope_for
from lab.lesson.try_shell import PROMPT_MARK
from lab.ops import changes
from lab.ops.changes import Change

INTERVAL = 2.0  # the slow timer: background changes (a process that exits, a limit hit)
# what the slow timer looks at: the kernel reads without a subprocess (the network's
# links, routes and rules are read after each command, where they change)
TIMER_KINDS = ("mounts", "namespaces", "cgroups", "processes", "files")
# output without a prompt marker, then quiet this long, counts as a prompt: a shell that
# does not mark its prompts, or one the learner started inside (`chroot DIR /bin/sh`)
SETTLE = 0.3
SETTLE_MARKED = 0.8  # … in a shell that marks them (typing echoes too: less eager)
LOCK_WAIT = 1.0  # a tick waits this long for the session (a run holds it), then skips


@dataclass
class WatchUpdate:
    index: int
    trigger: str  # "start", "prompt", "timer", "closed"
    checks: list[CheckResult] = field(default_factory=list)
    changes: list[Change] = field(default_factory=list)  # since the previous update
    done: bool = False  # every check has passed (now or before)
    seconds: float = 0.0  # from the prompt seen to this update ready
    views: list[ViewResult] | None = None
    error: str = ""

    @property
    def hint(self) -> str:
        """The hint of the first failing check ('' if none fails or it has none)."""
        bad = next((c for c in self.checks if not c.ok), None)
        return getattr(bad, "hint", "") if bad is not None else ""


class Watcher:
    """Watches step *index* of *runner* while the shell recorded in *log* is open."""

    def __init__(
        self,
        runner: Any,
        index: int,
        log: Path | None,
        on_update: Callable[[WatchUpdate], None],
        *,
        lock: threading.Lock | None = None,
        shell_pid: int | None = None,
        alive: Callable[[], bool] = lambda: True,
        interval: float = INTERVAL,
        views: bool = True,
    ) -> None:
        self.runner, self.index, self.log = runner, index, log
        self.on_update = on_update
        self.lock = lock or threading.Lock()
        self.shell_pid = shell_pid
        self.alive = alive
        self.interval = interval
        self.views = views
        self.passed: set[int] = set()
        self.snap: changes.Snapshot | None = None
        self.stopped = threading.Event()
        self.watch = FileWatch(log) if log is not None else None
        self.thread: threading.Thread | None = None
        self._tail = b""
        self.last: list[CheckResult] = []
        self.looping = self.ended = False
        self.marked = False  # the shell marks its prompts (bash; sh with /proc)
        self.settling = False  # output without a prompt: a prompt once it is quiet
        self.own: set[tuple[str, str]] = set()  # pids of the shell itself (left out of the changes)

    # -- one round -------------------------------------------------------------------
    def evaluate(self) -> list[CheckResult]:
        """The step's checks now (what the learner's shells printed counts as the step's
        output), a check that passed before kept as passed."""
        runner = self.runner
        step = runner.lesson.steps[self.index]
        runner.ctx.step_id = step.id
        runner._ingest_try(self.index)
        out = []
        for i, a in enumerate(step.of("check")):
            r = checks.evaluate(a, runner.ctx)
            if r.ok:
                self.passed.add(i)
            elif i in self.passed:
                r = replace(r, ok=True, reason=f"passed earlier ({r.reason})")
            out.append(r)
        return out

    def tick(self, trigger: str, t0: float | None = None) -> WatchUpdate | None:
        """One round: the checks (not on a quiet timer tick) and the diff since the last
        round. None when the session was busy (a run holds it) or nothing changed on
        a timer tick."""
        t0 = time.perf_counter() if t0 is None else t0
        if not self.lock.acquire(timeout=LOCK_WAIT):
            return None
        try:
            scope = scope_for(self.runner, self.index, self.shell_pid)
            if trigger == "timer":  # cheap reads only (no `ip`, no `iptables-save`)
                scope = dataclasses.replace(scope, kinds=TIMER_KINDS)
            snap = changes.take(scope)
            if self.snap is not None:  # the kinds not read now keep their last state
                snap.kinds = {**self.snap.kinds, **snap.kinds}
            if self.shell_pid and not self.own:  # tick() called without the loop
                self.own = self.own_now()
            found = changes.diff(self.snap, snap) if self.snap is not None else []
            found = [c for c in found if (c.kind, c.text) not in self.own]
            self.snap = snap
            if trigger == "timer" and not found:
                return None  # nothing moved in the kernel: the checks would say the same
            update = WatchUpdate(self.index, trigger, changes=found)
            try:
                update.checks = self.evaluate()
            except LabError as e:
                update.error = e.message
            self.last = update.checks
            update.done = bool(update.checks) and all(c.ok for c in update.checks)
            update.seconds = time.perf_counter() - t0
        finally:
            self.lock.release()
        self.on_update(update)
        return update

    def own_now(self) -> set[tuple[str, str]]:
        """The shell itself (its recorder, nsenter… on the host side, their namespaces),
        read at its first prompt, before the learner's first command: not news."""
        if not self.shell_pid:
            return set()
        table = stat_all()
        tree = tree_of([self.shell_pid], table)
        own = {("processes", t) for t in read_processes(tree, table)}
        for p in tree:
            own |= {("namespaces", t) for t in ns_of(p)}
        return own

    def refresh_views(self) -> list[ViewResult] | None:
        if not self.views or not self.runner.lesson.steps[self.index].of("view"):
            return None
        if not self.lock.acquire(timeout=LOCK_WAIT):
            return None
        try:
            return list(self.runner.refresh_views(self.index))
        finally:
            self.lock.release()

    def prompted(self) -> bool:
        """Whether the shell printed a prompt since the last look (a command finished).
        Output without a marker (a shell that does not mark its prompt, or one started
        inside it) counts once it settles (``settling``, then quiet for SETTLE s)."""
        if self.watch is None:
            return False
        new = self.watch.read_new()
        data = self._tail + new
        self._tail = data[-(len(PROMPT_MARK) - 1) :]
        if PROMPT_MARK in data:
            self.marked, self.settling = True, False
            return True
        self.settling = self.settling or bool(new)
        return False

    # -- the loop ----------------------------------------------------------------------
    def start(self) -> None:
        self.thread = threading.Thread(target=self.loop, name="shikumi-watch", daemon=True)
        self.thread.start()

    def loop(self) -> None:
        self.looping = True
        try:
            # the baseline, however long a run holds the session: without it the learner's
            # first command would become the baseline and its change would never show
            while self.snap is None and not self.stopped.is_set():
                self.tick("start")
            while not self.stopped.is_set():
                settle = SETTLE_MARKED if self.marked else SETTLE
                wait = settle if self.settling else self.interval
                woke = self.watch.wait(wait) if self.watch else self.stopped.wait(wait)
                if self.stopped.is_set():
                    break
                t0 = time.perf_counter()
                if not woke and self.settling:  # output, then quiet: a (nested) prompt
                    self.settling = False
                    self.tick("prompt", t0)
                    continue
                if woke and self.prompted():
                    if not self.own:  # the first prompt: what runs now is the shell's own
                        self.own = self.own_now()
                    update = self.tick("prompt", t0)
                    while update is None and not self.stopped.is_set():  # the session was
                        update = self.tick("prompt", t0)  # busy: this command still counts
                    views = self.refresh_views() if update is not None else None
                    if views is not None and update is not None:
                        self.on_update(WatchUpdate(self.index, "views", views=views))
                    continue
                if woke:
                    continue  # output, typing: the prompt will come
                if not self.alive():
                    self.tick("closed")
                    break
                self.tick("timer", t0)
        except Exception as e:  # the watcher never takes the app down: it says why it stopped
            self.on_update(WatchUpdate(self.index, "closed", error=f"{type(e).__name__}: {e}"))
        finally:
            self.ended = True
            if self.watch is not None:  # the loop's own file descriptors: closed by it
                self.watch.close()

    def wait_ready(self, timeout: float) -> bool:
        """Blocking: until the baseline is taken (True), the watch ends or *timeout*."""
        end = time.monotonic() + timeout
        while self.snap is None:
            if self.stopped.wait(0.05) or time.monotonic() > end:
                return False
        return True

    def stop(self, wait: float = 3.0) -> None:
        """Any thread: end the loop (and wait for it, bounded)."""
        self.stopped.set()
        if self.watch is not None:
            self.watch.wake()
        if self.thread is not None and self.thread is not threading.current_thread():
            self.thread.join(wait)
        if self.watch is not None and not self.looping:  # never started: nothing else will
            self.watch.close()
