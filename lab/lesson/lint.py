"""The lesson linter: every mistake an author can make, as ``path:line: message``.

    lint(paths, registry=None) -> list[Problem]

A path is a lesson folder, a folder of lesson folders, or a lesson file. Nothing
an author writes makes it raise: each lesson is linted inside a guard, and a bug
here becomes the problem "internal linter error: …" on that lesson.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lab.lesson.i18n import step_hash
from lab.lesson.lint_actions import (
    _STRAY_HEADING,
    ACTION_ATTRS,
    ID_RE,
    TRANSLATED_KINDS,
    ActionChecks,
    _Scope,
    looks_like_kind,
    suggest,
)
from lab.lesson.lint_registry import Registry
from lab.lesson.loader import (
    FRONT_KEYS,
    LESSON_FILE,
    STEP_ATTRS,
    TRANSLATION_FRONT_KEYS,
    Loaded,
    build_lesson,
    load,
    parse_file,
    translation_file,
)
from lab.lesson.model import ACTION_KINDS, LANGS, Lesson, Problem
from lab.lesson.parse import Parsed, Section


class _LessonLinter(ActionChecks):
    def __init__(self, loaded: Loaded, registry: Registry, folder_lesson: bool) -> None:
        assert loaded.lesson is not None and loaded.parsed is not None
        self.lesson: Lesson = loaded.lesson
        self.parsed: Parsed = loaded.parsed
        self.loaded = loaded
        self.reg = registry
        self.folder_lesson = folder_lesson
        self.path = self.parsed.path
        self.problems: list[Problem] = list(loaded.problems)

    def add(
        self, line: int, message: str, severity: str = "error", path: Path | None = None
    ) -> None:
        self.problems.append(Problem(path or self.path, line, message, severity))  # type: ignore[arg-type]

    # -- the whole lesson -------------------------------------------------------

    def run(self) -> list[Problem]:
        self.front()
        self.stray_headings()
        for f in self.parsed.intro.fences:
            self.add(
                f.line,
                f"```{f.kind} outside a step: put it under a step heading '## Title {{#id}}'",
            )
        self.typo_fences(self.parsed.intro)
        if not self.parsed.steps:
            line = self.parsed.front_end or 1
            self.add(
                max(line, 1), "no steps: a lesson needs at least one step heading '## Title {#id}'"
            )
        self.steps()
        if self.folder_lesson:
            self.translations()
        return self.problems

    def front(self) -> None:
        p = self.parsed
        if not p.front_ok:
            return
        front = p.front
        if "title" not in front:
            self.add(p.front_line, 'front matter has no title (add: title = "…")')
        for key, value in front.items():
            want = FRONT_KEYS.get(key)
            if want is None:
                self.add(
                    p.key_line(key),
                    f"unknown front-matter key {key!r}{suggest(key, FRONT_KEYS)} (known: {', '.join(FRONT_KEYS)})",
                    "warning",
                )
            elif not isinstance(value, want):
                what = "a list of strings" if want is list else "a string"
                self.add(p.key_line(key), f"front matter: {key} should be {what}")
            elif key == "title" and not value.strip():
                self.add(p.key_line(key), "front matter: title is empty")
        reqs = front.get("requires")
        if isinstance(reqs, list):
            for r in reqs:
                if not isinstance(r, str):
                    self.add(
                        p.key_line("requires"), f"front matter: requires holds {r!r}, not a string"
                    )
                else:
                    self.requirement(r, p.key_line("requires"))
        fid = front.get("id")
        if self.folder_lesson and isinstance(fid, str) and fid != self.lesson.id:
            self.add(
                p.key_line("id"),
                f"front matter id {fid!r} does not match the folder name {self.lesson.id!r}",
            )

    def requirement(self, name: str, line: int) -> None:
        known = self.reg.requirements
        if known is not None and name not in known:
            self.add(
                line,
                f"unknown requirement {name!r}{suggest(name, known)} (shikumi doctor knows: {', '.join(sorted(known))})",
            )

    def stray_headings(self) -> None:
        """`# T {#id}` / `### T {#id}`: meant to be a step, but only `##` makes one."""
        in_fence = self._fence_lines(self.parsed)
        for i, ln in enumerate(self.parsed.lines):
            if i + 1 in in_fence or i + 1 <= self.parsed.front_end:
                continue
            if _STRAY_HEADING.match(ln):
                level = len(ln.lstrip().split()[0])
                self.add(
                    i + 1,
                    f"a step heading is level 2 ('## Title {{#id}}'); this level-{level} heading is not a step",
                )

    @staticmethod
    def _fence_lines(parsed: Parsed) -> set[int]:
        out: set[int] = set()
        for sec in [parsed.intro, *parsed.steps]:
            for f in [*sec.fences, *sec.prose_fences]:
                out.update(range(f.line, f.end + 1))
        return out

    def typo_fences(self, section: Section) -> None:
        for f in section.prose_fences:
            word = f.info.split(None, 1)[0] if f.info else ""
            kind = looks_like_kind(word)
            action_keys = sorted({k for k in f.attrs if any(k in a for a in ACTION_ATTRS.values())})
            if kind:
                self.add(
                    f.line,
                    f"unknown fence kind {word!r} (did you mean ```{kind}? other words make the fence plain text)",
                )
            elif action_keys:
                keys = ", ".join(f"{k}=" for k in action_keys)
                self.add(
                    f.line,
                    f"```{word or '(no kind)'} has {keys} but is not an action: only {', '.join(ACTION_KINDS)} take attributes",
                )

    # -- steps ------------------------------------------------------------------

    def steps(self) -> None:
        scope = _Scope()
        seen: dict[str, int] = {}
        scope.all_steps = {s.id for s in self.lesson.steps if s.id}
        for sec in self.parsed.steps:
            for f in sec.fences:
                if f.kind == "spawn" and f.attrs.get("name"):
                    scope.all_spawns.setdefault(f.attrs["name"], f.line)
        for sec, step in zip(self.parsed.steps, self.lesson.steps, strict=False):
            h = sec.heading
            assert h is not None
            if not h.id:
                self.add(h.line, f"step {h.title!r} has no id: end the heading with {{#some-id}}")
            elif not ID_RE.fullmatch(h.id):
                self.add(h.line, f"step id {h.id!r} may hold only letters, digits, - and _")
            elif h.id in seen:
                self.add(h.line, f"duplicate step id {h.id!r} (first used at line {seen[h.id]})")
            else:
                seen[h.id] = h.line
            if not h.title:
                self.add(h.line, "step heading has no title")
            for key in h.attrs:
                if key not in STEP_ATTRS:
                    self.add(
                        h.line,
                        f"unknown step attribute {key}={suggest(key, STEP_ATTRS)} (known: {', '.join(STEP_ATTRS)})",
                    )
            for r in step.requires:
                self.requirement(r, h.line)
            if not sec.text.strip() and not sec.fences:
                self.add(h.line, f"step {h.id or h.title!r} is empty", "warning")
            scope.step, scope.ran = step.id, False
            for f, a in zip(sec.fences, step.actions, strict=False):
                if f.closed:
                    self.action(f, a, scope)
            self.typo_fences(sec)
            self.try_checks(step)
            if step.id:
                scope.steps.append(step.id)

    def translations(self) -> None:
        folder = self.lesson.path
        for lang in LANGS:
            if lang == "en":
                continue
            tpath = translation_file(folder, lang)
            parsed = self.loaded.translations.get(lang)
            if not tpath.exists():
                self.add(
                    1, f"no {tpath.name}: learners who read {lang} see the English text", "warning"
                )
                continue
            if parsed is None:
                continue  # unreadable: the loader said why
            self.translation(lang, parsed)

    def translation(self, lang: str, parsed: Parsed) -> None:
        tp = parsed.path
        if parsed.front_ok:
            if "title" not in parsed.front:
                self.add(
                    parsed.front_line,
                    "front matter has no title; the English one is shown",
                    "warning",
                    tp,
                )
            for key, value in parsed.front.items():
                if key not in TRANSLATION_FRONT_KEYS:
                    self.add(
                        parsed.key_line(key),
                        f"{key!r} is not translated (a translation's front matter holds only {', '.join(TRANSLATION_FRONT_KEYS)}); it is ignored",
                        "warning",
                        tp,
                    )
                elif not isinstance(value, str):
                    self.add(
                        parsed.key_line(key), f"front matter: {key} should be a string", "error", tp
                    )
        for f in parsed.intro.fences:
            self.add(f.line, f"```{f.kind} outside a step", "error", tp)
        seen: dict[str, int] = {}
        for sec in parsed.steps:
            h = sec.heading
            assert h is not None
            for f in sec.fences:
                if f.kind not in TRANSLATED_KINDS:
                    self.add(
                        f.line,
                        f"```{f.kind} in a translation is ignored: commands, views and checks live in {LESSON_FILE}",
                        "warning",
                        tp,
                    )
            if not h.id:
                self.add(
                    h.line,
                    f"translated step {h.title!r} has no id: end the heading with {{#id src=HASH}} matching {LESSON_FILE}",
                    "error",
                    tp,
                )
                continue
            if h.id in seen:
                self.add(
                    h.line,
                    f"duplicate step id {h.id!r} (first used at line {seen[h.id]})",
                    "error",
                    tp,
                )
                continue
            seen[h.id] = h.line
            for key in h.attrs:
                if key != "src":
                    self.add(
                        h.line,
                        f"attribute {key}= is ignored in a translation (only src=HASH)",
                        "warning",
                        tp,
                    )
            step = self.lesson.step(h.id)
            if step is None:
                continue  # the loader reported it
            want = step_hash(step)
            src = h.attrs.get("src")
            if not src:
                self.add(
                    h.line,
                    f"translated step {h.id!r} has no src= hash: add src={want} (the hash of the English it translates)",
                    "error",
                    tp,
                )
            elif src != want:
                self.add(
                    h.line,
                    f"translation of step {h.id!r} is stale: the English changed (line {step.line}); update the text, then set src={want}",
                    "error",
                    tp,
                )
        for step in self.lesson.steps:
            if step.id and step.id not in seen:
                self.add(
                    step.line,
                    f"step {step.id!r} has no translation in {tp.name}: learners see the English",
                    "warning",
                )


def _guarded(path: Path, fn: Any) -> list[Problem]:
    try:
        return fn()
    except Exception as e:  # a linter bug must not hide the other lessons' problems
        return [Problem(path, 1, f"internal linter error: {type(e).__name__}: {e}")]


def lint_folder(folder: Path, registry: Registry) -> list[Problem]:
    loaded = load(folder)
    if loaded.lesson is None or loaded.parsed is None:
        return loaded.problems
    return _LessonLinter(loaded, registry, folder_lesson=True).run()


def lint_file(path: Path, registry: Registry) -> list[Problem]:
    """A lesson file that is not a folder's lesson.md (no translations, no id check)."""
    parsed, problems = parse_file(path)
    if parsed is None:
        return problems
    lesson, more = build_lesson(parsed, path.parent)
    loaded = Loaded(lesson, problems + more, parsed)
    return _LessonLinter(loaded, registry, folder_lesson=False).run()


def targets(path: Path) -> list[tuple[str, Path]]:
    """What to lint for *path*: ("folder", lesson folder) or ("file", file), or ("missing", path)."""
    if path.is_dir():
        if (path / LESSON_FILE).exists():
            return [("folder", path)]
        subs = sorted(p for p in _children(path) if (p / LESSON_FILE).exists())
        return [("folder", p) for p in subs] or [("no-lesson", path)]
    if path.name == LESSON_FILE or re.fullmatch(r"lesson\.[a-z]{2}\.md", path.name):
        return [("folder", path.parent)] if path.exists() else [("missing", path)]
    return [("file", path)] if path.exists() else [("missing", path)]


def _children(path: Path) -> list[Path]:
    try:
        return [p for p in path.iterdir() if p.is_dir()]
    except OSError:
        return []


def lint(paths: Iterable[Path | str], registry: Registry | None = None) -> list[Problem]:
    """Problems in the lessons at *paths* (each lesson once), sorted by file and line."""
    reg = registry or Registry.default()
    # a view, check or operation module that failed: an error, never a silent pass
    out: list[Problem] = [Problem(e.path, e.line, e.message) for e in reg.errors]
    done: set[Path] = set()
    for raw in paths:
        for what, path in _guarded_targets(Path(raw)):
            key = path.absolute()
            if key in done:
                continue
            done.add(key)
            if what == "folder":
                out += _guarded(path, lambda p=path: lint_folder(p, reg))
            elif what == "file":
                out += _guarded(path, lambda p=path: lint_file(p, reg))
            elif what == "no-lesson":
                out.append(
                    Problem(
                        path,
                        1,
                        f"not a lesson: the folder has no {LESSON_FILE} (nor lesson folders in it)",
                    )
                )
            else:
                out.append(Problem(path, 1, "no such file or folder"))
    return _sorted(out)


def _guarded_targets(path: Path) -> list[tuple[str, Path]]:
    try:
        return targets(path)
    except OSError:
        return [("missing", path)]


def _sorted(problems: list[Problem]) -> list[Problem]:
    unique = list(dict.fromkeys(problems))
    order = {p: i for i, p in enumerate(unique)}
    return sorted(unique, key=lambda p: (str(p.path), p.line, order[p]))


def errors(problems: Iterable[Problem]) -> list[Problem]:
    return [p for p in problems if p.severity == "error"]
