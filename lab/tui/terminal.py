"""The app's terminal may go away at any moment (a closed window, a killed tmux
session, an SSH drop): the app must then end, cleaning up, in any state.

Two parts:

``LabDriver``
    Textual's Linux driver, made safe against a gone terminal: a write that fails
    (EIO) no longer kills the output thread, and nothing is queued for an output
    thread that is not running (Textual's queue is bounded: the app's own thread
    would block on it for ever, in a futex wait no signal ends).

``Guard``
    A daemon thread that watches the terminal (poll: a hung-up tty reports
    POLLHUP/POLLERR) and is woken by SIGHUP, SIGTERM and SIGINT (a plain Python
    handler: it runs even while the app's thread is blocked in a syscall, where
    an asyncio signal handler would wait for the event loop). When either
    fires it: cancels every running step, ends the try shell's processes, asks the
    app to exit (on its own event loop), and — if the app has not finished by a
    deadline — undoes the open journals itself and ends the process.

Nothing here imports the lesson engine; the app hands the guard callables.
"""

from __future__ import annotations

import contextlib
import logging
import os
import select
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

from textual.drivers.linux_driver import LinuxDriver

log = logging.getLogger("shikumi.app")

CHECK_EVERY = 0.25  # seconds between looks at the terminal
GRACE = 3.0  # after a trigger, how long the app has to exit on its own
HARD_STOP = 4.5  # after a trigger, the process ends no matter what
SIGNALS = (signal.SIGHUP, signal.SIGTERM, signal.SIGINT)
GONE_MASK = select.POLLHUP | select.POLLERR | select.POLLNVAL


class _SafeFile:
    """The terminal as the output thread sees it: a failed write marks it gone
    instead of raising (which would end the thread with its queue still filling)."""

    def __init__(self, file: Any, on_gone: Callable[[], None]) -> None:
        self._file = file
        self._on_gone = on_gone
        self.gone = False

    def write(self, text: str) -> int:
        if self.gone:
            return len(text)
        try:
            return self._file.write(text)
        except (OSError, ValueError):
            self._lost()
            return len(text)

    def flush(self) -> None:
        if self.gone:
            return
        try:
            self._file.flush()
        except (OSError, ValueError):
            self._lost()

    def _lost(self) -> None:
        self.gone = True
        self._on_gone()

    def fileno(self) -> int:
        return self._file.fileno()

    def isatty(self) -> bool:
        return not self.gone and self._file.isatty()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._file, name)


class LabDriver(LinuxDriver):
    """LinuxDriver that survives its terminal going away (see the module's doc)."""

    def __init__(self, app: Any, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self._file = _SafeFile(self._file, self._terminal_lost)

    def _terminal_lost(self) -> None:
        guard = getattr(self._app, "guard", None)
        if guard is not None:
            guard.terminal_gone("a write to the terminal failed")

    def write(self, data: str) -> None:
        writer = self._writer_thread
        if writer is None or not writer.is_alive() or self._file.gone:
            return  # no one would ever take it off the (bounded) queue
        writer.write(data)

    def stop_input(self) -> None:
        """Stop the input thread (it would spin on a hung-up terminal's endless EOF)."""
        self.exit_event.set()


def terminal_fds() -> list[int]:
    """The file descriptors of the terminal the app uses (stdin, stdout, stderr)."""
    fds = []
    for f in (sys.__stdin__, sys.__stdout__, sys.__stderr__):
        with contextlib.suppress(AttributeError, ValueError, OSError):
            if f is not None and os.isatty(f.fileno()):
                fds.append(f.fileno())
    return sorted(set(fds))


def terminal_gone(fds: list[int]) -> str:
    """Why the terminal is gone ('' while it is there): a hang-up, an error, a closed fd."""
    if not fds:
        return ""
    p = select.poll()
    for fd in fds:
        p.register(fd, select.POLLIN)
    try:
        events = p.poll(0)
    except OSError as e:
        return f"poll failed: {e.strerror}"
    for fd, ev in events:
        if ev & GONE_MASK:
            what = "hung up" if ev & select.POLLHUP else "error"
            return f"the terminal (fd {fd}) {what}"
    for fd in fds:  # a revoked tty answers EIO (or ENXIO) to every ioctl
        try:
            os.tcgetpgrp(fd)
        except OSError as e:
            if e.errno in (5, 6):  # EIO, ENXIO
                return f"the terminal (fd {fd}) is gone: {e.strerror}"
    return ""


class Guard:
    """Ends the app cleanly when its terminal goes or a signal asks it to.

    The app supplies:
      ``request_exit(code)``  called on the app's event loop: the graceful way out
      ``cancel_all()``        any thread: cancel every running step (sets events)
      ``emergency()``         any thread: undo every open session's journal, now
    """

    def __init__(
        self,
        loop: Any,
        request_exit: Callable[[int], None],
        cancel_all: Callable[[], None],
        emergency: Callable[[], None],
        fds: list[int] | None = None,
    ) -> None:
        self.loop = loop
        self.request_exit = request_exit
        self.cancel_all = cancel_all
        self.emergency = emergency
        self.fds = terminal_fds() if fds is None else fds
        self.children: set[subprocess.Popen] = set()  # try shells: killed on a trigger
        self.reason = ""
        self.code: int | None = None
        self.triggered_at = 0.0
        self._wake = threading.Event()
        self._done = threading.Event()
        self._old: dict[int, Any] = {}
        self._thread = threading.Thread(target=self._run, name="shikumi-guard", daemon=True)

    # -- starting ------------------------------------------------------------------
    def start(self) -> None:
        for sig in SIGNALS:
            with contextlib.suppress(ValueError, OSError):  # not the main thread: no handlers
                self._old[sig] = signal.signal(sig, self._on_signal)
        self._thread.start()

    def _on_signal(self, sig: int, _frame: Any) -> None:
        # runs on the main thread between two bytecodes, wherever it was: only note
        # it and wake the guard (no lock the interrupted code might hold)
        self.trigger(128 + sig, f"signal {signal.Signals(sig).name}")

    # -- triggers --------------------------------------------------------------------
    def trigger(self, code: int, reason: str) -> None:
        if self.code is None:
            self.code, self.reason = code, reason
            self.triggered_at = time.monotonic()
        self._wake.set()

    def terminal_gone(self, reason: str) -> None:
        self.trigger(128 + signal.SIGHUP, reason)

    @property
    def triggered(self) -> bool:
        return self.code is not None

    def finished(self) -> None:
        """The app has exited and cleaned up: nothing more to do."""
        self._done.set()
        self._wake.set()
        for sig, old in self._old.items():
            with contextlib.suppress(ValueError, OSError, TypeError):
                signal.signal(sig, old)

    # -- the thread ------------------------------------------------------------------
    def _run(self) -> None:
        while not self._done.is_set():
            self._wake.wait(CHECK_EVERY)
            if self._done.is_set():
                return
            if not self.triggered:
                why = terminal_gone(self.fds)
                if not why:
                    continue
                self.terminal_gone(why)
            self._act()
            return

    def _act(self) -> None:
        log.warning("ending the app: %s", self.reason)
        code = self.code or 1
        with contextlib.suppress(Exception):
            self.cancel_all()
        self.kill_children()
        with contextlib.suppress(RuntimeError):  # the loop already closed: the app is ending
            self.loop.call_soon_threadsafe(self.request_exit, code)
        start = self.triggered_at or time.monotonic()
        while not self._done.wait(0.1):
            self.kill_children()  # a shell started in the meantime goes too
            if time.monotonic() - start > GRACE:
                break
        if self._done.is_set():
            return
        # the app did not finish in time (its thread is stuck): clean up from here
        log.error(
            "the app did not exit within %.1f s of %s: cleaning up from the guard",
            GRACE,
            self.reason,
        )
        worker = threading.Thread(target=self._emergency, name="shikumi-emergency", daemon=True)
        worker.start()
        worker.join(max(0.1, HARD_STOP - (time.monotonic() - start)))
        if self._done.is_set():
            return
        with contextlib.suppress(Exception):
            logging.shutdown()
        os._exit(code)

    def _emergency(self) -> None:
        try:
            self.emergency()
        except Exception:
            log.exception("emergency cleanup failed")

    def kill_children(self) -> None:
        for p in list(self.children):
            if p.poll() is None:
                with contextlib.suppress(OSError):
                    p.send_signal(signal.SIGHUP)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    p.wait(0.3)
                if p.poll() is None:
                    with contextlib.suppress(OSError):
                        p.kill()
            self.children.discard(p)
