"""`shikumi progress [--json] [--export FILE|-] [--name NAME] [--lang]`.

A table of what the learner did per step (done, attempts, hints, solutions,
time, predictions); ``--json`` prints the export (lab/lesson/export.py, the
format docs/classroom.md documents); ``--export FILE`` writes it (``-``: to
stdout) with the learner's name: ``--name``, else ``login@hostname`` (the
login of whoever ran sudo, not root).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import os
import socket
import sys
import tempfile
from pathlib import Path
from typing import Any

from lab.errors import LabError

_WORDS = {
    "en": {
        "title": "shikumi progress: {name}",
        "lesson": "lesson",
        "step": "step",
        "how": "how",
        "attempts": "attempts",
        "hints": "hints",
        "solutions": "solutions",
        "time": "time",
        "predictions": "predictions",
        "none": "no progress yet: open a lesson (shikumi) and run a step.",
        "done": "done",
        "hinted": "done, with hints",
        "solution": "done with the solution",
        "tried": "tried, not done",
        "not_reached": "not reached",
        "wrote": "wrote {file}: {steps} step record(s) of {lessons} lesson(s), learner {name}",
    },
    "ja": {
        "title": "shikumi の進捗: {name}",
        "lesson": "レッスン",
        "step": "ステップ",
        "how": "状態",
        "attempts": "試行",
        "hints": "ヒント",
        "solutions": "解答",
        "time": "時間",
        "predictions": "予想",
        "none": "まだ進捗はありません。レッスンを開いて (shikumi) ステップを実行してください。",
        "done": "完了",
        "hinted": "完了 (ヒントあり)",
        "solution": "解答で完了",
        "tried": "挑戦中",
        "not_reached": "未着手",
        "wrote": "{file} に書き出しました: {lessons} レッスン、{steps} ステップの記録 (学習者 {name})",
    },
}


def default_name() -> str:
    """login@hostname: the login that ran sudo (SUDO_USER), else the process's."""
    login = os.environ.get("SUDO_USER") or ""
    if not login:
        import getpass

        try:
            login = getpass.getuser()
        except (KeyError, OSError):
            login = str(os.getuid())
    return f"{login}@{socket.gethostname()}"


def clock(seconds: float) -> str:
    s = round(seconds)
    return (
        f"{s // 3600}:{s // 60 % 60:02d}:{s % 60:02d}" if s >= 3600 else f"{s // 60}:{s % 60:02d}"
    )


def export_data(name: str | None) -> dict[str, Any]:
    from lab.lesson import catalog
    from lab.lesson.export import build
    from lab.lesson.progress import Progress
    from lab.safety.home import home_dir

    progress = Progress.load(home_dir())
    if progress.error:
        print(f"shikumi progress: warning: {progress.error}", file=sys.stderr)
    lessons = [lesson for _, lesson, _ in catalog.load_all() if lesson is not None]
    learner = (name or "").strip() or default_name()
    return build(progress, lessons, learner, host=socket.gethostname())


def write_file(target: str, text: str) -> None:
    """*text* to *target* atomically (a temp file beside it, then a rename)."""
    path = Path(target)
    if path.is_dir():
        raise LabError(f"{target} is a folder", "name a file, e.g. --export aiko.json")
    folder = path.parent if str(path.parent) else Path(".")
    try:
        fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as e:
        raise LabError(f"cannot write {target}: {e.strerror or e}") from None
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as e:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise LabError(f"cannot write {target}: {e.strerror or e}") from None


def _table(data: dict[str, Any], lang: str) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    from lab.lesson.export import kind
    from lab.lesson.progress import StepRecord

    w = _WORDS[lang]
    styles = {"done": "green", "hinted": "yellow", "solution": "magenta", "tried": "red"}
    table = Table(title=w["title"].format(name=escape(data["learner"])), box=None, padding=(0, 1))
    for col in ("lesson", "step", "how", "attempts", "hints", "solutions", "time", "predictions"):
        justify = "right" if col in ("attempts", "hints", "solutions", "time") else "left"
        table.add_column(
            w[col], justify=justify, overflow="fold", no_wrap=col in ("lesson", "how", "time")
        )
    rows = 0
    for lesson in data["lessons"]:
        first = True
        for step in lesson["steps"]:
            rec = StepRecord.of(step)
            how = kind(rec)
            if how == "not_reached":
                continue
            table.add_row(
                escape(lesson["id"]) if first else "",
                escape(step["title"].get(lang) or step["id"]),
                f"[{styles.get(how, '')}]{w[how]}[/]",
                str(rec.attempts),
                str(rec.hints),
                str(rec.solutions),
                clock(rec.seconds),
                escape(", ".join(rec.predictions)),
            )
            first, rows = False, rows + 1
    console = Console(highlight=False, width=max(110, min(160, Console().width)))
    if rows:
        console.print(table)
    else:
        console.print(w["none"])


def cmd_progress(args: argparse.Namespace) -> int:
    from lab.lesson.i18n import pick_lang

    lang = pick_lang(getattr(args, "lang", None))
    data = export_data(args.name)
    text = json.dumps(data, indent=1, ensure_ascii=False) + "\n"
    if args.export == "-":
        sys.stdout.write(text)
        return 0
    if args.export:
        write_file(args.export, text)
        from lab.lesson.export import kind
        from lab.lesson.progress import StepRecord

        reached = [
            [s for s in le["steps"] if kind(StepRecord.of(s)) != "not_reached"]
            for le in data["lessons"]
        ]
        steps, lessons = sum(len(r) for r in reached), sum(1 for r in reached if r)
        print(
            _WORDS[lang]["wrote"].format(
                file=args.export, steps=steps, lessons=lessons, name=data["learner"]
            ),
            file=sys.stderr,
        )
        return 0
    if args.json:
        sys.stdout.write(text)
        return 0
    _table(data, lang)
    return 0
