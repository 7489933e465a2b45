"""Try it yourself: what the learner types in the step's shell is what the checks judge."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.lesson.loader import load_lesson
from lab.lesson.runner import Runner, transcript_text
from lab.lesson.try_shell import OUTPUT_MARK, PROMPT_MARK, outputs
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
        assert "script" in argv and "--log-out" in argv
        # a learner at the prompt (stdin stands in for the keyboard): a wrong answer fails,
        # with the reason; what was only TYPED (the 42 in a comment) never counts
        subprocess.run(
            argv, input="echo 41 # 42\nexit\n", text=True, capture_output=True, timeout=20
        )
        (res,) = r.check_step(0)
        assert not res.ok and res.reason.startswith("what your shell showed does not show")
        assert "42" not in res.reason  # neither the typed comment nor the pattern is quoted
        assert r.try_output(0) == "41"
        # a second visit to the shell adds to the first: the right answer now passes
        subprocess.run(
            r.shell(0), input="echo $((40 + 2))\nexit\n", text=True, capture_output=True, timeout=20
        )
        (res,) = r.check_step(0)
        assert res.ok, res.reason
        # both visits are the step's output: what the commands printed, nothing typed
        assert r.ctx.output(lesson.steps[0].id).split() == ["41", "42"]
        r.finish()


def test_outputs_leave_out_prompts_and_typed_lines() -> None:
    p, o = PROMPT_MARK, OUTPUT_MARK
    raw = (
        b"Script started\n"
        + p
        + b"(shikumi 07 \xc2\xb7 host) # echo hi # typed\r\n\x1b[?2004l\r"
        + o
        + b"hi\r\n"
        + p
        + b"(shikumi 07 \xc2\xb7 host) # cat\r\n"
        + o
        + b"a\r\nb\r\n"
        + p
        + b"(x) # exit\r\n"
        + o
        + b"exit\r\n\nScript done\n"
    )
    assert outputs(raw) == "hi\na\nb"
    # a shell without PS0 (sh in a container): the output follows the command line
    assert outputs(p + b"# echo 42 # 41\r\n42\r\n" + p + b"# ") == "42"
