"""Predict, then run, in the app: `r` on a step with a predict question asks it first
(PredictScreen), the learner's pick is kept in the progress, the reveal follows the
run on the step's bench (right or wrong, and the misconception of a wrong pick), and a
learner who answered is not asked again — neither on a re-run nor in a new session.
Esc goes back without running; `s` runs without a guess. Japanese mode asks and
reveals in Japanese. Snapshots of the question and of the reveal (a scripted runner).

The pilot tests run the lesson's real runner on a harmless step (`echo`) in the
lesson's work folder: no kernel state, so no kernel lock.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from test_app_helpers import OK_CHECKS, ScriptedSession, fixed_lesson

from lab.lesson.model import Action
from lab.lesson.progress import Progress
from lab.tui.app import ShikumiApp
from lab.tui.screens.lesson import LessonScreen
from lab.tui.screens.predict import PredictScreen
from lab.tui.widgets.bench import Bench

SIZE = (120, 40)

LESSON = """+++
title = "Predictions"
summary = "A step with a prediction."
part = "The host"
+++
Intro.

## Guess {#guess}
Guess first, then run.
```predict
question = "What does `echo $((6 * 7))` print?"
question_ja = "`echo $((6 * 7))` は何を表示する？"
answer = 0
[[choices]]
text = "42"
text_ja = "42"
[[choices]]
text = "6 * 7"
text_ja = "6 * 7"
why = "$(( )) is arithmetic: the shell computes it before echo sees it."
why_ja = "$(( )) は算術展開です。echo が受け取る前にシェルが計算します。"
[[choices]]
text = "nothing: echo needs quotes"
text_ja = "何も表示しない（echo には引用符が要る）"
why = "Quotes only group words; echo prints its arguments either way."
why_ja = "引用符は語をまとめるだけです。echo はどちらでも引数を表示します。"
```
```run
echo $((6 * 7))
```

## Plain {#plain}
No question here.
```run
echo plain
```
"""

LESSON_JA = """+++
title = "予想"
summary = "予想のあるステップ。"
+++
はじめに。

## 予想する {#guess}
まず予想してから実行します。

## ふつう {#plain}
ここに問いはありません。
"""


@pytest.fixture
def lab(tmp_path: Path) -> tuple[Path, Path]:
    folder = tmp_path / "lessons" / "01-predict"
    folder.mkdir(parents=True)
    (folder / "lesson.md").write_text(LESSON)
    (folder / "lesson.ja.md").write_text(LESSON_JA)
    home = tmp_path / "home"
    home.mkdir()
    return folder.parent, home


def make_app(lab: tuple[Path, Path], lang: str = "en") -> ShikumiApp:
    lessons, home = lab
    app = ShikumiApp(home, lang, dirs=[lessons], run_doctor=False)
    app.checks = list(OK_CHECKS)
    return app


async def open_lesson(pilot) -> LessonScreen:
    await pilot.app.workers.wait_for_complete()  # the lessons are read in a worker
    await pilot.pause()
    await pilot.press("enter")
    await pilot.app.workers.wait_for_complete()  # the session opens in a worker
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, LessonScreen)
    return screen


async def settle(pilot) -> None:
    """Every worker done (the run, its progress), then the messages drawn."""
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def transcript(screen: LessonScreen) -> str:
    return screen.query_one(Bench).transcript.text.plain


def revealed(screen: LessonScreen) -> str:
    """The folded explanation as drawn: after a run, the step's title and the reveal."""
    return str(screen.explanation.query_one("#explain-fold").render())


def kept(home: Path) -> tuple[str, ...]:
    return Progress.load(home).step_record("01-predict", "guess").predictions


async def test_asked_before_the_run_kept_revealed_and_not_asked_twice(lab):
    _lessons, home = lab
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot)
        await pilot.press("r")
        await pilot.pause()
        asked = app.screen
        assert isinstance(asked, PredictScreen)
        assert "What does echo $((6 * 7)) print?" in str(
            asked.query_one("#predict-question").render()
        )
        await settle(pilot)
        assert "$ echo" not in transcript(screen)  # nothing ran while the question is open
        await pilot.press("2")  # a wrong guess
        await settle(pilot)
        assert app.screen is screen and screen.statuses["guess"] == "passed"
        assert "$ echo $((6 * 7))" in transcript(screen) and "42" in transcript(screen)
        assert screen.explanation.folded  # the text folded to the title and the reveal
        assert "✗ Your prediction: 2. 6 * 7 — not this time" in revealed(screen)
        assert "$ echo" not in revealed(screen)  # the commands are in the transcript
        assert "$(( )) is arithmetic" in revealed(screen)  # the misconception of that pick
        assert "→ Answer: 1. 42" in revealed(screen)
        assert "Quotes only group words" not in revealed(screen)  # not the other wrong pick's
        assert kept(home) == ("2",)
        # run again: not asked, the earlier pick revealed again
        await pilot.press("r")
        await settle(pilot)
        assert app.screen is screen
        assert "✗ Your prediction: 2. 6 * 7" in revealed(screen)
        assert kept(home) == ("2",)
        # a step without a question: no question, no reveal (the fold shows its commands)
        await pilot.press("n", "r")
        await settle(pilot)
        assert app.screen is screen and screen.statuses["plain"] == "passed"
        assert "$ echo plain" in revealed(screen) and "prediction" not in revealed(screen)
        await pilot.press("p")  # back at the step that ran: its reveal again
        await pilot.pause()
        assert "✗ Your prediction: 2. 6 * 7" in revealed(screen)
    # a new session on the same home: the pick is remembered, so not asked again
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot)
        screen.go(0)
        await pilot.press("r")
        await settle(pilot)
        assert app.screen is screen, "asked again although the learner answered before"
        assert "✗ Your prediction: 2. 6 * 7" in revealed(screen)
        # a reset forgets the progress: the question comes back
        await pilot.press("R", "y")
        await settle(pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, PredictScreen)
        await pilot.press("down", "down", "enter")  # arrows and Enter: the third choice
        await settle(pilot)
        assert "✗ Your prediction: 3. nothing: echo needs quotes" in revealed(screen)
        assert "Quotes only group words" in revealed(screen)
    assert kept(home) == ("3",)


async def test_escape_goes_back_and_s_runs_without_a_guess(lab):
    _lessons, home = lab
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot)
        await pilot.press("r")
        await pilot.pause()
        assert isinstance(app.screen, PredictScreen)
        await pilot.press("escape")  # back: nothing runs, nothing is kept
        await settle(pilot)
        assert app.screen is screen and "guess" not in screen.statuses
        assert "$ echo" not in transcript(screen) and kept(home) == ()
        await pilot.press("r")  # asked again, since it was not answered
        await pilot.pause()
        assert isinstance(app.screen, PredictScreen)
        await pilot.press("s")  # run without guessing
        await settle(pilot)
        assert screen.statuses["guess"] == "passed"
        shown = revealed(screen)
        assert "You ran it without guessing." in shown and "→ Answer: 1. 42" in shown
        # no pick: every wrong choice with its misconception
        assert "✗ 2. 6 * 7 — $(( )) is arithmetic" in shown
        assert "✗ 3. nothing: echo needs quotes — Quotes only group words" in shown
        assert kept(home) == ("-",)
        await pilot.press("r")  # declined once: not asked again
        await settle(pilot)
        assert app.screen is screen


async def test_japanese_question_and_reveal(lab):
    _lessons, home = lab
    app = make_app(lab, lang="ja")
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot)
        await pilot.press("r")
        await pilot.pause()
        asked = app.screen
        assert isinstance(asked, PredictScreen)
        assert "echo $((6 * 7)) は何を表示する？" in str(
            asked.query_one("#predict-question").render()
        )
        assert "実行の前に予想" in str(asked.query_one("#predict-title").render())
        assert "予想せずに実行" in str(asked.query_one("#predict-keys").render())
        await pilot.press("l")  # the language toggle redraws the open question
        await pilot.pause()
        assert "What does echo" in str(asked.query_one("#predict-question").render())
        await pilot.press("l")
        await pilot.pause()
        await pilot.press("1")  # the right guess
        await settle(pilot)
        assert "✓ あなたの予想: 1. 42 — 当たり" in revealed(screen)
        assert "答え" not in revealed(screen)  # a right guess is the answer
        await pilot.press("l")  # the reveal follows the language
        await pilot.pause()
        assert "✓ Your prediction: 1. 42 — right" in revealed(screen)
    assert kept(home) == ("1",)


# -- snapshots: the question, and the reveal of a wrong guess (a scripted runner) ----------


def predict_app(home: Path, lang: str = "en") -> ShikumiApp:
    lesson = fixed_lesson()
    ask = Action("predict", "", 1)
    ask.params = {
        "question": "Will `uname -r` in a container print the host's kernel?",
        "question_ja": "コンテナの中の `uname -r` はホストのカーネルを表示する？",
        "answer": 0,
        "choices": [
            {
                "text": "Yes: a container shares the host's kernel",
                "text_ja": "する。コンテナはホストのカーネルを共有する",
            },
            {
                "text": "No: each image brings its own kernel",
                "text_ja": "しない。イメージごとに自分のカーネルを持つ",
                "why": "An image holds files only; every process still runs on the one kernel of the host.",
                "why_ja": "イメージが持つのはファイルだけです。どのプロセスもホストの一つのカーネルの上で動きます。",
            },
        ],
    }
    lesson.steps[0].actions.insert(0, ask)
    app = ShikumiApp(home, lang, dirs=[], run_doctor=False, entries=[], lesson=lesson)
    app.checks = list(OK_CHECKS)
    app.session_factory = ScriptedSession
    return app


def test_snapshot_the_question(snap_compare, tmp_path):
    async def ask(pilot) -> None:
        await pilot.app.workers.wait_for_complete()
        await pilot.press("r")
        await pilot.pause()

    assert snap_compare(predict_app(tmp_path), run_before=ask, terminal_size=SIZE)


async def guess_wrong(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.press("r")
    await pilot.pause()
    await pilot.press("2")
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()


def test_snapshot_the_reveal_of_a_wrong_guess(snap_compare, tmp_path):
    assert snap_compare(predict_app(tmp_path), run_before=guess_wrong, terminal_size=SIZE)


def test_snapshot_the_reveal_in_japanese(snap_compare, tmp_path):
    assert snap_compare(predict_app(tmp_path, "ja"), run_before=guess_wrong, terminal_size=SIZE)


async def test_a_step_run_on_the_way_is_not_asked_the_asked_for_step_is(lab):
    """Jumping to step 2 and answering "run them first": step 1 runs on the way with no
    question (the learner did not ask for it), then step 2's question comes before it runs."""
    lessons, home = lab
    two = LESSON.replace(
        "## Plain {#plain}\nNo question here.\n",
        "## Plain {#plain}\nNo question here.\n"
        + LESSON[LESSON.index("```predict") : LESSON.index("```run")],
    )
    (lessons / "01-predict" / "lesson.md").write_text(two)
    app = make_app(lab)
    async with app.run_test(size=SIZE) as pilot:
        screen = await open_lesson(pilot)
        await pilot.press("2", "r")
        await pilot.pause()
        await pilot.press("y")  # run step 1 first
        await settle(pilot)
        assert screen.statuses.get("guess") == "passed"  # ran on the way, not asked
        assert isinstance(app.screen, PredictScreen)  # step 2's own question
        assert screen.index == 1 and "plain" not in screen.statuses
        await pilot.press("1")
        await settle(pilot)
        assert screen.statuses["plain"] == "passed" and not screen.chain
        assert "✓ Your prediction: 1. 42 — right" in revealed(screen)
    progress = Progress.load(home)
    assert progress.step_record("01-predict", "guess").predictions == ()
    assert progress.step_record("01-predict", "plain").predictions == ("1",)
