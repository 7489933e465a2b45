"""`shikumi play LESSON… | --all [--json] [--lang en|ja] [--verify-tries]`: run lessons headless.

Exit 0 iff every check passed and nothing leaked; 130 when interrupted
(Ctrl-C / SIGTERM), after cleaning up. With --verify-tries, the solve gate
(lab/lesson/gate.py): exit 0 iff every try needs the learner and every solution
passes, in each of two rounds from a reset.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import signal
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from lab.errors import LabError

INTERRUPTED = 130


@contextlib.contextmanager
def _stop_on_signals(stop: threading.Event) -> Iterator[None]:
    """First SIGINT/SIGTERM: cancel the running step and clean up. Second: give up waiting."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: object) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    old = {s: signal.signal(s, handler) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for s, h in old.items():
            signal.signal(s, h)


def _folders(args: argparse.Namespace) -> list[Path]:
    from lab.lesson import catalog

    if args.all:
        found = catalog.find()
        if not found:
            raise LabError(f"no lessons found in {catalog.bundled_dir()}")
        return found
    if not args.lessons:
        raise LabError("name the lessons to play, or --all", "e.g. shikumi play 01 02")
    return [catalog.resolve(name) for name in args.lessons]


def run(args: argparse.Namespace) -> int:
    from lab.lesson import player
    from lab.lesson.i18n import pick_lang

    lang = pick_lang(getattr(args, "lang", None))
    folders = _folders(args)
    if os.geteuid() != 0:
        print("shikumi play: not root — steps that need root are skipped", file=sys.stderr)
    width = max(100, min(160, Console().width))
    console = (
        Console(file=io.StringIO(), width=width)
        if args.json
        else Console(width=width, highlight=False)
    )
    stop = threading.Event()
    with _stop_on_signals(stop):
        report = player.play(
            folders,
            lang,
            console,
            stop,
            track_changes=args.json,
            verify_tries=getattr(args, "verify_tries", False),
        )
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        n = len(report.lessons)
        bad = [r.id for r in report.lessons if r.failed or r.failures]
        console.print()
        if report.interrupted:
            console.print("[bold red]interrupted[/]: cleaned up.")
        elif report.ok:
            said = (
                "every try needs the learner and its solution passes (twice)"
                if getattr(args, "verify_tries", False)
                else "every check passed"
            )
            console.print(f"[bold green]{n} lesson(s) played: {said}, nothing left behind.[/]")
        else:
            if bad:
                console.print(f"[bold red]failed:[/] {', '.join(bad)}")
            for leak in report.leaked:
                console.print(f"[bold red]leaked:[/] {leak}")
    if report.interrupted:
        return INTERRUPTED
    return 0 if report.ok else 1
