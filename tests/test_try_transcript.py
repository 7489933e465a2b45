"""Try it yourself: what the learner types in the step's shell is what the checks judge."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.lesson.loader import load_lesson
from lab.lesson.runner import Runner, transcript_text
from lab.safety.journal import Journal
from tests.support import need_tool

LESSON = """+++
title = "try"
summary = "try"
part = "test"
requires = []
+++
## Answer {#answer}
Say the answer.

```try
Print the answer to everything.
```
```solution
echo 42
```
```check output-matches
pattern = "^42$"
message = "the answer was printed"
```
"""


def test_transcript_text_drops_escapes() -> None:
    raw = (
        b"\x1b[?2004h(shikumi) # echo 42\r\n\x1b[?2004l\r42\r\n\x1b]0;title\x07(shikumi) # exit\r\n"
    )
    assert transcript_text(raw).splitlines() == ["(shikumi) # echo 42", "42", "(shikumi) # exit"]


def test_checks_judge_the_learners_own_shell(tmp_path: Path) -> None:
    need_tool("script", "bash")
    d = tmp_path / "lessons" / "91-try"
    d.mkdir(parents=True)
    (d / "lesson.md").write_text(LESSON)
    lesson, problems = load_lesson(d)
    assert lesson is not None, problems
    with Journal.open(tmp_path / "home") as j:
        r = Runner(lesson, j)
        # before trying, nothing was printed: the check fails
        assert not r.check_step(0)[0].ok
        argv = r.shell(0)
        assert argv[0] == "script"
        # a learner at the prompt (stdin stands in for the keyboard): a wrong answer fails,
        # with the reason
        subprocess.run(argv, input="echo 41\nexit\n", text=True, capture_output=True, timeout=20)
        (res,) = r.check_step(0)
        assert not res.ok and "what your shell showed does not show" in res.reason
        # a second visit to the shell adds to the first: the right answer now passes
        subprocess.run(
            r.shell(0), input="echo $((40 + 2))\nexit\n", text=True, capture_output=True, timeout=20
        )
        (res,) = r.check_step(0)
        assert res.ok, res.reason
        assert "41" in r.ctx.output(lesson.steps[0].id)  # both visits are the step's output
        r.finish()
