"""The lesson linter: every mistake an author can make, as ``path:line: message``.

    lint(paths, registry=None) -> list[Problem]

A path is a lesson folder, a folder of lesson folders, or a lesson file. Nothing
an author writes makes it raise: each lesson is linted inside a guard, and a bug
here becomes the problem "internal linter error: …" on that lesson.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.lesson.i18n import step_hash
from lab.lesson.lint_registry import Param, Registry
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
from lab.lesson.model import ACTION_KINDS, LANGS, Action, Lesson, Problem
from lab.lesson.parse import Fence, Parsed, Section


def _gives_out(op: str | None) -> bool:
    """Operations that set {{out.STEP}} (cgroup: its directory; runtime.start: the pid)."""
    from lab.lesson import operations

    if not op or op not in operations.names():
        return False
    return bool(getattr(operations.get(op), "GIVES_OUT", False))


# attributes each action kind takes after its kind (and name)
ACTION_ATTRS: dict[str, tuple[str, ...]] = {
    "run": ("expect", "timeout", "in"),
    "spawn": ("name", "in"),
    "op": (),
    "view": (),
    "check": (),
    "try": ("in",),
    "hint": (),
    "solution": ("expect", "timeout", "in"),
    "cleanup": ("timeout", "in"),
}
NEEDS_BODY = ("run", "spawn", "try", "hint", "solution", "cleanup")
HAS_VARIABLES = ("run", "spawn", "op", "solution", "cleanup", "try", "view", "check")
TRANSLATED_KINDS = ("try", "hint")
PLAIN_VARIABLES = ("home", "work", "lesson", "assets")
# check/view parameters that name a process (a pid, "self", "host" or a spawned name)
PID_PARAMS = ("a", "b", "in", "pid", "highlight", "left_in", "right_in")
STEP_PARAMS = ("of",)  # parameters that name a step
ID_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
NAME_RE = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]*")
_VAR = re.compile(r"\{\{(.*?)\}\}")
_STRAY_HEADING = re.compile(r"^ {0,3}(#|###+)\s.*\{#[^}]*\}\s*$")
# words of prose fences that are close to an action kind but are not typos
LANGUAGE_WORDS = {"ron", "rust", "ruby", "py", "rs", "vim", "tsx", "bun", "chuck", "view3d"}


def suggest(word: str, choices: Iterable[str]) -> str:
    close = difflib.get_close_matches(word, list(choices), n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def distance(a: str, b: str) -> int:
    """Edit distance counting a swap of neighbours as one edit."""
    d = [[0] * (len(b) + 1) for _ in range(len(a) + 1)]
    for i in range(len(a) + 1):
        d[i][0] = i
    for j in range(len(b) + 1):
        d[0][j] = j
    for i in range(1, len(a) + 1):
        for j in range(1, len(b) + 1):
            cost = a[i - 1] != b[j - 1]
            d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
            if i > 1 and j > 1 and a[i - 1] == b[j - 2] and a[i - 2] == b[j - 1]:
                d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
    return d[-1][-1]


def looks_like_kind(word: str) -> str:
    """The action kind *word* is probably a typo of ('' if none)."""
    w = word.lower()
    if not w or w in LANGUAGE_WORDS or len(w) > 12:
        return ""
    if w in ACTION_KINDS:
        return w  # wrong case: ```Run
    best = min(ACTION_KINDS, key=lambda k: distance(w, k))
    d = distance(w, best)
    if (d == 1 and len(w) >= 3) or (d == 2 and len(w) >= 5 and len(best) >= 5):
        return best
    return ""


@dataclass
class _Scope:
    """What exists at a point of the lesson: spawned names and steps already run."""

    spawns: dict[str, int] = field(default_factory=dict)  # name -> line of its spawn
    all_spawns: dict[str, int] = field(default_factory=dict)
    steps: list[str] = field(default_factory=list)  # ids of earlier steps
    all_steps: set[str] = field(default_factory=set)
    step: str = ""  # the current step id
    ran: bool = False  # the current step ran a command before this point


class _LessonLinter:
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
            if step.id:
                scope.steps.append(step.id)

    def action(self, f: Fence, a: Action, scope: _Scope) -> None:
        kind = f.kind
        for w in f.extra_words:
            self.add(f.line, f"```{kind}: unexpected word {w!r} (attributes are key=value)")
        allowed = ACTION_ATTRS[kind]
        for key in f.attrs:
            if key not in allowed:
                known = f"known: {', '.join(allowed)}" if allowed else "it takes none"
                self.add(
                    f.line, f"```{kind}: unknown attribute {key}={suggest(key, allowed)} ({known})"
                )
        if kind in NEEDS_BODY and not f.body.strip():
            self.add(f.line, f"```{kind} is empty")
        if "in" in f.attrs and "in" in allowed:
            self.process_name(f.attrs["in"], f.line, scope, f"```{kind} in=")
        if kind == "spawn":
            self.spawn(f, scope)
        elif kind in ("view", "check", "op"):
            self.named(f, a, scope)
        if kind in HAS_VARIABLES:
            cleanup = kind == "cleanup"
            self.variables(f, scope, cleanup)
        if kind in ("run", "solution") or (kind == "op" and _gives_out(f.name)):
            scope.ran = True

    def spawn(self, f: Fence, scope: _Scope) -> None:
        name = f.attrs.get("name")
        if name is None:
            self.add(f.line, "```spawn needs name=NAME (used as in=NAME and {{pid.NAME}})")
        elif not NAME_RE.fullmatch(name):
            self.add(f.line, f"spawn name {name!r} may hold only letters, digits, - and _")
        elif name in scope.spawns:
            self.add(
                f.line,
                f"duplicate spawn name {name!r} (first spawned at line {scope.spawns[name]})",
            )
        else:
            scope.spawns[name] = f.line

    def process_name(self, value: str, line: int, scope: _Scope, what: str) -> None:
        name = value[4:] if value.startswith("pid.") else value
        if not value or name in scope.spawns or value in ("self", "host") or value.isdigit():
            return
        if _VAR.fullmatch(value):
            return  # a variable: checked with the others
        later = scope.all_spawns.get(name)
        where = f" (it is spawned later, at line {later})" if later else suggest(name, scope.spawns)
        self.add(line, f"{what}{value}: no process named {name!r} is spawned before this{where}")

    def named(self, f: Fence, a: Action, scope: _Scope) -> None:
        kind = f.kind
        table = {"view": self.reg.views, "check": self.reg.checks, "op": self.reg.ops}[kind]
        example = {"view": "```view tree", "check": "```check path-exists", "op": "```op rootfs"}[
            kind
        ]
        what = {"view": "view", "check": "check kind", "op": "operation"}[kind]
        if not f.name:
            known = f" (known: {', '.join(sorted(table))})" if table else ""
            self.add(f.line, f"```{kind} needs a {what} after it, like {example}{known}")
            return
        if table is None:
            return
        if f.name not in table:
            self.add(
                f.line,
                f"unknown {what} {f.name!r}{suggest(f.name, table)} (known: {', '.join(sorted(table))})",
            )
            return
        if not self._params_broken(f):
            self.check_params(f, table[f.name], a.params, scope)

    def _params_broken(self, f: Fence) -> bool:
        return any(
            p.path == self.path and f.line <= p.line <= f.end and "not valid TOML" in p.message
            for p in self.loaded.problems
        )

    def check_params(
        self, f: Fence, spec: dict[str, Param], params: dict[str, Any], scope: _Scope
    ) -> None:
        label = f"```{f.kind} {f.name}"
        for key, param in spec.items():
            if param.required and key not in params:
                self.add(f.line, f"{label}: missing parameter {key!r} ({param.describe()})")
        one = self.reg.one_of.get(f.name) if f.kind == "check" else None
        if one and not any(params.get(k) for k in one):
            self.add(f.line, f"{label}: needs one of: {', '.join(one)}")
        for key, value in params.items():
            line = self.param_line(f, key)
            param = spec.get(key)
            if param is None:
                self.add(
                    line,
                    f"{label}: unknown parameter {key!r}{suggest(key, spec)} (known: {', '.join(sorted(spec))})",
                )
                continue
            why = param.problem(value)
            if why:
                self.add(line, f"{label}: {key} {why}")
            elif key in PID_PARAMS and isinstance(value, str):
                self.process_name(value, line, scope, f"{label}: {key} = ")
            elif (
                key in STEP_PARAMS
                and isinstance(value, str)
                and value
                and value not in scope.steps
                and value != scope.step
                and "{{" not in value
            ):
                self.add(
                    line,
                    f"{label}: {key} = {value!r} is not an earlier step{suggest(value, scope.steps)}",
                )

    @staticmethod
    def param_line(f: Fence, key: str) -> int:
        pat = re.compile(rf"^\s*[\"']?{re.escape(key)}[\"']?\s*=")
        for i, ln in enumerate(f.body.split("\n")):
            if pat.match(ln):
                return f.body_line(i)
        return f.line

    def variables(self, f: Fence, scope: _Scope, cleanup: bool) -> None:
        for i, ln in enumerate(f.body.split("\n")):
            line = f.body_line(i)
            for m in _VAR.finditer(ln):
                self.variable(m.group(1).strip(), line, scope, cleanup)
            rest = _VAR.sub("", ln)
            if "{{" in rest:
                self.add(line, "'{{' is not closed with '}}' (variables are written {{name}})")

    def variable(self, name: str, line: int, scope: _Scope, cleanup: bool) -> None:
        if name in PLAIN_VARIABLES:
            return
        head, _, rest = name.partition(".")
        if head == "pid" and NAME_RE.fullmatch(rest):
            spawns = scope.all_spawns if cleanup else scope.spawns
            if rest not in spawns:
                later = scope.all_spawns.get(rest)
                why = f"it is spawned later, at line {later}" if later else "no spawn has that name"
                self.add(
                    line,
                    f"{{{{{name}}}}}: no process named {rest!r} is spawned before this ({why}){suggest(rest, scope.spawns)}",
                )
            return
        if head == "out" and ID_RE.fullmatch(rest):
            if (cleanup and rest in scope.all_steps) or rest in scope.steps:
                return
            if rest == scope.step and scope.ran:
                return
            if rest == scope.step:
                self.add(
                    line, f"{{{{{name}}}}}: step {rest!r} has not run a command before this point"
                )
            elif rest in scope.all_steps:
                self.add(
                    line,
                    f"{{{{{name}}}}}: step {rest!r} comes later; only earlier steps have output",
                )
            else:
                self.add(
                    line,
                    f"{{{{{name}}}}}: there is no step {rest!r}{suggest(rest, scope.all_steps)}",
                )
            return
        known = ", ".join([*PLAIN_VARIABLES, "pid.NAME", "out.STEP"])
        self.add(
            line,
            f"unknown variable {{{{{name}}}}}{suggest(name, PLAIN_VARIABLES)} (known: {known})",
        )

    # -- translations -------------------------------------------------------------

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
