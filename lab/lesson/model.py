"""The lesson model: what a lesson file describes, and what running it yields.

This module is the contract between the loader/linter (which build these
objects from files), the runner/player (which run them) and the app (which
shows them). Plain dataclasses, no behaviour beyond small helpers.

File format (full reference: docs/authoring.md)
-----------------------------------------------
``lessons/<id>/lesson.md`` (English, canonical)::

    +++
    title = "Processes, fork and exec"
    summary = "…"
    slides = "7–12, 19"
    part = "The host"
    requires = ["root", "tool.ps"]     # names `shikumi doctor` knows
    +++
    Intro prose (Markdown).

    ## Fork and exec {#fork-exec}
    Explanation (Markdown) …
    ```run expect=0 timeout=30 in=box
    ps -o pid,ppid,cmd
    ```
    ```spawn name=box
    unshare --pid --fork --mount-proc sleep 600
    ```
    ```op rootfs
    root = "{{work}}/rootfs"           # a lab operation, run in-process
    programs = ["sh", "ls"]            # through the lesson's journal
    ```
    ```view tree
    path = "{{work}}/rootfs"
    depth = 1
    ```
    ```check path-exists
    path = "{{work}}/rootfs/bin/sh"
    message = "the rootfs has a shell"
    ```
    ```try in=box
    Prose: what the learner should do in their own shell.
    ```
    ```hint
    A gentle hint (several, shown one per press).
    ```
    ```solution
    hostname demo      # commands; `play` runs them in the try context
    ```
    ```cleanup
    rm -f /tmp/x       # run when the lesson ends, beyond the journal's undo
    ```

Step heading attributes: ``{#step-id requires="docker,tool.tree" timeout=60}``.
Variables in commands and parameters: ``{{home}} {{work}} {{lesson}} {{assets}}
{{pid.NAME}} {{out.STEP-ID}}``. ``lesson.ja.md`` holds the Japanese prose
(title, summary, intro; per step heading, explanation, try, hints), matched by
step id; its heading carries ``src=HASH`` of the English step prose it
translates, so the linter can say when it is stale.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

ACTION_KINDS = (
    "run",
    "spawn",
    "op",
    "view",
    "check",
    "try",
    "hint",
    "solution",
    "cleanup",
    "predict",
)
LANGS = ("en", "ja")


@dataclass
class Action:
    kind: str  # one of ACTION_KINDS
    body: str  # the fence's content (command, TOML parameters, or prose)
    line: int  # 1-based line of the opening fence, for messages
    name: str = ""  # view name / check kind / operation (second word of the info string)
    attrs: dict[str, str] = field(default_factory=dict)  # key=value after the kind
    params: dict[str, Any] = field(default_factory=dict)  # parsed TOML body (view, check)

    @property
    def expect(self) -> int | None:
        """Expected exit status of a run (None: any status is fine)."""
        v = self.attrs.get("expect", "0")
        return None if v == "any" else int(v)


@dataclass
class Step:
    id: str
    title: str
    line: int
    text: str = ""  # explanation (Markdown), English
    actions: list[Action] = field(default_factory=list)
    requires: list[str] = field(default_factory=list)
    timeout: float | None = None
    # translations: lang -> {"title", "text", "try", "hints": [...]} prose
    i18n: dict[str, dict[str, Any]] = field(default_factory=dict)

    def of(self, kind: str) -> list[Action]:
        return [a for a in self.actions if a.kind == kind]

    def title_in(self, lang: str) -> str:
        return self.i18n.get(lang, {}).get("title") or self.title

    def text_in(self, lang: str) -> str:
        return self.i18n.get(lang, {}).get("text") or self.text

    def hints_in(self, lang: str) -> list[str]:
        return self.i18n.get(lang, {}).get("hints") or [a.body for a in self.of("hint")]

    def try_in(self, lang: str) -> str:
        tr = self.i18n.get(lang, {}).get("try")
        return tr or "\n".join(a.body for a in self.of("try"))


@dataclass
class Lesson:
    id: str  # folder name, e.g. "05-libraries"
    path: Path  # the lesson folder
    title: str
    summary: str = ""
    slides: str = ""
    part: str = ""
    requires: list[str] = field(default_factory=list)
    intro: str = ""
    steps: list[Step] = field(default_factory=list)
    i18n: dict[str, dict[str, Any]] = field(
        default_factory=dict
    )  # lang -> {"title","summary","intro"}

    @property
    def number(self) -> str:
        return self.id.split("-", 1)[0]

    def title_in(self, lang: str) -> str:
        return self.i18n.get(lang, {}).get("title") or self.title

    def summary_in(self, lang: str) -> str:
        return self.i18n.get(lang, {}).get("summary") or self.summary

    def intro_in(self, lang: str) -> str:
        return self.i18n.get(lang, {}).get("intro") or self.intro

    def step(self, step_id: str) -> Step | None:
        return next((s for s in self.steps if s.id == step_id), None)


@dataclass(frozen=True)
class Problem:
    """One lint finding: ``path:line: message``."""

    path: Path
    line: int
    message: str
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        tag = "" if self.severity == "error" else "warning: "
        return f"{self.path}:{self.line}: {tag}{self.message}"


# -- results of running ------------------------------------------------------------------


@dataclass
class ActionResult:
    kind: str  # run / spawn / solution / cleanup
    command: str  # exactly what was run (variables filled in), as shown to the learner
    exit: int | None = None
    expected: int | None = 0
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    pid: int | None = None  # spawn: the innermost pid
    ok: bool = True
    note: str = ""  # e.g. "timed out after 30 s", "expected to fail: it did"
    timed_out: bool = False  # killed at its timeout (the step then ends as "timeout")


@dataclass
class CheckResult:
    kind: str
    message: str  # what the check verifies
    ok: bool
    reason: str = ""  # why it failed (or what was seen)
    hint: str = ""  # the check's own hint (``hint``/``hint_ja``): what to try when it fails


@dataclass
class ViewResult:
    name: str
    params: dict[str, Any]
    data: Any  # what the view's collect() returned (a dataclass)
    error: str = ""


StepStatus = Literal["passed", "failed", "timeout", "skipped", "cancelled"]


@dataclass
class StepResult:
    step_id: str
    status: StepStatus
    actions: list[ActionResult] = field(default_factory=list)
    checks: list[CheckResult] = field(default_factory=list)
    views: list[ViewResult] = field(default_factory=list)
    reason: str = ""  # why failed / skipped (missing requirement and its fix)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.status in ("passed", "skipped")
