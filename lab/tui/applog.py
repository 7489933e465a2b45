"""The app's log: details of every failure, inside the lab's home.

``$SHIKUMI_HOME/log/app.log`` (the folder 0700, the file 0600), capped at
``MAX_BYTES`` and rotated (``app.log.1``, ``app.log.2``). The screen only ever
shows one line for a failure; the traceback goes here. If the home cannot be
written the log is off (the line on screen says so), never a crash.
"""

from __future__ import annotations

import contextlib
import functools
import inspect
import logging
import logging.handlers
import os
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

LOGGER = "shikumi.app"
MAX_BYTES = 512 * 1024
BACKUPS = 2


class _PrivateRotatingHandler(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are created 0600 (they may hold paths and
    command output of a root session)."""

    def _open(self):  # type: ignore[no-untyped-def]
        fd = os.open(
            self.baseFilename, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_CLOEXEC, 0o600
        )
        with contextlib.suppress(OSError):
            os.fchmod(fd, 0o600)
        return os.fdopen(fd, self.mode, encoding=self.encoding, errors=self.errors)


def log_path(home: Path) -> Path:
    return Path(home) / "log" / "app.log"


def setup(home: Path) -> Path | None:
    """Send the app's logger to *home*/log/app.log; the path, or None if it cannot be written."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False  # never onto the screen (Textual owns the terminal)
    try:  # only in a home the lab made (or may make): never litter a foreign directory
        from lab.safety.home import ensure_home

        home = ensure_home(Path(home))
    except Exception:
        logger.addHandler(logging.NullHandler())
        return None
    path = log_path(home)
    for h in list(logger.handlers):
        if isinstance(h, _PrivateRotatingHandler) and h.baseFilename == str(path):
            return path
        logger.removeHandler(h)
        with contextlib.suppress(Exception):
            h.close()
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        handler = _PrivateRotatingHandler(
            str(path), maxBytes=MAX_BYTES, backupCount=BACKUPS, encoding="utf-8", delay=False
        )
    except OSError:
        logger.addHandler(logging.NullHandler())
        return None
    handler.setFormatter(
        logging.Formatter("%(asctime)s %(levelname)s [%(threadName)s] %(message)s")
    )
    logger.addHandler(handler)
    return path


def one_line(e: BaseException) -> str:
    """A failure in one line for the screen: its type and its message, nothing more."""
    message = getattr(e, "message", None)
    if isinstance(message, str) and message:  # a LabError: its own words, and its fix
        fix = getattr(e, "fix", "")
        return message + (f" — {fix}" if fix else "")
    text = str(e).strip().splitlines()
    return f"{type(e).__name__}: {text[0]}" if text else type(e).__name__


def record(where: str, e: BaseException) -> str:
    """Write *e* with its traceback to the log; return the line to show."""
    logging.getLogger(LOGGER).error(
        "%s: %s\n%s", where, one_line(e), "".join(traceback.format_exception(e)).rstrip()
    )
    return f"{where}: {one_line(e)}"


# -- handlers that never take the app down -------------------------------------------------


def guarded(cls: type) -> type:
    """Class decorator: every ``action_*`` and ``on_*`` method of *cls* (its own, not
    inherited ones) reports a failure — one line on screen, the traceback in the log —
    instead of raising into Textual, which would end the app with a raw traceback
    (and stop the screen's message loop)."""
    for name, fn in list(vars(cls).items()):
        if not (name.startswith(("action_", "on_")) and inspect.isfunction(fn)):
            continue
        setattr(cls, name, _guard(fn, name))
    return cls


def _guard(fn: Callable[..., Any], name: str) -> Callable[..., Any]:
    if inspect.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def run_async(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return await fn(self, *args, **kwargs)
            except Exception as e:
                _report(self, name, e)
                return None

        return run_async

    @functools.wraps(fn)
    def run(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except Exception as e:
            _report(self, name, e)
            return None

    return run


def _report(node: Any, where: str, e: Exception) -> None:
    app = getattr(node, "owner", None) or node
    report = getattr(app, "report", None)
    if report is None:
        with contextlib.suppress(Exception):
            report = node.app.report
    if report is None:
        record(where, e)
        return
    report(where, e)
