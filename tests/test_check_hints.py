"""A check's own hint (hint/hint_ja): carried by its result in the learner's language,
and linted (both languages, or neither)."""

from __future__ import annotations

from pathlib import Path

from lab.lesson import checks
from lab.lesson.context import Context
from lab.lesson.lint import lint
from lab.lesson.model import Action
from lab.lesson.variables import Variables

LESSON = """+++
title = "hints"
summary = "hints"
part = "test"
requires = []
+++
## One {#one}
Text.

```try
Do it.
```
```check path-exists
path = "{{work}}/x"
message = "x exists"
hint = "touch x"
```
"""


def test_a_failing_check_carries_its_hint_in_the_learners_language(tmp_path: Path) -> None:
    a = Action(
        "check",
        "",
        1,
        name="path-missing",
        params={"path": str(tmp_path), "message": "gone", "hint": "rm it", "hint_ja": "消す"},
    )
    ctx = Context(Variables(tmp_path, tmp_path, tmp_path))
    r = checks.evaluate(a, ctx)
    assert not r.ok and r.hint == "rm it"
    ctx.lang = "ja"
    assert checks.evaluate(a, ctx).hint == "消す"
    plain = Action("check", "", 1, name="path-missing", params={"path": "/nope", "message": "m"})
    assert checks.evaluate(plain, ctx).hint == ""


def test_a_hint_without_its_japanese_is_a_lint_error(tmp_path: Path) -> None:
    d = tmp_path / "91-hints"
    d.mkdir()
    (d / "lesson.md").write_text(LESSON)
    found = [str(p) for p in lint([d])]
    assert any(
        "hint without hint_ja: a check's hint is given in both languages" in p and ":16:" in p
        for p in found
    ), found
    (d / "lesson.md").write_text(
        LESSON.replace('hint = "touch x"', 'hint = "touch x"\nhint_ja = "x を作る"')
    )
    assert not any("without hint" in str(p) for p in lint([d]))
