"""`shikumi check [PATH…]`, `shikumi new ID [--dir DIR]`, `shikumi list [--json]`."""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Any

from lab.lesson.model import Lesson, Problem


def shown(path: Path) -> str:
    """*path* relative to the current directory when it is under it."""
    try:
        return str(Path(path).absolute().relative_to(Path.cwd()))
    except (ValueError, OSError):
        return str(path)


def format_problem(p: Problem) -> str:
    tag = "" if p.severity == "error" else "warning: "
    return f"{shown(p.path)}:{p.line}: {tag}{p.message}"


# -- check ---------------------------------------------------------------------------


def cmd_check(args: argparse.Namespace) -> int:
    from lab.lesson import catalog
    from lab.lesson.lint import lint

    paths = [Path(p) for p in (args.paths or [])]
    if not paths:
        paths = catalog.find()
        if not paths:
            print(f"shikumi check: no lessons in {shown(catalog.bundled_dir())}", file=sys.stderr)
            return 0
    problems = lint(paths)
    for p in problems:
        print(format_problem(p))
    n_err = sum(1 for p in problems if p.severity == "error")
    n_warn = len(problems) - n_err
    what = f"{len(paths)} path(s)" if args.paths else f"{len(paths)} lesson(s)"
    if not problems:
        print(f"shikumi check: {what}: clean", file=sys.stderr)
    else:
        print(f"shikumi check: {what}: {n_err} error(s), {n_warn} warning(s)", file=sys.stderr)
    return 1 if n_err else 0


# -- new -----------------------------------------------------------------------------


def cmd_new(args: argparse.Namespace) -> int:
    from lab.lesson import catalog
    from lab.lesson.scaffold import new_lesson

    directory = Path(args.dir) if args.dir else catalog.bundled_dir()
    folder = new_lesson(args.id, directory)
    where = shown(folder)
    print(f"created {where}/lesson.md and {where}/lesson.ja.md")
    print(f"next: edit them, then: shikumi check {where} && shikumi play {where}")
    return 0


# -- list ----------------------------------------------------------------------------


def _requirements(lesson: Lesson) -> tuple[list[str], list[str]]:
    """(lesson-level requirements, every requirement incl. the steps')."""
    every = list(dict.fromkeys([*lesson.requires, *(r for s in lesson.steps for r in s.requires)]))
    return list(lesson.requires), every


def lesson_rows(lang: str) -> list[dict[str, Any]]:
    """One dict per bundled lesson, as `list --json` prints them (plus "part", "fix")."""
    from lab.doctor import doctor
    from lab.lesson import catalog
    from lab.lesson.progress import Progress
    from lab.safety.home import home_dir

    home = home_dir()
    loaded = catalog.load_all(lang=lang)
    checks = doctor.run_checks(home) if loaded else []
    progress = Progress.load(home)
    rows: list[dict[str, Any]] = []
    for folder, lesson, problems in loaded:
        if lesson is None:
            why = problems[0].message if problems else "cannot be loaded"
            rows.append(
                {
                    "id": folder.name,
                    "title": folder.name,
                    "steps": 0,
                    "available": False,
                    "missing": [],
                    "done": 0,
                    "complete": False,
                    "part": "",
                    "fix": {},
                    "error": why,
                }
            )
            continue
        own, every = _requirements(lesson)
        missing = doctor.missing(every, checks)
        own_missing = doctor.missing(own, checks)
        errors = [p for p in problems if p.severity == "error"]
        row = {
            "id": lesson.id,
            "title": lesson.title_in(lang),
            "steps": len(lesson.steps),
            "available": not own_missing and not errors,
            "missing": [c.name for c in missing],
            "done": progress.done_count(lesson),
            "complete": progress.is_complete(lesson),
            "part": lesson.part,
            "fix": {c.name: c.fix for c in missing if c.fix},
        }
        if errors:
            row["error"] = f"{len(errors)} error(s) in the lesson file (shikumi check {lesson.id})"
        rows.append(row)
    return rows


def cmd_list(args: argparse.Namespace) -> int:
    from lab.lesson.i18n import pick_lang, t

    lang = pick_lang(getattr(args, "lang", None))
    rows = lesson_rows(lang)
    if args.json:
        keys = ("id", "title", "steps", "available", "missing", "done", "complete")
        out = [
            {k: r[k] for k in keys} | ({"error": r["error"]} if "error" in r else {}) for r in rows
        ]
        print(json.dumps(out, indent=2, ensure_ascii=False))
        return 0
    from rich.console import Console
    from rich.table import Table

    console = Console(highlight=False)
    if not rows:
        from lab.lesson import catalog

        console.print(f"no lessons in {shown(catalog.bundled_dir())}")
        return 0
    table = Table(title="shikumi-lab: " + t("Lessons", lang), expand=False)
    table.add_column("id", no_wrap=True)
    table.add_column(t("Lesson", lang))
    table.add_column(t("Step", lang), justify="right")
    table.add_column(t("done", lang), justify="right")
    table.add_column(t("missing", lang))
    part = None
    for r in rows:
        if r["part"] != part:
            part = r["part"]
            table.add_section()
            table.add_row("", f"[bold]{part or '—'}[/]", "", "", "")
        done = (
            "[green]✓[/]" if r["complete"] else (f"{r['done']}/{r['steps']}" if r["done"] else "")
        )
        if "error" in r:
            miss = f"[red]{r['error']}[/]"
        else:
            miss = "; ".join(
                f"{n}" + (f" ({r['fix'][n]})" if n in r["fix"] else "") for n in r["missing"]
            )
            miss = f"[red]{miss}[/]" if not r["available"] else f"[yellow]{miss}[/]"
        table.add_row(r["id"], r["title"], str(r["steps"]), done, miss)
    console.print(table)
    if os.geteuid() != 0:
        console.print("not root: most lessons need root (sudo shikumi).")
    return 0
