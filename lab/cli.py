"""The `shikumi` command."""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import sys
import traceback
from collections.abc import Callable, Sequence

from lab import __version__
from lab.errors import BadHome, LabError

NOT_YET = 2


def _lazy(module: str, name: str) -> Callable[[argparse.Namespace], int]:
    """A subcommand imported only when it runs (so `shikumi --help` stays fast)."""

    def run(args: argparse.Namespace) -> int:
        import importlib

        return getattr(importlib.import_module(module), name)(args)

    return run


def _not_yet(what: str) -> Callable[[argparse.Namespace], int]:
    def run(args: argparse.Namespace) -> int:
        print(f"shikumi {args.command}: {what} is not part of this version yet", file=sys.stderr)
        return NOT_YET

    return run


# -- doctor ----------------------------------------------------------------------------


def cmd_doctor(args: argparse.Namespace) -> int:
    from lab.doctor import doctor
    from lab.safety.home import home_dir

    checks = doctor.run_checks(home_dir())
    if args.json:
        print(json.dumps({"checks": [c.to_json() for c in checks]}, indent=2, ensure_ascii=False))
    else:
        from rich.console import Console
        from rich.markup import escape
        from rich.table import Table

        table = Table(
            title="shikumi doctor", show_lines=False, expand=True, box=None, padding=(0, 1)
        )
        table.add_column("", width=1, no_wrap=True)
        table.add_column("check", no_wrap=True)
        table.add_column("found", overflow="ellipsis", no_wrap=True, ratio=1)
        for c in checks:
            mark = "[green]✓[/]" if c.ok else ("[red]✗[/]" if c.required else "[yellow]–[/]")
            table.add_row(
                mark, escape(c.name), escape(c.detail.splitlines()[0] if c.detail else "")
            )
        console = Console()
        console.print(table)
        for c in checks:
            if not c.ok:
                color = "red" if c.required else "yellow"
                console.print(
                    f"[{color}]{escape(c.name)}[/]: {escape(c.detail)}\n  [bold]fix:[/] {escape(c.fix or '—')}"
                )
        bad = [c for c in checks if c.required and not c.ok]
        optional = [c for c in checks if not c.required and not c.ok]
        if bad:
            console.print(
                f"[red]{len(bad)} required check(s) failed[/]: the lab cannot run its lessons until they are fixed."
            )
        elif optional:
            console.print(
                f"[yellow]{len(optional)} optional check(s) failed[/]: lessons that need them are skipped."
            )
        else:
            console.print("[green]everything the lab uses is here.[/]")
    return 0 if all(c.ok for c in checks if c.required) else 1


# -- cleanup ---------------------------------------------------------------------------


def cmd_cleanup(args: argparse.Namespace) -> int:
    from lab.safety import journal
    from lab.safety.home import home_dir

    home = home_dir()
    if not home.exists():
        report = journal.Report()
    else:
        if not os.access(home, os.W_OK):
            raise LabError(
                f"cannot clean up {home}: permission denied", "run it as root: sudo shikumi cleanup"
            )
        report = journal.recover(home, force=args.force)
    if args.json:
        print(json.dumps(report.to_json(), indent=2, ensure_ascii=False))
    else:
        for r in report.results:
            mark = "ok " if r.ok else ("refused" if r.refused else "FAILED")
            print(f"  {mark:7} {r.entry.kind:8} {r.entry.target}: {r.action}")
        for live in report.live:
            print(
                f"  live    session {live['session']} (pid {live['pid']}: {' '.join(live['argv'][:3])}) is still running;"
                " it cleans up when it ends (quit it, or: shikumi cleanup --force)"
            )
        for w in report.warnings:
            print(f"  warning {w}")
        n = len(report.results)
        if not n and not report.live:
            print("nothing to clean up.")
        else:
            failed = sum(1 for r in report.results if not r.ok and not r.refused)
            print(
                f"cleanup: {n - failed} of {n} undone"
                + (f", {failed} failed (run it again)" if failed else "")
                + "."
            )
    return 0 if all(r.ok or r.refused for r in report.results) else 1


# -- parser ----------------------------------------------------------------------------


NO_TMUX = "do not start the app inside a tmux of its own (the shell beside needs tmux)"


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="shikumi",
        description="shikumi-lab: see how containers work by building one by hand, for real.",
        epilog="With no command, opens the app on the lesson list.",
    )
    p.add_argument("--version", action="version", version=f"shikumi-lab {__version__}")
    lang = argparse.ArgumentParser(add_help=False)
    lang.add_argument(
        "--lang",
        choices=["en", "ja"],
        default=argparse.SUPPRESS,
        help="language of the lesson texts (default: from the locale)",
    )
    p.add_argument(
        "--lang",
        choices=["en", "ja"],
        help="language of the lesson texts (default: from the locale)",
    )
    p.add_argument("--no-tmux", action="store_true", help=NO_TMUX)
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("open", parents=[lang], help="open the app at a lesson")
    s.add_argument("lesson", help="lesson id or its number (05-libraries or 05)")
    s.add_argument("--step", type=int, default=None, metavar="N", help="start at step N (1-based)")
    s.add_argument("--watch", action="store_true", help="reload the lesson when its file is saved")
    s.add_argument("--no-tmux", action="store_true", default=argparse.SUPPRESS, help=NO_TMUX)
    s.set_defaults(func=_lazy("lab.commands.app_cmd", "cmd_open"))

    s = sub.add_parser(
        "list", parents=[lang], help="list the lessons: id, title, steps, availability, progress"
    )
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=_lazy("lab.commands.lessons_cmd", "cmd_list"))

    s = sub.add_parser(
        "play", parents=[lang], help="run lessons without a screen: commands, views and checks"
    )
    s.add_argument("lessons", nargs="*", metavar="LESSON", help="lesson ids or numbers")
    s.add_argument("--all", action="store_true", help="play every lesson")
    s.add_argument("--json", action="store_true", help="print one JSON object with the results")
    s.add_argument(
        "--verify-tries",
        action="store_true",
        help="the solve gate: every try needs the learner and its solution passes (twice)",
    )
    s.set_defaults(func=_lazy("lab.commands.play_cmd", "run"))

    s = sub.add_parser("check", help="lint lesson files; errors as path:line: message")
    s.add_argument(
        "paths",
        nargs="*",
        metavar="PATH",
        help="lesson folders or files (default: the bundled lessons)",
    )
    s.set_defaults(func=_lazy("lab.commands.lessons_cmd", "cmd_check"))

    s = sub.add_parser("new", help="scaffold a new lesson that passes check")
    s.add_argument("id", help="lesson id, e.g. 19-my-lesson")
    s.add_argument("--dir", default=None, help="where to create it (default: lessons/)")
    s.set_defaults(func=_lazy("lab.commands.lessons_cmd", "cmd_new"))

    s = sub.add_parser(
        "doctor", help="check this machine: root, kernel, overlayfs, namespaces, cgroups, tools"
    )
    s.add_argument("--json", action="store_true", help="print JSON")
    s.set_defaults(func=cmd_doctor)

    s = sub.add_parser(
        "shell", parents=[lang], help="a shell in the step the running app is on (second terminal)"
    )
    s.set_defaults(func=_lazy("lab.commands.shell_cmd", "cmd_shell"))

    s = sub.add_parser("cleanup", help="undo everything the lab created (idempotent)")
    s.add_argument("--json", action="store_true", help="print JSON")
    s.add_argument(
        "--force",
        action="store_true",
        help="also undo sessions that are still running (stops them)",
    )
    s.set_defaults(func=cmd_cleanup)
    _instructor_commands(sub, lang)
    return p


def _instructor_commands(sub: argparse._SubParsersAction, lang: argparse.ArgumentParser) -> None:
    """reset, progress, class report, serve (lab/commands/)."""
    s = sub.add_parser(
        "reset", parents=[lang], help="forget a lesson's progress and clean its state (asks first)"
    )
    s.add_argument("lessons", nargs="*", metavar="LESSON", help="lesson ids or numbers")
    s.add_argument("--all", action="store_true", help="every lesson")
    s.add_argument("--yes", "-y", action="store_true", help="do not ask (for scripts)")
    s.set_defaults(func=_lazy("lab.commands.reset_cmd", "cmd_reset"))

    s = sub.add_parser(
        "progress", parents=[lang], help="what you did per step: done, attempts, hints, time"
    )
    s.add_argument("--json", action="store_true", help="print it as JSON (the export format)")
    s.add_argument("--export", metavar="FILE", help="write it for the instructor (- for stdout)")
    s.add_argument("--name", help="the learner's name in the export (default: login@hostname)")
    s.set_defaults(func=_lazy("lab.commands.progress_cmd", "cmd_progress"))

    s = sub.add_parser("class", help="for the instructor: a report of the class's progress")
    s.set_defaults(func=_lazy("lab.commands.class_cmd", "cmd_class"))
    verbs = s.add_subparsers(dest="class_command", metavar="report")
    r = verbs.add_parser("report", parents=[lang], help="one HTML page from learners' exports")
    r.add_argument("files", nargs="+", metavar="FILE", help="exports (shikumi progress --export)")
    r.add_argument("-o", "--output", required=True, metavar="OUT.html", help="the page to write")

    s = sub.add_parser("serve", parents=[lang], help="the app in a browser (textual-serve)")
    s.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    s.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    s.add_argument(
        "--read-only", action="store_true", help="a projector view: no step runs, no shell opens"
    )
    s.set_defaults(func=_lazy("lab.commands.serve_cmd", "cmd_serve"))


def _write_private(path: str, text: str) -> None:
    """Create *path* (never an existing file or a symlink) 0600 and write *text*."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        f.write(text)


def _log_crash(exc: BaseException) -> str:
    """Write the traceback to HOME/log/crash-<time>-<pid>.log (0600, in a 0700 folder),
    or, if the home is not usable (not checked, not made yet, not writable), to a
    private directory of its own from mkdtemp. The log's path ("" if neither)."""
    import tempfile
    import time

    text = "".join(traceback.format_exception(exc))
    name = f"crash-{time.strftime('%Y%m%dT%H%M%SZ', time.gmtime())}-{os.getpid()}.log"
    try:
        from lab.safety.home import MARKER, check_home

        home = check_home()  # never / or a system directory, nor a stranger's folder
        if not (home / MARKER).is_file() and not (home / "journal").is_dir():
            raise OSError("not a home the lab made yet")  # not made (or claimed) for a log
        logs = home / "log"
        with contextlib.suppress(FileExistsError):
            os.mkdir(logs, 0o700)
        if logs.is_symlink() or not logs.is_dir():
            raise OSError(f"{logs} is not a directory")
        for n in range(1, 10):  # crashes within one second: -2, -3, …
            path = logs / (name if n == 1 else name.replace(".log", f"-{n}.log"))
            with contextlib.suppress(FileExistsError):
                _write_private(str(path), text)
                return str(path)
    except Exception:
        pass
    try:
        d = tempfile.mkdtemp(prefix="shikumi-crash-")  # 0700, this process's own
        _write_private(os.path.join(d, name), text)
        return os.path.join(d, name)
    except OSError:
        return ""


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        args.command = "app"
        args.func = _lazy("lab.commands.app_cmd", "cmd_app")
    try:
        from lab.safety.home import check_home

        check_home()  # before anything reads or writes the home (BadHome: one line)
        return int(args.func(args) or 0)
    except BadHome as e:
        print(f"shikumi: {e}", file=sys.stderr)
        return e.exit_code
    except LabError as e:
        print(
            f"shikumi {args.command}: {e.message}" + (f" — {e.fix}" if e.fix else ""),
            file=sys.stderr,
        )
        return e.exit_code
    except KeyboardInterrupt:
        print(f"shikumi {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        return 0
    except Exception as e:  # never a traceback to a user
        where = _log_crash(e)
        print(
            f"shikumi {args.command}: internal error: {type(e).__name__}: {e}"
            + (f" (details in {where})" if where else ""),
            file=sys.stderr,
        )
        return 70


if __name__ == "__main__":
    raise SystemExit(main())
