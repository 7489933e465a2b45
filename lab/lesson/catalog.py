"""Where lessons live, and finding one by its id or number.

bundled_dir()          $SHIKUMI_LESSONS, else <repo>/lessons
find(dirs)             lesson folders (those holding lesson.md), sorted by id
resolve(name, dirs)    "05-libraries", "05" or "5" -> the folder (LabError if unknown/ambiguous)
load_all(dirs, lang)   every lesson, with its problems
part_name(part, lang)  a course part's name in *lang* (parts.toml beside the lessons)
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import lab
from lab.errors import LabError
from lab.lesson.loader import LESSON_FILE, load_lesson
from lab.lesson.model import Lesson, Problem


def bundled_dir() -> Path:
    env = os.environ.get("SHIKUMI_LESSONS")
    if env:
        return Path(env).expanduser()
    return Path(lab.__file__).resolve().parent.parent / "lessons"


def _dirs(dirs: Iterable[Path] | None) -> list[Path]:
    return [bundled_dir()] if dirs is None else [Path(d) for d in dirs]


def find(dirs: Iterable[Path] | None = None) -> list[Path]:
    """Lesson folders under *dirs* (default: the bundled dir), sorted by id."""
    found: dict[str, Path] = {}
    for d in _dirs(dirs):
        if (d / LESSON_FILE).is_file():  # a lesson folder named directly
            found.setdefault(d.name, d)
            continue
        try:
            children = list(d.iterdir())
        except OSError:
            continue
        for child in children:
            if (child / LESSON_FILE).is_file():
                found.setdefault(child.name, child)
    return [found[k] for k in sorted(found)]


def _number(lesson_id: str) -> str:
    return lesson_id.split("-", 1)[0]


def resolve(name: str, dirs: Iterable[Path] | None = None) -> Path:
    """The folder of lesson *name*: its id, its number prefix ("05"), or the number ("5")."""
    dirs = _dirs(dirs)
    path = Path(name)
    if (path / LESSON_FILE).is_file() and (os.sep in name or name.startswith(".")):
        return path  # a path to a lesson folder the user names
    folders = find(dirs)
    ids = [f.name for f in folders]
    exact = [f for f in folders if f.name == name]
    if exact:
        return exact[0]
    matches = [f for f in folders if _number(f.name) == name]
    if not matches and name.isdigit():
        matches = [
            f for f in folders if _number(f.name).isdigit() and int(_number(f.name)) == int(name)
        ]
    if not matches and name and not name.isdigit():
        matches = [f for f in folders if f.name.startswith(name)]
    if len(matches) == 1:
        return matches[0]
    where = ", ".join(str(d) for d in dirs)
    if not matches:
        known = ", ".join(ids) if ids else f"none found in {where}"
        raise LabError(f"no lesson {name!r}", f"known lessons: {known}")
    raise LabError(
        f"{name!r} names more than one lesson: {', '.join(m.name for m in matches)}",
        "give the full id",
    )


def load_all(
    dirs: Iterable[Path] | None = None, lang: str = "en"
) -> list[tuple[Path, Lesson | None, list[Problem]]]:
    """Every lesson under *dirs*: (folder, lesson or None, problems)."""
    out: list[tuple[Path, Lesson | None, list[Problem]]] = []
    for folder in find(dirs):
        lesson, problems = load_lesson(folder, lang)
        out.append((folder, lesson, problems))
    return out


PARTS_FILE = "parts.toml"


@lru_cache(maxsize=16)
def _parts(folder: Path) -> dict[str, dict[str, str]]:
    """{part: {lang: name}} from *folder*/parts.toml ({} when absent or unreadable)."""
    try:
        with open(folder / PARTS_FILE, "rb") as f:
            data = tomllib.load(f)
    except (OSError, tomllib.TOMLDecodeError):
        return {}
    return {
        str(part): {str(k): str(v) for k, v in names.items() if isinstance(v, str)}
        for part, names in data.items()
        if isinstance(names, dict)
    }


def part_name(part: str, lang: str, dirs: Iterable[Path] | None = None) -> str:
    """*part* in *lang*: from the parts.toml of *dirs* (then the bundled one); else *part*."""
    for folder in [*(Path(d) for d in dirs or ()), bundled_dir()]:
        name = _parts(folder.resolve()).get(part, {}).get(lang)
        if name:
            return name
    return part
