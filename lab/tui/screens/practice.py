"""Practice beside the app: the lesson screen's side of the learner's own shell.

Inside tmux, ``t`` opens the learner's real shell in a pane beside the app (below
it on a narrow window), in the step's context; the app stays live. A watcher
(lab/lesson/watch.py, in a thread) re-runs the step's checks and diffs the kernel
state after each prompt the shell reports and on a slow timer; each result comes
back as a ``PracticeUpdate`` message: the checks turn green as they hold, the
"What changed" panel lists the diff, the status line gives the first failing
check's hint. Outside tmux, a step that waits for the learner is offered to
``shikumi shell`` in a second terminal (a state file in the home); ``t`` still
suspends the app as the last fallback.

Leaving the step or the lesson, or quitting, closes the pane and kills what the
shell started (its journal entry undone; the lesson's rollback does the same).
"""

from __future__ import annotations

import asyncio
import contextlib
from functools import partial
from typing import Any

from textual import on
from textual.message import Message
from textual.screen import Screen

from lab.errors import LabError
from lab.host import tmux
from lab.lesson.practice import Practice, clear_state, write_state
from lab.lesson.session import ChecksEnded
from lab.lesson.watch import WatchUpdate
from lab.safety import procs
from lab.tui import applog
from lab.tui.strings import s
from lab.tui.widgets.changes import WhatChanged


class PracticeUpdate(Message):
    """The watcher's news about the learner's shell (checks, changes, views, closed)."""

    def __init__(self, update: WatchUpdate, practice: Practice) -> None:
        super().__init__()
        self.update = update
        self.practice = practice


RESIZE_SETTLE = 0.4  # seconds without a resize before the shell's pane is moved
BASELINE_WAIT = 15.0  # the shell opens once the watcher's baseline is taken (a run may hold it)


@applog.guarded
class PracticeScreen(Screen):
    """A base of the lesson screen: the shell beside it and what it reports."""

    practice: Practice | None = None
    pane: tmux.Pane | None = None
    changes_panel: WhatChanged | None = None
    practice_done = False

    # -- opening ---------------------------------------------------------------------
    def practice_beside(self) -> bool:
        """``t`` inside tmux: open (or go to) the shell beside the app. False when the
        app is not inside tmux (the caller falls back to suspending)."""
        if not tmux.inside():
            return False
        ctl = self.ctl  # type: ignore[attr-defined]
        current = self.practice
        if (
            self.pane is not None
            and current is not None
            and current.index == ctl.index
            and procs.alive(self.pane.pid)
        ):
            self.run_worker(  # a function, not a coroutine: one cancelled unstarted is no warning
                partial(asyncio.to_thread, tmux.select, self.pane),
                group="practice",
                exit_on_error=False,
            )
            return True
        practice = self._new_practice()
        if practice is not None:  # tmux is asked in a worker: the event loop never waits
            self.run_worker(
                partial(self._open_pane, practice), group="practice", exit_on_error=False
            )
        return True

    async def _open_pane(self, practice: Practice) -> None:
        lang = self.lang  # type: ignore[attr-defined]
        assert practice.watcher is not None  # the shell opens once the baseline is taken:
        # what the learner's first command changes is then always a change
        if not await asyncio.to_thread(practice.watcher.wait_ready, BASELINE_WAIT):
            if self.practice is not practice:  # the step was left meanwhile: closed by it
                return
            applog.record("practice", TimeoutError("the baseline snapshot was not ready"))
        try:
            pane = await asyncio.to_thread(tmux.split, practice.argv)
        except (OSError, LabError) as e:
            self.set_status(f"✗ {s('try.cannot', lang)}: {e}", "bold red")  # type: ignore[attr-defined]
            await self._close(practice, None)
            return
        if self.practice is not practice:  # the step was left meanwhile
            await self._close(None, pane)
            return
        self.pane = pane
        assert practice.watcher is not None
        practice.watcher.shell_pid = pane.pid
        practice.watcher.alive = lambda: procs.alive(pane.pid)
        self.set_status(f"✎ {s('practice.opened', lang)}", "bold cyan")  # type: ignore[attr-defined]

    def _new_practice(self) -> Practice | None:
        """A practice of the current step, its argv journaled, its watcher started."""
        ctl, lang = self.ctl, self.lang  # type: ignore[attr-defined]
        if self.practice is not None:
            self.end_practice()
        practice = Practice(ctl, ctl.index, self._post_practice)
        try:
            argv = practice.prepare()
        except Exception as e:
            self.set_status(f"✗ {s('try.cannot', lang)}: {e}", "bold red")  # type: ignore[attr-defined]
            return None
        if argv is None:
            self.app.notify(s("status.busy", lang), severity="warning")
            return None
        self.practice, self.practice_done = practice, False
        self._show_panel()
        practice.watch(None, alive=lambda: True, spawn=self._watch_worker)
        return practice

    def offer_second_terminal(self) -> None:
        """Outside tmux, when a step waits for the learner: `shikumi shell` in a second
        terminal gets this step's shell (the app keeps watching it)."""
        if tmux.inside() or not self.ctl.step.of("try"):  # type: ignore[attr-defined]
            return
        practice = self._new_practice()
        if practice is None:
            return
        ctl = self.ctl  # type: ignore[attr-defined]
        try:
            write_state(
                self.owner.home,  # type: ignore[attr-defined]
                ctl.lesson.id,
                ctl.index + 1,
                ctl.step.title_in(self.lang),  # type: ignore[attr-defined]
                practice.label(),
                practice.argv,
            )
        except OSError as e:
            applog.record("practice state", e)
            return
        self.bench.transcript.note(f"⌨ {s('practice.second', self.lang)}", "cyan")  # type: ignore[attr-defined]

    def _watch_worker(self, loop: Any) -> None:
        """The watcher's loop as a thread worker of the screen (it only posts messages)."""
        self.run_worker(loop, thread=True, group="practice-watch", exit_on_error=False)

    def _show_panel(self) -> None:
        if self.changes_panel is None:
            home = str(self.owner.home)  # type: ignore[attr-defined]
            self.changes_panel = WhatChanged(self.lang, home, id="what-changed")  # type: ignore[attr-defined]
            with contextlib.suppress(Exception):
                self.query_one("#main").mount(self.changes_panel)

    def _post_practice(self, update: WatchUpdate) -> None:
        """The watcher's callback (its thread): only posts."""
        practice = self.practice
        if practice is not None:
            self.post_message(PracticeUpdate(update, practice))

    # -- what the shell reports ----------------------------------------------------------
    @on(PracticeUpdate)
    def practice_update(self, message: PracticeUpdate) -> None:
        u, lang = message.update, self.lang  # type: ignore[attr-defined]
        if message.practice is not self.practice or u.index != self.ctl.index:  # type: ignore[attr-defined]
            return
        bench = self.bench  # type: ignore[attr-defined]
        if u.views is not None:
            bench.replace_views(u.views)
            return
        if self.changes_panel is not None:
            when = s(
                "practice.prompt_bg" if u.trigger == "timer" else "practice.prompt_after", lang
            )
            self.changes_panel.add(u.changes, when)
        if u.checks:
            self.ctl.last_checks[u.index] = list(u.checks)  # type: ignore[attr-defined]
            bench.show_checks(u.checks)
        if u.error:
            self.set_status(f"✗ {u.error}", "bold red")  # type: ignore[attr-defined]
        elif u.done and not self.practice_done:
            self.practice_done = True
            _ok, error = self.ctl.checks_ended(ChecksEnded(u.index, list(u.checks)))  # type: ignore[attr-defined]
            if error:
                self.owner.show_error(error)  # type: ignore[attr-defined]
            done = f"✓ {s('practice.done', lang)} — {s('status.next', lang)}"
            self.set_status(done, "bold green")  # type: ignore[attr-defined]
            self.refresh_outline()  # type: ignore[attr-defined]
        elif u.checks and not u.done and u.trigger in ("prompt", "timer"):
            bad = next(c for c in u.checks if not c.ok)
            why = f"✗ {s('status.try_fail', lang)} — {bad.message}"
            if bad.hint:
                why += f" · {s('practice.hint', lang)}: {self.ctl.fill(bad.hint)}"  # type: ignore[attr-defined]
            self.set_status(why, "yellow")  # type: ignore[attr-defined]
        if u.trigger == "closed":
            self.end_practice()
            self.set_status(s("practice.closed", lang))  # type: ignore[attr-defined]

    # -- the window resized: beside on a wide one, below on a narrow one ----------------------
    def on_resize(self) -> None:
        if self.pane is not None:
            self.run_worker(
                self._follow_size, group="practice-size", exclusive=True, exit_on_error=False
            )

    async def _follow_size(self) -> None:
        await asyncio.sleep(RESIZE_SETTLE)  # a window being dragged: once it settles
        pane = self.pane
        if pane is None:
            return
        try:
            placed = await asyncio.to_thread(tmux.place, pane)
        except (OSError, LabError) as e:
            applog.record("placing the shell beside", e)
            return
        if self.pane is pane:
            self.pane = placed

    # -- closing ----------------------------------------------------------------------------
    def end_practice(self) -> None:
        """Leaving the step: close the pane and kill what the shell started (a worker)."""
        practice, pane = self.practice, self.pane
        self.practice, self.pane = None, None
        if self.changes_panel is not None:
            self.changes_panel.remove()
            self.changes_panel = None
        if practice is not None or pane is not None:
            if practice is not None and practice.watcher is not None:
                practice.watcher.stopped.set()  # no more updates from it
            self.run_worker(
                partial(self._close, practice, pane), group="practice", exit_on_error=False
            )

    async def end_practice_now(self) -> None:
        """Leaving the lesson (before the session closes): the same, waited for."""
        practice, pane = self.practice, self.pane
        self.practice, self.pane = None, None
        if self.changes_panel is not None:
            self.changes_panel.remove()
            self.changes_panel = None
        await self._close(practice, pane)

    async def _close(self, practice: Practice | None, pane: tmux.Pane | None) -> None:
        home = self.owner.home  # type: ignore[attr-defined]
        if practice is not None:
            await asyncio.to_thread(clear_state, home, practice.argv)
            error = await asyncio.to_thread(practice.close)
            if error:
                applog.record("closing the shell", RuntimeError(error))
        if pane is not None:
            with contextlib.suppress(OSError, LabError):
                await asyncio.to_thread(tmux.kill, pane)

    def on_unmount(self) -> None:
        """The app is ending (or the screen went): stop watching, close the pane now;
        the session's rollback kills what the shell started."""
        practice, pane = self.practice, self.pane
        self.practice = self.pane = None
        if practice is not None and practice.watcher is not None:
            practice.watcher.stop(wait=0)
        if pane is not None:
            with contextlib.suppress(OSError, LabError):
                tmux.kill(pane)
        owner = getattr(self, "owner", None)
        if owner is not None:
            clear_state(owner.home)

    def _pane_argv(self) -> list[str]:  # for tests: what the pane runs
        return list(self.practice.argv) if self.practice is not None else []
