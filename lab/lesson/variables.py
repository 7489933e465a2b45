"""Variables in lesson commands and parameters: ``{{home}} {{work}} {{lesson}}
{{assets}} {{pid.NAME}} {{out.STEP-ID}}``.

- ``home``: the lab home; ``work``: ``HOME/work/<lesson-id>`` (the runner creates
  it through the journal); ``lesson``: the lesson folder; ``assets``: the repo's
  ``assets/`` directory.
- ``pid.NAME``: the innermost pid of the process a ``spawn name=NAME`` started.
- ``out.STEP``: the stdout of the last run (or solution) of step STEP, stripped.

An unknown or not-yet-available variable raises ``UnknownVariable`` naming it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from lab.errors import LabError

PATTERN = re.compile(r"\{\{\s*([A-Za-z_][A-Za-z0-9_.-]*)\s*\}\}")
PLAIN = ("home", "work", "lesson", "assets")
PREFIXED = ("pid", "out")
ASSETS = Path(__file__).resolve().parent.parent.parent / "assets"


class UnknownVariable(LabError):
    def __init__(self, name: str, why: str) -> None:
        super().__init__(f"variable {{{{{name}}}}}: {why}")
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

    def value(self, name: str) -> str:
        if name in PLAIN:
            return str(getattr(self, name))
        head, _, rest = name.partition(".")
        if head == "pid" and rest:
            if rest not in self.pids:
                raise UnknownVariable(name, f"no process named {rest!r} was spawned (yet)")
            return str(self.pids[rest])
        if head == "out" and rest:
            if rest not in self.outs:
                raise UnknownVariable(name, f"step {rest!r} has not run (yet)")
            return self.outs[rest]
        raise UnknownVariable(name, syntax_problem(name).split(": ", 1)[-1] or "unknown")

    def fill(self, text: str) -> str:
        """*text* with every ``{{name}}`` replaced; raises UnknownVariable."""
        return PATTERN.sub(lambda m: self.value(m.group(1)), text)

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
        """Fill strings inside lists and dicts (parsed TOML parameters) too."""
        if isinstance(obj, str):
            return self.fill(obj)
        if isinstance(obj, list):
            return [self.fill_all(x) for x in obj]
        if isinstance(obj, dict):
            return {k: self.fill_all(v) for k, v in obj.items()}
        return obj
