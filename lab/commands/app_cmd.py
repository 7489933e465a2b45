"""`shikumi` (no command) and `shikumi open LESSON [--step N] [--watch]`: the app.

Textual is imported here, inside the functions, so `shikumi --help` and the
headless commands never pay for it.
"""

from __future__ import annotations

import argparse
import contextlib
import sys
from pathlib import Path

from lab.errors import LabError


def _run(
    lang: str | None,
    lesson_name: str | None = None,
    step: int | None = None,
    watch: bool = False,
    no_tmux: bool = False,
) -> int:
    from lab.safety.home import home_dir
    from lab.tui import engine

    lang = engine.pick_lang(lang)
    home = home_dir()
    dirs = engine.lesson_dirs()
    lesson = None
    if lesson_name is not None:
        folder = engine.resolve(lesson_name, dirs)
        lesson, problems = engine.load(folder, lang)
        if lesson is None or problems:
            for p in problems:
                print(p, file=sys.stderr)
            raise LabError(
                f"lesson {lesson_name!r} has errors", "fix them (shikumi check lists them)"
            )
        if step is not None and not 1 <= step <= len(lesson.steps):
            raise LabError(
                f"lesson {lesson.id} has no step {step}", f"steps are 1 to {len(lesson.steps)}"
            )
    from lab.commands import own_tmux
    from lab.lesson.serving import die_with_parent, in_browser

    if in_browser():  # started by textual-serve (shikumi serve): stdout is a pipe
        die_with_parent()
    elif own_tmux.wanted(no_tmux):  # the shell beside the app needs tmux: its own
        own_tmux.exec_in_own_tmux(sys.argv[1:])
    if not in_browser() and not sys.stdout.isatty():
        raise LabError(
            "the app needs a terminal", "run it in a terminal, or use shikumi play for no screen"
        )

    from lab.tui.app import ShikumiApp

    app = ShikumiApp(
        home, lang, dirs=[Path(d) for d in dirs], lesson=lesson, step=step, watch=watch
    )
    try:
        code = app.run()
    finally:
        app.close_all()
        guard = app.guard
        if guard is not None and guard.triggered:
            # a signal or the terminal going ended the app, and its sessions are cleaned
            # up: end now — an engine thread still inside a long wait (a lock, a docker
            # rm retrying) must not keep the process alive at interpreter exit
            _exit_now(int(guard.code or 1))
        if guard is not None:
            guard.finished()
    return int(code or app.return_code or 0)


def _exit_now(code: int) -> None:
    import logging
    import os

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(Exception):
            stream.flush()
    logging.shutdown()
    os._exit(code)


def cmd_app(args: argparse.Namespace) -> int:
    return _run(getattr(args, "lang", None), no_tmux=getattr(args, "no_tmux", False))


def cmd_open(args: argparse.Namespace) -> int:
    no_tmux = getattr(args, "no_tmux", False)
    return _run(getattr(args, "lang", None), args.lesson, args.step, args.watch, no_tmux)
