"""The linter's checks of one fence: its action, parameters, names and variables.

A mixin of the lesson linter (``lint._LessonLinter``); the words and scopes it
shares with the rest of the linter are here too.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from lab.lesson.lint_registry import Param, Registry
from lab.lesson.model import ACTION_KINDS, Action, Step
from lab.lesson.parse import Fence


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
    "predict": (),
}
OUTPUT_CHECKS = ("output-matches", "exit-status")  # checks that read only what was printed
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


class ActionChecks:
    """Checks of one fence (mixed into the lesson linter, which provides ``add``,
    ``reg``, ``lesson`` and ``path``)."""

    reg: Registry
    add: Callable[..., None]  # (line, message, severity="error", path=None)

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
        if kind == "predict" and not self._params_broken(f):
            from lab.lesson import predict

            for why in predict.problems(a.params):
                self.add(f.line, f"```predict: {why}")
        if kind == "spawn":
            self.spawn(f, scope)
        elif kind in ("view", "check", "op"):
            self.named(f, a, scope)
        if kind in HAS_VARIABLES:
            cleanup = kind == "cleanup"
            self.variables(f, scope, cleanup)
        if kind in ("run", "solution") or (kind == "op" and _gives_out(f.name)):
            scope.ran = True

    def try_checks(self, step: Step) -> None:
        """A try needs checks of the world: one that only reads output can be passed by
        typing (an error message echoes what was typed), and one with no check or no
        solution cannot be verified by the solve gate (`play --verify-tries`)."""
        tries = step.of("try")
        if not tries:
            return
        line = tries[0].line
        kinds = [c.name for c in step.of("check")]
        if not kinds:
            self.add(line, f"try step {step.id!r} has no check: nothing says the learner did it")
        elif all(k in OUTPUT_CHECKS for k in kinds):
            self.add(
                line,
                f"the checks of try step {step.id!r} only read output ({', '.join(sorted(set(kinds)))}):"
                " a learner can pass them by typing; add a check of the world"
                " (a path, a mount, a namespace, a command that reads state)",
                "warning",
            )
        if not step.of("solution"):
            self.add(line, f"try step {step.id!r} has no solution: the solve gate cannot verify it")

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
        if f.kind == "view":
            self.view_japanese(f, spec, params, label)
        patterned = "pattern" in params or (f.name == "proc-status" and "cmdline" in params)
        if f.kind == "check" and patterned and "says" in spec:  # never the pattern
            for key in ("says", "says_ja"):
                if not params.get(key):
                    self.add(
                        self.param_line(f, "pattern" if "pattern" in params else "cmdline"),
                        f'{label}: a check with a pattern needs {key} = "…": what the '
                        "pattern looks for, in words (the learner is shown that, never the pattern)",
                    )
        if f.kind == "check" and bool(params.get("hint")) != bool(params.get("hint_ja")):
            given = "hint" if params.get("hint") else "hint_ja"
            other = "hint_ja" if given == "hint" else "hint"
            self.add(
                self.param_line(f, given),
                f"{label}: {given} without {other}: a check's hint is given in both languages",
            )
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

    def view_japanese(
        self, f: Fence, spec: dict[str, Param], params: dict[str, Any], label: str
    ) -> None:
        """A view's title or labels given in English only would stay English on a
        Japanese screen: each ``X`` the view can take as ``X_ja`` too needs it."""
        for key in params:
            if f"{key}_ja" in spec and f"{key}_ja" not in params:
                self.add(self.param_line(f, key), f"{label}: {key} needs {key}_ja (Japanese)")
        for col in params.get("columns") or []:
            if isinstance(col, dict) and col.get("label") and not col.get("label_ja"):
                self.add(
                    self.param_line(f, "columns"),
                    f"{label}: the column {col['label']!r} needs label_ja (Japanese)",
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
