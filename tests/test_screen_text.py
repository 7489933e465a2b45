"""What the lesson screen says, for every step of every bundled lesson, in both languages:
no ``{{`` anywhere (commands, try text, hints, solutions are shown with their real values,
or with words naming the step to run first), no regular expression in any prose, check
message or check result, and every view title and label in Japanese in Japanese mode.

No root and no kernel: the session is the Textual-free LessonSession (never opened), the
check results come from ``checks.evaluate`` over a Context whose commands are stubbed
(the state a check reads cannot be made here without running the lessons; `play --all`
does that), and one pilot run of the app opens a real lesson screen without running it.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from lab.lesson import checks
from lab.lesson.context import Context
from lab.lesson.execute import Completed
from lab.lesson.lint import lint
from lab.lesson.loader import load_lesson
from lab.lesson.model import ActionResult, Lesson
from lab.lesson.session import LessonSession
from lab.lesson.variables import Variables, fill_display
from lab.tui.widgets.explain import step_markdown
from tests.support import REPO

LESSONS = sorted(p for p in (REPO / "lessons").iterdir() if (p / "lesson.md").exists())
LANGS = ("en", "ja")
# what a regular expression looks like (and never a path, a command's name or prose)
REGEX = re.compile(r"/\^|\\[sSdDwWbAZ]|\.\*|\.\+|\[\^|\(\?|\$/|\|\^")


def _load(folder: Path, lang: str) -> Lesson:
    lesson, problems = load_lesson(folder, lang)
    assert lesson is not None, problems
    return lesson


def _prose(markdown: str) -> str:
    """The markdown without its code (fenced blocks and `spans`): commands are typed as
    they are and may hold a pattern (`grep '^lo'`); everything else is prose."""
    text = re.sub(r"```.*?```", "", markdown, flags=re.S)
    return re.sub(r"`[^`\n]*`", "", text)


def _session(lesson: Lesson, lang: str) -> LessonSession:
    ctl = LessonSession(lesson, opener=lambda *_: None, on_event=lambda _e: None)
    ctl.lang = lang
    return ctl


def _every_screen(lesson: Lesson, lang: str, fill: Any) -> list[tuple[int, str]]:
    """Each step as the explanation panel shows it, every hint and the solution open."""
    out = []
    for i, step in enumerate(lesson.steps):
        md = step_markdown(
            step, i + 1, len(lesson.steps), lang, hints_shown=99, solution=True, fill=fill(i)
        )
        out.append((i, md))
    return out


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("folder", LESSONS, ids=lambda p: p.name[:2])
def test_no_placeholder_reaches_the_screen_before_and_after_the_steps_run(folder, lang):
    lesson = _load(folder, lang)
    ctl = _session(lesson, lang)

    def before(i: int):
        ctl.index = i  # jumped here: nothing has run
        return ctl.fill

    screens = _every_screen(lesson, lang, before)
    for i, md in screens:
        assert "{{" not in md and "}}" not in md, (lesson.id, i + 1, md)
        assert not REGEX.search(_prose(md)), (lesson.id, i + 1, REGEX.search(_prose(md)))
    # after every step ran: real values everywhere, no words standing in for them
    v = Variables(home=Path("/h"), work=Path("/h/work") / lesson.id, lesson=folder)
    v.outs = {s.id: "/sys/fs/cgroup/shikumi/x" for s in lesson.steps}
    v.pids = {a.attrs["name"]: 4242 for s in lesson.steps for a in s.actions if a.kind == "spawn"}
    after = _every_screen(
        lesson, lang, lambda i: lambda t: fill_display(t, v, lesson.steps, lang, i)
    )
    for i, md in after:
        assert "{{" not in md and "‹" not in md, (lesson.id, i + 1)


def test_a_value_not_known_yet_names_the_step_in_words() -> None:
    lesson = _load(REPO / "lessons" / "16-cgroups", "en")
    ctl = _session(lesson, "en")
    memlimit = next(i for i, s in enumerate(lesson.steps) if s.id == "memlimit")
    ctl.index = memlimit
    made = next(i for i, s in enumerate(lesson.steps) if s.id == "memcg") + 1
    text = ctl.fill("cd {{out.memcg}} && ls {{home}}")
    assert text.startswith(f"cd ‹the output of step {made} — run it first› && ls /")
    ctl.lang = "ja"
    assert f"‹ステップ {made} の出力 — 先にそのステップを実行›" in ctl.fill("{{out.memcg}}")
    ctl.index = made - 1  # the step itself, before it runs
    assert ctl.fill("{{out.memcg}}", "en") == "‹what this step prints, once it runs›"
    pid = _load(REPO / "lessons" / "14-volumes", "ja")
    ctl = _session(pid, "ja")
    spawned = next(i for i, s in enumerate(pid.steps) if any(a.kind == "spawn" for a in s.actions))
    ctl.index = len(pid.steps) - 1
    assert ctl.fill("nsenter -t {{pid.box}}") == (
        f"nsenter -t ‹ステップ {spawned + 1} の PID — 先にそのステップを実行›"
    )


class _NothingRan:
    """The commands a check runs: stubbed (the kernel state they read is not made
    here), answering *status* with *text*."""

    def __init__(self, status: int, text: str) -> None:
        self.status, self.text = status, text

    def __call__(self, command: str, in_name: str, timeout: float) -> Completed:
        return Completed(exit=self.status, stdout=self.text)


@pytest.mark.parametrize("lang", LANGS)
@pytest.mark.parametrize("folder", LESSONS, ids=lambda p: p.name[:2])
def test_check_messages_and_results_speak_words_not_patterns(folder, lang, tmp_path):
    lesson = _load(folder, lang)
    for seen in ("", "nothing here"):  # before any step ran; after, with other output
        v = Variables(home=tmp_path, work=tmp_path / "work", lesson=folder)
        ctx = Context(v, lang=lang, runner=_NothingRan(1 if not seen else 0, seen))
        if seen:
            for s in lesson.steps:
                ctx.results[s.id] = [ActionResult("run", "", 0, stdout=seen + "\n")]
                v.outs[s.id] = "/nonexistent"
        for s in lesson.steps:
            ctx.step_id = s.id
            for a in s.of("check"):
                r = checks.evaluate(a, ctx)
                shown = f"{r.message} — {r.reason}"
                where = (lesson.id, s.id, shown)
                assert "{{" not in shown and not REGEX.search(shown), where
                pattern = str(a.params.get("pattern", ""))
                if pattern:
                    if re.search(r"[\\^$()\[\]|*+?]", pattern):  # a pattern, not plain text
                        assert pattern not in shown, where
                    words = a.params["says_ja" if lang == "ja" else "says"]
                    assert not REGEX.search(words), where
                if lang == "ja":
                    assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", r.message), where


def test_the_linter_asks_for_the_words_and_the_japanese(tmp_path: Path) -> None:
    from tests.lessonkit import write_lesson

    folder = write_lesson(
        tmp_path,
        "01-x",
        """+++
title = "x"
+++
## One {#one}
Text.
```run
echo hi
```
```view tree
path = "/"
title = "the root"
```
```view compare
columns = [
  { label = "host", label_ja = "ホスト", command = "echo a" },
  { label = "box", command = "echo b" },
]
```
```check output-matches
pattern = '^hi$'
says = "hi"
message = "it said hi"
message_ja = "hi と言った"
```
""",
    )
    got = [p.message for p in lint([folder]) if p.severity == "error"]
    assert "```view tree: title needs title_ja (Japanese)" in got
    assert "```view compare: the column 'box' needs label_ja (Japanese)" in got
    assert any("a check with a pattern needs says_ja" in m for m in got)
    assert not any("needs says =" in m for m in got)


async def test_the_app_shows_real_values_in_japanese(tmp_path, monkeypatch) -> None:
    """A pilot run: lesson 16 opened at its 3rd step in Japanese, nothing run. The
    explanation names the step to run, shows the real home, and no `{{`."""
    from test_app_helpers import OK_CHECKS

    from lab.tui import engine
    from lab.tui.app import ShikumiApp
    from lab.tui.screens.lesson import LessonScreen

    home = tmp_path / "home"
    home.mkdir()
    monkeypatch.setenv("SHIKUMI_HOME", str(home))
    lesson, _problems = engine.load(REPO / "lessons" / "16-cgroups", "ja")
    app = ShikumiApp(home, "ja", dirs=[REPO / "lessons"], run_doctor=False, lesson=lesson, step=3)
    app.checks = list(OK_CHECKS)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        screen = app.screen
        assert isinstance(screen, LessonScreen) and screen.index == 2
        from textual.widgets import Markdown

        source = screen.query_one("#explain-md", Markdown).source
        assert "{{" not in source
        assert "‹ステップ 2 の出力 — 先にそのステップを実行›" in source
        await pilot.press("s")  # the solution: its commands too
        await pilot.pause()
        source = screen.query_one("#explain-md", Markdown).source
        assert "cd ‹ステップ 2 の出力" in source and "{{" not in source
