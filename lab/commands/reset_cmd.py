"""`shikumi reset LESSON…|--all [--yes]`: forget a lesson's progress and clean its state.

It asks first (one line, y/N) and refuses without a terminal to ask on unless
``--yes``. Then, holding the home's run lock (so no lesson runs meanwhile; a
running app is named and nothing is touched), it undoes what dead sessions
left in the journal, removes each lesson's work folder through the journal
(journaled, then undone: mounts under it are unmounted, nothing outside the
home is ever removed), and forgets the progress. Exit 0 when done, 1 when the
answer was no or something could not be cleaned.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from lab.errors import LabError

WORDS = {
    "en": {
        "every": "every lesson",
        "ask": "reset {what}: forget its progress ({n} step record(s)) and clean up its state?",
        "no": "nothing was reset.",
        "nothing": "reset {what}: nothing to forget, nothing to clean ({home} does not exist).",
        "done": "reset {what}: {n} step record(s) forgotten",
        "removed": ", {n} work folder(s) removed",
        "not_cleaned": "not cleaned",
    },
    "ja": {
        "every": "すべてのレッスン",
        "ask": "{what} をリセットします: 進捗 ({n} ステップ分の記録) を消し、状態を片付けますか?",
        "no": "何もリセットしませんでした。",
        "nothing": "{what} のリセット: 消す進捗も片付けるものもありません ({home} がありません)。",
        "done": "{what} をリセットしました: {n} ステップ分の記録を消去",
        "removed": "、作業フォルダー {n} 個を削除",
        "not_cleaned": "片付けられませんでした",
    },
}


def _lesson_ids(args: argparse.Namespace, known: dict[str, dict]) -> list[str]:
    """The lesson ids named (a number prefix too); a lesson no longer bundled but
    still in the progress file may be named by its full id."""
    from lab.lesson import catalog

    if args.all:
        if args.lessons:
            raise LabError("name lessons or --all, not both", "e.g. shikumi reset 05")
        return []
    if not args.lessons:
        raise LabError("name the lessons to reset, or --all", "e.g. shikumi reset 05 --yes")
    ids: list[str] = []
    for name in args.lessons:
        try:
            lesson_id = catalog.resolve(name).name
        except LabError:
            if name not in known:
                raise
            lesson_id = name
        if lesson_id not in ids:
            ids.append(lesson_id)
    return ids


def _confirm(question: str) -> bool:
    """y/N on the terminal (y, yes or はい); LabError without a terminal to ask on."""
    if not sys.stdin.isatty():
        raise LabError(
            "reset asks before it throws progress away, and there is no terminal to ask on",
            "add --yes to reset without asking (shikumi reset … --yes)",
        )
    try:
        answer = input(f"{question} [y/N] ")
    except EOFError:
        answer = ""
    return answer.strip().lower() in ("y", "yes", "はい")


def _work_dirs(home: Path, ids: list[str]) -> list[Path]:
    work = home / "work"
    if ids:
        return [work / i for i in ids if os.path.lexists(work / i)]
    try:
        return sorted(work.iterdir())
    except OSError:
        return []


def _clean(home: Path, folders: list[Path]) -> list[str]:
    """Undo dead sessions, then remove *folders* through a journal: the problems."""
    from lab.safety.journal import Journal

    problems: list[str] = []
    with Journal.open(home) as j:  # recovers what dead sessions left, first
        for r in j.recovered.results if j.recovered else []:
            if not r.ok and not r.refused:
                problems.append(f"{r.entry.kind} {r.entry.target}: {r.action}")
        for folder in folders:
            j.record("dir", str(folder))
        report = j.close()
    for r in report.results:
        if not r.ok:
            problems.append(f"{r.entry.target}: {r.action}")
    return problems


def cmd_reset(args: argparse.Namespace) -> int:
    from lab.lesson.i18n import pick_lang
    from lab.lesson.progress import Progress
    from lab.safety.home import home_dir
    from lab.safety.runlock import RunLock

    w = WORDS[pick_lang(getattr(args, "lang", None))]
    home = home_dir()
    progress = Progress.load(home)
    ids = _lesson_ids(args, progress.lessons)
    what = w["every"] if not ids else ", ".join(ids)
    kept = sum(len(progress.lessons.get(i, {})) for i in ids) if ids else None
    if kept is None:
        kept = sum(len(steps) for steps in progress.lessons.values())
    if not args.yes and not _confirm(w["ask"].format(what=what, n=kept)):
        print(w["no"])
        return 1
    if not home.exists():
        print(w["nothing"].format(what=what, home=home))
        return 0
    if not os.access(home, os.W_OK):
        raise LabError(
            f"cannot reset in {home}: permission denied", "run it as root: sudo shikumi reset …"
        )
    lock = RunLock(home)
    lock.acquire(
        f"reset {', '.join(ids) or 'every lesson'}"
    )  # Busy (one line naming the running lesson) if one runs
    try:
        folders = _work_dirs(home, ids)
        problems = _clean(home, folders)
        error = progress.reset_all() if not ids else ""
        for lesson_id in ids:
            error = error or progress.reset(lesson_id)
    finally:
        lock.release()
    if error:
        problems.append(error)
    for p in problems:
        print(f"  {w['not_cleaned']}: {p}", file=sys.stderr)
    removed = w["removed"].format(n=len(folders)) if folders else ""
    print(w["done"].format(what=what, n=kept) + removed + ("." if w is WORDS["en"] else "。"))
    return 1 if problems else 0
