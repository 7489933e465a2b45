"""Build model objects (``Lesson``, ``Step``, ``Action``) from a lesson folder.

    load_lesson(folder, lang)  -> (Lesson | None, problems)

``lesson.md`` is the lesson; ``lesson.<lang>.md`` (today: ``lesson.ja.md``) adds
its translated prose into ``i18n[lang]``. Nothing here raises on what an author
wrote: the problems come back with the (possibly partial) lesson, and the lesson
is None only when lesson.md cannot be read at all. Problems about meaning (views,
checks, variables, requirements, freshness of translations) are ``lint``'s job.
"""

from __future__ import annotations

import math
import re
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.lesson.model import LANGS, Action, Lesson, Problem, Step
from lab.lesson.parse import Fence, Parsed, Section, parse

LESSON_FILE = "lesson.md"
FRONT_KEYS: dict[str, type] = {
    "title": str,
    "summary": str,
    "slides": str,
    "part": str,
    "requires": list,
    "id": str,
}
TRANSLATION_FRONT_KEYS = ("title", "summary")
STEP_ATTRS = ("requires", "timeout")
_TOML_WHERE = re.compile(r"\s*\(at (?:line (\d+), column \d+|end of document)\)\s*$")


def translation_file(folder: Path, lang: str) -> Path:
    return folder / (LESSON_FILE if lang == "en" else f"lesson.{lang}.md")


def read_text(path: Path) -> tuple[str | None, list[Problem]]:
    """The file's text, or None and one problem (unreadable, binary, not UTF-8)."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        return None, [Problem(path, 1, "file not found")]
    except IsADirectoryError:
        return None, [Problem(path, 1, "is a directory, not a lesson file")]
    except OSError as e:
        return None, [Problem(path, 1, f"cannot read the file: {e.strerror or e}")]
    if b"\0" in data:
        line = data[: data.index(b"\0")].count(b"\n") + 1
        return None, [Problem(path, line, "binary file (NUL byte): a lesson file is UTF-8 text")]
    try:
        return data.decode("utf-8"), []
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return None, [
            Problem(
                path, line, f"not UTF-8 text (byte 0x{data[e.start]:02x}): save the file as UTF-8"
            )
        ]


def parse_params(fence: Fence, path: Path) -> tuple[dict[str, Any], list[Problem]]:
    """A view's or check's TOML body as a dict."""
    if not fence.body.strip():
        return {}, []
    try:
        return tomllib.loads(fence.body), []
    except tomllib.TOMLDecodeError as e:
        msg = str(e)
        where = _TOML_WHERE.search(msg)
        line = fence.line + 1
        if where:
            msg = msg[: where.start()]
            n = fence.body.count("\n") + 1
            line = fence.body_line(int(where.group(1)) - 1 if where.group(1) else n - 1)
        return {}, [Problem(path, line, f"```{fence.kind} parameters are not valid TOML: {msg}")]
    except Exception as e:
        return {}, [Problem(path, fence.line, f"```{fence.kind} parameters cannot be read: {e}")]


def check_expect(value: str) -> str:
    """'' when *value* is a valid expected exit status, else what is wrong."""
    if value == "any":
        return ""
    if not re.fullmatch(r"\d{1,3}", value) or int(value) > 255:
        return f"expect={value!r} is not an exit status: use a number 0-255 or 'any'"
    return ""


def parse_timeout(value: str) -> tuple[float | None, str]:
    try:
        t = float(value)
    except ValueError:
        return None, f"timeout={value!r} is not a number of seconds"
    if not math.isfinite(t) or t <= 0:
        return None, f"timeout={value!r} must be a positive number of seconds"
    return t, ""


def build_action(fence: Fence, path: Path) -> tuple[Action, list[Problem]]:
    problems: list[Problem] = []
    attrs = dict(fence.attrs)
    if "expect" in attrs and (why := check_expect(attrs["expect"])):
        problems.append(Problem(path, fence.line, why))
        del attrs["expect"]
    if "timeout" in attrs:
        _, why = parse_timeout(attrs["timeout"])
        if why:
            problems.append(Problem(path, fence.line, why))
            del attrs["timeout"]
    action = Action(kind=fence.kind, body=fence.body, line=fence.line, name=fence.name, attrs=attrs)
    if fence.kind in ("view", "check", "op", "predict"):
        action.params, more = parse_params(fence, path)
        problems += more
    return action, problems


def split_list(value: str) -> list[str]:
    return [p.strip() for p in value.split(",") if p.strip()]


def build_step(section: Section, path: Path) -> tuple[Step, list[Problem]]:
    assert section.heading is not None
    h = section.heading
    problems: list[Problem] = []
    step = Step(id=h.id, title=h.title, line=h.line, text=section.text)
    step.requires = split_list(h.attrs.get("requires", ""))
    if "timeout" in h.attrs:
        step.timeout, why = parse_timeout(h.attrs["timeout"])
        if why:
            problems.append(Problem(path, h.line, why))
    for fence in section.fences:
        action, more = build_action(fence, path)
        step.actions.append(action)
        problems += more
    return step, problems


def _front_str(parsed: Parsed, key: str) -> str:
    v = parsed.front.get(key)
    return v if isinstance(v, str) else ""


def build_lesson(parsed: Parsed, folder: Path) -> tuple[Lesson, list[Problem]]:
    problems: list[Problem] = []
    front = parsed.front
    requires = front.get("requires", [])
    lesson = Lesson(
        id=folder.name,
        path=folder,
        title=_front_str(parsed, "title") or folder.name,
        summary=_front_str(parsed, "summary"),
        slides=_front_str(parsed, "slides"),
        part=_front_str(parsed, "part"),
        requires=[r for r in requires if isinstance(r, str)] if isinstance(requires, list) else [],
        intro=parsed.intro.text,
    )
    for section in parsed.steps:
        step, more = build_step(section, parsed.path)
        lesson.steps.append(step)
        problems += more
    return lesson, problems


def apply_translation(lesson: Lesson, parsed: Parsed, lang: str) -> list[Problem]:
    """Put *parsed* (lesson.<lang>.md) into lesson.i18n / step.i18n; ids must match."""
    problems: list[Problem] = []
    entry: dict[str, Any] = {"intro": parsed.intro.text}
    for key in TRANSLATION_FRONT_KEYS:
        if isinstance(parsed.front.get(key), str):
            entry[key] = parsed.front[key]
    lesson.i18n[lang] = entry
    for section in parsed.steps:
        h = section.heading
        assert h is not None
        step = lesson.step(h.id) if h.id else None
        if step is None:
            if h.id:
                problems.append(
                    Problem(
                        parsed.path,
                        h.line,
                        f"step {h.id!r} is not in lesson.md (step ids must match the English file)",
                    )
                )
            continue
        if lang in step.i18n:
            continue  # duplicate id: lint reports it
        step.i18n[lang] = {
            "title": h.title,
            "text": section.text,
            "try": "\n".join(f.body for f in section.fences if f.kind == "try"),
            "hints": [f.body for f in section.fences if f.kind == "hint"],
            "src": h.attrs.get("src", ""),
            "line": h.line,
        }
    return problems


def parse_file(path: Path) -> tuple[Parsed | None, list[Problem]]:
    text, problems = read_text(path)
    if text is None:
        return None, problems
    parsed = parse(text, path)
    return parsed, parsed.problems


@dataclass
class Loaded:
    """Everything loading found: the lesson, its problems, and the parsed files (for lint)."""

    lesson: Lesson | None
    problems: list[Problem] = field(default_factory=list)
    parsed: Parsed | None = None
    translations: dict[str, Parsed] = field(default_factory=dict)


def load(folder: Path) -> Loaded:
    """Load lesson.md and every lesson.<lang>.md present in *folder*."""
    folder = folder.parent if folder.name.endswith(".md") else folder
    parsed, problems = parse_file(folder / LESSON_FILE)
    if parsed is None:
        if not folder.is_dir():
            return Loaded(None, [Problem(folder, 1, "no such lesson folder")])
        if not (folder / LESSON_FILE).exists():
            return Loaded(
                None, [Problem(folder, 1, f"not a lesson: the folder has no {LESSON_FILE}")]
            )
        return Loaded(None, problems)
    lesson, more = build_lesson(parsed, folder)
    out = Loaded(lesson, problems + more, parsed)
    for lang in LANGS:
        tpath = translation_file(folder, lang)
        if lang == "en" or not tpath.exists():
            continue
        tparsed, tproblems = parse_file(tpath)
        out.problems += tproblems
        if tparsed is not None:
            out.translations[lang] = tparsed
            out.problems += apply_translation(lesson, tparsed, lang)
    return out


def load_lesson(folder: Path, lang: str = "en") -> tuple[Lesson | None, list[Problem]]:
    """Load the lesson in *folder* (or the folder of a lesson.md) with every translation present.

    *lang* is the language the caller will show; all translations are loaded
    either way (the app switches language live), and a missing one falls back to
    English through the model's ``*_in(lang)`` helpers.
    """
    loaded = load(folder)
    return loaded.lesson, loaded.problems
