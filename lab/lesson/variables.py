"""Variables in lesson commands and parameters: ``{{home}} {{work}} {{lesson}}
{{assets}} {{pid.NAME}} {{out.STEP-ID}}``.

- ``home``: the lab home; ``work``: ``HOME/work/<lesson-id>`` (the runner creates
  it through the journal); ``lesson``: the lesson folder; ``assets``: the repo's
  ``assets/`` directory.
- ``pid.NAME``: the innermost pid of the process a ``spawn name=NAME`` started.
- ``out.STEP``: the stdout of the last run (or solution) of step STEP, stripped.

An unknown or not-yet-available variable raises ``UnknownVariable`` naming it.

In a shell command (a ``run``/``solution``/``cleanup``/``spawn`` body, a ``command``
check's ``run``, a view's ``command``: ``fill_shell``) a value is only ever plain text:
one holding anything a shell would read as code (``$ ` ; & | < > ( ) { } [ ] * ? ~ ! # '
" \\`` or a line break) is refused with ``UnsafeValue``, and the command does not run.
Quoting it instead cannot work in general: lessons put values inside quotes
(``"$(realpath {{out.x}})"``) and inside nested shells (``sh -c '… {{out.x}} …'``),
where any quoting one shell removes the next one reads as code. Prose
(``fill_known``) and other parameters are not shell and take any value.

Any output can still be used in a command, as data: every command the runner starts has
``SHIKUMI_OUT_<STEP>`` in its environment (the step id with ``-`` written ``_``; outputs
up to ``ENV_CAP`` bytes), so ``printf '%s\\n' "$SHIKUMI_OUT_load" | grep …`` reads a
multi-line output safely.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import LabError
from lab.safety.home import home_dir

PATTERN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
PLAIN = ("home", "work", "lesson", "assets")
PREFIXED = ("pid", "out")
# What a value filled into a shell command may hold: letters, digits, spaces and
# _ . / : , @ % + - (and any non-ASCII text); none of them is special to a shell.
SHELL_INERT = re.compile(r"[A-Za-z0-9_./:,@%+ \-\u0080-\U0010ffff]*")
# the parameters that are shell commands: a `command` check's `run`, the `command` of
# the output/table/compare views, diff's left_command/right_command (a list is an argv)
SHELL_KEYS = frozenset({"run", "command", "left_command", "right_command"})
ENV_PREFIX = "SHIKUMI_OUT_"
ENV_CAP = 16 * 1024  # a longer output is not put in the environment (exec limits)
SHELL_CAP = 256  # … nor one longer than this in the learner's shell (see shell_environ)
PID_PREFIX = "SHIKUMI_PID_"


def env_name(step_id: str) -> str:
    """``SHIKUMI_OUT_find_daemon`` for step ``find-daemon``."""
    return ENV_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", step_id)


ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"


class UnknownVariable(LabError):
    """A variable with no value; *words*: the whole message, said for a learner (a step
    not run yet) rather than for the lesson's author."""

    def __init__(self, name: str, why: str, words: bool = False) -> None:
        super().__init__(why if words else f"variable {{{{{name}}}}}: {why}")
        self.name = name


class UnsafeValue(LabError):
    def __init__(self, name: str, value: str) -> None:
        bad = sorted({c for c in value if not SHELL_INERT.fullmatch(c)})
        shown = value if len(value) <= 60 else value[:59] + "…"
        chars = " ".join("line break" if c == "\n" else repr(c) for c in bad)
        super().__init__(
            f"variable {{{{{name}}}}}: its value {shown!r} holds {chars}, which a shell "
            "would read as code, so the command was not run (a value goes into a command "
            "only as plain text: letters, digits, spaces, _ . / : , @ % + -"
            + (
                f'; read this one as data with "${env_name(name[4:])}"'
                if name.startswith("out.")
                else ""
            )
            + ")"
        )
        self.name = name


def names_in(text: str) -> list[str]:
    """The variable names used in *text*, in order, without repeats."""
    seen: dict[str, None] = {}
    for m in PATTERN.finditer(text):
        seen.setdefault(m.group(1), None)
    return list(seen)


def syntax_problem(name: str) -> str:
    """Why *name* can never be a variable ("" if it has a valid form) — for the linter."""
    if name in PLAIN:
        return ""
    head, _, rest = name.partition(".")
    if head in PREFIXED and rest:
        return ""
    known = ", ".join([*PLAIN, "pid.NAME", "out.STEP-ID"])
    return f"unknown variable {{{{{name}}}}} (known: {known})"


@dataclass
class Variables:
    """The values the variables stand for in one lesson run."""

    home: Path
    work: Path
    lesson: Path
    assets: Path = ASSETS
    pids: dict[str, int] = field(default_factory=dict)
    outs: dict[str, str] = field(default_factory=dict)

    @classmethod
    def before_run(cls, lesson_id: str, lesson_path: Path) -> Variables:
        """The values known before a lesson opens (the home, its work folder, …), as the
        runner will set them: for showing a step's commands before it runs."""
        home = Path(os.path.abspath(home_dir()))
        return cls(home=home, work=home / "work" / lesson_id, lesson=lesson_path)

    def value(self, name: str) -> str:
        if name in PLAIN:
            return str(getattr(self, name))
        head, _, rest = name.partition(".")
        if head == "pid" and rest:
            if rest not in self.pids:
                why = f"“{rest}” has not been started yet (pid.{rest} is needed here)"
                raise UnknownVariable(name, why + ": run the step that starts it first", True)
            return str(self.pids[rest])
        if head == "out" and rest:
            if rest not in self.outs:
                why = f"step “{rest}” has not run yet (its output, out.{rest}, is needed here)"
                raise UnknownVariable(name, why + ": run it first", True)
            return self.outs[rest]
        raise UnknownVariable(name, syntax_problem(name) or f"unknown variable {name}", True)

    def fill(self, text: str) -> str:
        """*text* with every ``{{name}}`` replaced; raises UnknownVariable."""
        return PATTERN.sub(lambda m: self.value(m.group(1)), text)

    def fill_shell(self, text: str) -> str:
        """*text*, a shell command, with every ``{{name}}`` replaced by its value, which
        must be plain text (see the module doc); raises UnknownVariable or UnsafeValue."""

        def one(m: re.Match[str]) -> str:
            value = self.value(m.group(1))
            if not SHELL_INERT.fullmatch(value):
                raise UnsafeValue(m.group(1), value)
            return value

        return PATTERN.sub(one, text)

    def environ(self) -> dict[str, str]:
        """The outputs as environment variables for the commands (see the module doc)."""
        return {env_name(k): v for k, v in self.outs.items() if len(v) <= ENV_CAP and "\0" not in v}

    def shell_environ(self) -> dict[str, str]:
        """For the learner's own shell: the values a learner types (paths, addresses,
        pids: one short line each) as ``SHIKUMI_OUT_<STEP>`` and ``SHIKUMI_PID_<NAME>``,
        so ``cd $SHIKUMI_OUT_memcg`` works as the prose's ``cd /sys/fs/cgroup/…`` does.
        Long or multi-line outputs stay out: the shell's argv passes through tmux,
        whose messages are small."""
        out = {
            env_name(k): v
            for k, v in self.outs.items()
            if len(v) <= SHELL_CAP and "\n" not in v and "\0" not in v
        }
        out.update(
            {PID_PREFIX + re.sub(r"[^A-Za-z0-9_]", "_", k): str(v) for k, v in self.pids.items()}
        )
        return out

    def fill_known(self, text: str) -> str:
        """For prose (explanations, try text, hints): fill what is known now and
        leave the rest as written, so `{{work}}` reads as the real path."""

        def one(m: re.Match[str]) -> str:
            try:
                return self.value(m.group(1))
            except UnknownVariable:
                return m.group(0)

        return PATTERN.sub(one, text)

    def fill_all(self, obj: Any) -> Any:
        """Fill strings inside lists and dicts (parsed TOML parameters) too; a string
        under one of SHELL_KEYS is a shell command and is filled with fill_shell."""
        if isinstance(obj, str):
            return self.fill(obj)
        if isinstance(obj, list):
            return [self.fill_all(x) for x in obj]
        if isinstance(obj, dict):
            return {
                k: self.fill_shell(v)
                if k in SHELL_KEYS and isinstance(v, str)
                else self.fill_all(v)
                for k, v in obj.items()
            }
        return obj


# -- for display: what the screen and `play` show ------------------------------------------
# A value not known yet (its step has not run) is shown as words a learner understands,
# never as `{{out.x}}`: the step that makes it and what to do.
_NOT_YET = {
    "out": {
        "en": "‹the output of step {n} — run it first›",
        "ja": "‹ステップ {n} の出力 — 先にそのステップを実行›",
    },
    "out.here": {
        "en": "‹what this step prints, once it runs›",
        "ja": "‹このステップを実行すると出る値›",
    },
    "pid": {
        "en": "‹the PID from step {n} — run it first›",
        "ja": "‹ステップ {n} の PID — 先にそのステップを実行›",
    },
    "pid.here": {
        "en": "‹the PID of what this step starts, once it runs›",
        "ja": "‹このステップを実行すると起動するプロセスの PID›",
    },
    "unknown": {"en": "‹{name}: not known yet›", "ja": "‹{name}：まだ不明›"},
}


def makers(steps: Any) -> dict[str, int]:
    """``{"out.STEP": index, "pid.NAME": index}``: which step (0-based) makes each value."""
    out: dict[str, int] = {}
    for i, step in enumerate(steps):
        out.setdefault(f"out.{step.id}", i)
        for a in step.actions:
            if a.kind == "spawn" and a.attrs.get("name"):
                out.setdefault(f"pid.{a.attrs['name']}", i)
    return out


def uses_own_values(step: Any, lang: str) -> bool:
    """Whether the step's prose (text, try, hints) shows a value the step itself makes:
    then the screen draws it again once the step has run."""
    texts = [step.text_in(lang), step.try_in(lang), *step.hints_in(lang)]
    own = set(makers([step]))
    return any(name in own for t in texts for name in names_in(t))


def not_yet(name: str, made_by: dict[str, int], lang: str, current: int = -1) -> str:
    """The words shown instead of the value of *name* while its step has not run."""
    lang = lang if lang in ("en", "ja") else "en"
    head = name.partition(".")[0]
    if name not in made_by or head not in ("out", "pid"):
        return _NOT_YET["unknown"][lang].format(name=name)
    index = made_by[name]
    key = f"{head}.here" if index == current else head
    return _NOT_YET[key][lang].format(n=index + 1)


def fill_display(
    text: str, variables: Variables, steps: Any = (), lang: str = "en", current: int = -1
) -> str:
    """*text* as the screen shows it: every ``{{name}}`` replaced by its value, or, when the
    value is not known yet, by words naming the step that makes it (see ``not_yet``). Never
    leaves ``{{`` in the text and never raises."""
    made_by = makers(steps)

    def one(m: re.Match[str]) -> str:
        try:
            return variables.value(m.group(1))
        except UnknownVariable:
            return not_yet(m.group(1), made_by, lang, current)

    return PATTERN.sub(one, text)
