"""Predict, then run: the ```predict fence's parameters, what the linter says about a
bad one, what is revealed after the run, and the headless player showing both."""

from __future__ import annotations

from pathlib import Path

from lab.lesson import predict
from lab.lesson.lint import lint
from lab.lesson.loader import load_lesson
from tests.lessonkit import write_lesson
from tests.support import need_tool, shikumi

GOOD = {
    "question": "Will ls start?",
    "question_ja": "ls は起動する？",
    "answer": 1,
    "choices": [
        {
            "text": "Yes",
            "text_ja": "する",
            "why": "the loader needs libc",
            "why_ja": "ローダーには libc が要る",
        },
        {"text": "No", "text_ja": "しない"},
    ],
}

LESSON = """+++
title = "Predictions"
summary = "One step with a prediction."
+++
Intro.

## Guess {#guess}
Guess first.
```predict
question = "What does `echo $((6 * 7))` print?"
answer = 0
[[choices]]
text = "42"
[[choices]]
text = "6 * 7"
why = "$(( )) is arithmetic: the shell computes it before echo sees it."
```
```run
echo $((6 * 7))
```
"""


def test_a_good_prediction_has_no_problems_and_reveals_the_misconception() -> None:
    assert predict.problems(GOOD) == []
    p = predict.of(GOOD, "ja")
    assert p.question == "ls は起動する？" and [c.text for c in p.choices] == ["する", "しない"]
    wrong = predict.reveal(predict.of(GOOD), 0)
    assert wrong == ["Answer: No", "You predicted: Yes", "the loader needs libc"]
    assert predict.reveal(predict.of(GOOD), 1)[1] == "Your prediction was right."
    # nobody chose (the headless player): every wrong choice with its misconception
    assert predict.reveal(predict.of(GOOD), None) == ["Answer: No", "✗ Yes — the loader needs libc"]


def test_bad_predictions_are_named() -> None:
    said = predict.problems(
        {"question": "Q", "answer": 3, "choices": [{"text": "a"}, {"text": "b"}]}
    )
    assert any("answer must be" in s for s in said)
    said = predict.problems(
        {"question": "Q", "answer": 0, "choices": [{"text": "a"}, {"text": "b"}]}
    )
    assert said == ["choice 1 is wrong but has no why: say which misconception it is"]
    assert "at least two" in predict.problems({"question": "Q", "answer": 0, "choices": []})[-1]
    assert any("unknown parameter 'hint'" in s for s in predict.problems({**GOOD, "hint": "x"}))


def test_lint_reports_a_bad_predict_fence(tmp_path: Path) -> None:
    folder = write_lesson(tmp_path, "96-predict", LESSON.replace("answer = 0", "answer = 5"))
    msgs = [p.message for p in lint([folder]) if p.severity == "error"]
    assert any(m.startswith("```predict: answer must be") for m in msgs), msgs
    good = write_lesson(tmp_path / "ok", "97-predict", LESSON)
    assert not [p for p in lint([good]) if p.severity == "error"]
    lesson, _ = load_lesson(good)
    assert lesson is not None and lesson.steps[0].of("predict")[0].params["answer"] == 0


def test_the_player_asks_then_reveals(tmp_path: Path) -> None:
    need_tool("bash")
    folder = write_lesson(tmp_path / "lessons", "98-predict", LESSON)
    r = shikumi("play", str(folder), home=tmp_path / "home")
    assert r.returncode == 0, r.stdout + r.stderr
    out = r.stdout
    asked, ran, revealed = (
        out.index("Predict: What does"),
        out.index("$ echo"),
        out.index("Answer: 42"),
    )
    assert asked < ran < revealed, out
    assert "✗ 6 * 7 — $(( )) is arithmetic" in out


def test_play_json_carries_the_question_unanswered_and_the_gate_ignores_it(tmp_path: Path) -> None:
    """Headless, nobody answers: `play` never waits for a choice (its stdin is a pipe
    here, not a terminal); --json carries each question with "chosen": null, and the
    progress keeps no prediction. The solve gate runs the lesson as before."""
    import json

    need_tool("bash")
    folder = write_lesson(tmp_path / "lessons", "98-predict", LESSON)
    home = tmp_path / "home"
    r = shikumi("play", str(folder), "--json", home=home, timeout=60)
    assert r.returncode == 0, r.stdout + r.stderr
    (lesson,) = json.loads(r.stdout)["lessons"]
    assert lesson["passed"] == 1
    (asked,) = lesson["predictions"]
    assert asked["step"] == "guess" and asked["chosen"] is None and asked["answer"] == 0
    assert asked["question"] == "What does `echo $((6 * 7))` print?"
    assert [c["text"] for c in asked["choices"]] == ["42", "6 * 7"]
    assert asked["choices"][1]["why"].startswith("$(( )) is arithmetic")
    from lab.lesson.progress import Progress

    assert Progress.load(home).step_record("98-predict", "guess").predictions == ()
    gate = shikumi("play", str(folder), "--verify-tries", "--json", home=home, timeout=60)
    assert gate.returncode == 0, gate.stdout + gate.stderr
    (gated,) = json.loads(gate.stdout)["lessons"]
    assert "predictions" not in gated and gated["failed"] == 0
