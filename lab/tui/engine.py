"""The app's one doorway to the lesson engine (lab/lesson, lab/ops).

Screens never import the engine directly: they ask this module. That keeps the
screens free of engine details and gives tests one place to swap things.
Nothing here touches a widget; everything here may run in a worker thread.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.lesson.model import Lesson, Problem


@dataclass
class Entry:
    """One row of the lesson list: a lesson that loaded, or a folder that did not."""

    folder: Path
    lesson: Lesson | None
    problems: list[Problem] = field(default_factory=list)

    @property
    def id(self) -> str:
        return self.lesson.id if self.lesson else self.folder.name

    @property
    def part(self) -> str:
        return (self.lesson.part if self.lesson else "") or ""


def lesson_dirs(extra: list[Path] | None = None) -> list[Path]:
    """Where lessons come from: the bundled folder, then any the user named."""
    from lab.lesson import catalog

    dirs = [Path(d) for d in (extra or [])]
    return dirs or [catalog.bundled_dir()]


def load_entries(dirs: list[Path], lang: str) -> list[Entry]:
    """Every lesson folder in *dirs*, loaded (a broken one keeps its problems)."""
    from lab.lesson import catalog
    from lab.lesson.loader import load_lesson

    out: list[Entry] = []
    for folder in catalog.find(dirs):
        lesson, problems = load_lesson(folder, lang)
        out.append(Entry(Path(folder), lesson, [p for p in problems if p.severity == "error"]))
    return out


def resolve(name: str, dirs: list[Path]) -> Path:
    """The folder of lesson *name* (id, number or path); LabError if none."""
    from lab.lesson import catalog

    return Path(catalog.resolve(name, dirs))


def load(folder: Path, lang: str) -> tuple[Lesson | None, list[Problem]]:
    from lab.lesson.loader import load_lesson

    lesson, problems = load_lesson(folder, lang)
    return lesson, [p for p in problems if p.severity == "error"]


def lesson_mtime(folder: Path) -> float:
    """Newest modification time of the lesson's files (for --watch)."""
    newest = 0.0
    try:
        for p in folder.iterdir():
            if p.suffix in (".md", ".toml"):
                newest = max(newest, p.stat().st_mtime)
    except OSError:
        pass
    return newest


def pick_lang(arg: str | None) -> str:
    try:
        from lab.lesson.i18n import pick_lang as pick

        return pick(arg)
    except ImportError:
        if arg in ("en", "ja"):
            return arg
        loc = (
            os.environ.get("LC_ALL") or os.environ.get("LC_MESSAGES") or os.environ.get("LANG", "")
        )
        return "ja" if loc.startswith("ja") else "en"


def doctor_checks(home: Path) -> list[Any]:
    """Every doctor check (they probe for real: call from a worker thread)."""
    from lab.doctor import doctor

    return doctor.run_checks(home)


def missing(requires: list[str], checks: list[Any] | None) -> list[Any]:
    if checks is None or not requires:
        return []
    from lab.doctor import doctor

    return doctor.missing(requires, checks)


# -- progress --------------------------------------------------------------------------


def _logged(error: str) -> str:
    if error:
        import logging

        from lab.tui.applog import LOGGER

        logging.getLogger(LOGGER).error("%s", error)
    return error


class ProgressStore:
    """Progress that persists in the home; quiet if the home cannot be written."""

    def __init__(self, home: Path) -> None:
        self.home = home
        self._p: Any = None
        self.error = ""  # why progress cannot be kept ('' when it can)
        try:
            from lab.lesson.progress import Progress

            self._p = Progress.load(home)
        except Exception as e:
            from lab.tui import applog

            self._p = None
            self.error = applog.record("loading progress", e)

    def done(self, lesson: Lesson) -> set[str]:
        if self._p is None:
            return set()
        try:
            return set(self._p.done(lesson.id))
        except Exception:
            return set()

    def failed(self, lesson: Lesson) -> set[str]:
        if self._p is None:
            return set()
        try:
            return set(self._p.failed(lesson.id))
        except Exception:
            return set()

    def mark(self, lesson: Lesson, step_id: str, status: str) -> str:
        """Record and save; '' or one line saying why the progress could not be saved
        (the caller shows it; nothing is swallowed)."""
        if self._p is None:
            return self.error
        self._p.error = ""
        try:
            self._p.mark(lesson.id, step_id, status)
        except Exception as e:
            from lab.tui import applog

            return applog.record("saving progress", e)
        return _logged(getattr(self._p, "error", "") or "")

    def note(self, lesson: Lesson, step_id: str, **what: Any) -> str:
        """What the learner did on a step (Progress.note); '' or why it was not saved."""
        if self._p is None:
            return self.error
        try:
            return _logged(self._p.note(lesson.id, step_id, **what))
        except Exception as e:
            from lab.tui import applog

            return applog.record("saving progress", e)

    def predictions(self, lesson: Lesson, step_id: str) -> list[str]:
        """The choices kept for a step's predict questions, in order."""
        if self._p is None:
            return []
        try:
            return list(self._p.step_record(lesson.id, step_id).predictions)
        except Exception:
            return []

    def first_unfinished(self, lesson: Lesson) -> int:
        if self._p is None:
            return 0
        try:
            return int(self._p.first_unfinished(lesson) or 0)
        except Exception:
            return 0

    def reset(self, lesson: Lesson) -> str:
        if self._p is None:
            return self.error
        self._p.error = ""
        try:
            self._p.reset(lesson.id)
        except Exception as e:
            from lab.tui import applog

            return applog.record("resetting progress", e)
        return _logged(getattr(self._p, "error", "") or "")


# -- a lesson session: journal + runner ------------------------------------------------


def dead_sessions(home: Path) -> bool:
    """Whether a journal other than ours lies in the home (opening a session will
    first undo it if its session is dead): the app says "cleaning up…" meanwhile."""
    try:
        return any(p.suffix == ".jsonl" for p in (Path(home) / "journal").iterdir())
    except OSError:
        return False


class Session:
    """One open lesson: its journal and its runner. ``close()`` leaves nothing behind."""

    def __init__(
        self,
        lesson: Lesson,
        home: Path,
        lang: str,
        on_event: Callable[[Any], None],
        checks: list[Any] | None,
    ) -> None:
        from lab.lesson.runner import Runner
        from lab.safety.journal import Journal

        self.lesson = lesson
        self.journal = Journal.open(home)
        try:
            self.runner = Runner(lesson, self.journal, lang, on_event, checks)
        except BaseException:
            self.journal.close()
            raise
        self.closed = False

    def close(self) -> None:
        """Clean up the lesson (runner.finish) and drop the journal. Idempotent."""
        if self.closed:
            return
        self.closed = True
        try:
            self.runner.finish()
        finally:
            self.journal.close()
