"""No value reaches a shell as code (issue 12): `{{out.STEP}}` (an earlier command's
stdout), `{{home}}` and the other variables go into a shell command only as plain text;
a value a shell would read as code is refused with a clear step error, never run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from lab.lesson.runner import Runner
from lab.lesson.variables import SHELL_KEYS, UnsafeValue, Variables
from lab.safety.journal import Journal
from tests.lessonkit import act, check, lesson, step, view, write_lesson
from tests.support import shikumi


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal.open(tmp_path / "home")
    yield j
    j.close()


def payloads(tmp_path: Path) -> dict[str, tuple[str, Path]]:
    """step id -> (what its command prints, the file that printed text would create if run)."""
    out = {}
    for i, shape in enumerate(
        [
            "$(touch {f})",
            "; touch {f}",
            "`touch {f}`",
            "x && touch {f}",
            "x | touch {f}",
            "x\ntouch {f}",
            "'; touch {f}; echo '",
            '"; touch {f}; echo "',
        ]
    ):
        f = tmp_path / f"shk-pwned{i}"
        out[f"p{i}"] = (shape.format(f=f), f)
    return out


def _printer(text: str):
    """A run action that prints *text* exactly (the text travels in a file, not as code)."""
    return act("run", f"cat {text}")


def _steps_printing(tmp_path: Path) -> tuple[list, list[Path]]:
    steps, files = [], []
    for sid, (text, f) in payloads(tmp_path).items():
        src = tmp_path / f"{sid}.txt"
        src.write_text(text + "\n")
        steps.append(step(sid, _printer(str(src))))
        files.append(f)
    return steps, files


def out(sid: str) -> str:
    return "{{out." + sid + "}}"


USES = {
    "run": lambda sid: step(f"use-{sid}", act("run", f"echo {out(sid)}")),
    "quoted run": lambda sid: step(f"use-{sid}", act("run", f'echo "{out(sid)}"')),
    "nested shell": lambda sid: step(f"use-{sid}", act("run", f"sh -c 'echo {out(sid)}'")),
    "spawn": lambda sid: step(f"use-{sid}", act("spawn", f"sleep 30; echo {out(sid)}", name="s")),
    "command check": lambda sid: step(
        f"use-{sid}", act("run", "true"), check("command", run=f"echo '{out(sid)}'")
    ),
    "output view": lambda sid: step(
        f"use-{sid}", act("run", "true"), view("output", command=f"echo {out(sid)}")
    ),
}


@pytest.mark.parametrize("where", sorted(USES))
def test_an_earlier_output_never_runs_as_code(journal: Journal, tmp_path: Path, where: str) -> None:
    printers, files = _steps_printing(tmp_path)
    uses = [USES[where](s.id) for s in printers]
    r = Runner(lesson(*printers, *uses), journal)
    try:
        for i, s in enumerate(printers):
            res = r.run_step(i)
            assert res.status == "passed", res.reason
            assert r.vars.outs[s.id]  # the payload really is the step's output
        for i in range(len(printers), len(printers) + len(uses)):
            res = r.run_step(i)
            assert res.status == "failed", (where, res.status)
            assert "would read as code" in res.reason and "{{out.p" in res.reason, res.reason
    finally:
        r.finish()
    assert not [f for f in files if f.exists()]


def test_plain_values_still_fill_in_every_shell_context(journal: Journal, tmp_path: Path) -> None:
    src = tmp_path / "v.txt"
    src.write_text("made by hand 10.88.1 /usr/lib/x86_64-linux-gnu/libz.so.1 日本\n")
    want = "made by hand 10.88.1 /usr/lib/x86_64-linux-gnu/libz.so.1 日本"
    r = Runner(
        lesson(
            step("v", _printer(str(src))),
            step(
                "use",
                act("run", "printf '%s|' '{{out.v}}' \"{{out.v}}\"; sh -c 'echo {{out.v}}'"),
                check("command", run=f"test \"{out('v')}\" = '{want}'"),
            ),
        ),
        journal,
    )
    try:
        assert r.run_step(0).status == "passed"
        res = r.run_step(1)
        assert res.status == "passed", res.reason
        assert res.actions[0].stdout == f"{want}|{want}|{want}\n"
    finally:
        r.finish()


def test_any_output_reads_as_data_from_the_environment(journal: Journal, tmp_path: Path) -> None:
    printers, files = _steps_printing(tmp_path)
    uses = [
        step(
            f"use-{s.id}",
            act("run", f'printf "%s" "$SHIKUMI_OUT_{s.id}"'),
            check("command", run=f'test -n "$SHIKUMI_OUT_{s.id}"'),
        )
        for s in printers
    ]
    r = Runner(lesson(*printers, *uses), journal)
    try:
        for i, s in enumerate(printers):
            assert r.run_step(i).status == "passed"
            res = r.run_step(len(printers) + i)
            assert res.status == "passed", res.reason
            assert res.actions[0].stdout == r.vars.outs[s.id]  # the literal text, unchanged
    finally:
        r.finish()
    assert not [f for f in files if f.exists()]


def test_the_refusal_names_the_safe_way(journal: Journal, tmp_path: Path) -> None:
    v = Variables(Path("/h"), Path("/w"), Path("/l"), outs={"find-lib": "a\nb"})
    with pytest.raises(UnsafeValue) as e:
        v.fill_shell("ls {{out.find-lib}}")
    assert '"$SHIKUMI_OUT_find_lib"' in e.value.message
    assert v.environ() == {"SHIKUMI_OUT_find_lib": "a\nb"}


@pytest.mark.parametrize("ch", [*"$`;&|<>(){}[]*?~!#'\"\\\n\t", "\x00"])
def test_fill_shell_refuses_every_shell_metacharacter(ch: str) -> None:
    v = Variables(Path("/h"), Path("/w"), Path("/l"), outs={"x": f"a{ch}b"})
    with pytest.raises(UnsafeValue) as e:
        v.fill_shell("echo {{out.x}}")
    assert "{{out.x}}" in e.value.message and "would read as code" in e.value.message
    assert v.fill("echo {{out.x}}") == f"echo a{ch}b"  # prose and plain parameters: as is
    assert v.fill_known("see {{out.x}}") == f"see a{ch}b"


def test_a_home_path_is_held_to_the_same_rule() -> None:
    v = Variables(Path("/tmp/a$(id)"), Path("/w"), Path("/l"))
    with pytest.raises(UnsafeValue):
        v.fill_shell("ls {{home}}/x")


def test_fill_all_treats_only_command_parameters_as_shell() -> None:
    assert {"run", "command"} <= SHELL_KEYS
    v = Variables(Path("/h"), Path("/w"), Path("/l"), outs={"x": "a;b"})
    # a regex, a path, an argv list: not shell, any value
    assert v.fill_all({"pattern": "{{out.x}}", "path": "/{{out.x}}", "command": ["{{out.x}}"]}) == {
        "pattern": "a;b",
        "path": "/a;b",
        "command": ["a;b"],
    }
    for params in ({"run": "echo {{out.x}}"}, {"specs": [{"command": "echo {{out.x}}"}]}):
        with pytest.raises(UnsafeValue):
            v.fill_all(params)


PWN_LESSON = """+++
title = "A hostile output"
summary = "Step one prints shell code; step two uses it in a command."
+++
Intro.

## Print {{#step1}}
Prints text that is shell code.
```run
printf '%s\\n' '$(touch {f1})' '; touch {f2}' | head -c 200 > out.txt; cat out.txt | tr '\\n' ' '
```

## Use {{#step2}}
Uses it.
```run
echo {{{{out.step1}}}}
```
"""


def test_play_refuses_the_hostile_output_and_creates_nothing(tmp_path: Path) -> None:
    f1, f2 = tmp_path / "shk-pwned", tmp_path / "shk-pwned2"
    folder = write_lesson(tmp_path / "lessons", "93-pwn", PWN_LESSON.format(f1=f1, f2=f2))
    r = shikumi("play", str(folder), "--json", home=tmp_path / "home", timeout=60)
    assert r.returncode == 1, r.stdout + r.stderr
    rep = json.loads(r.stdout)["lessons"][0]
    assert (rep["passed"], rep["failed"]) == (1, 1), rep
    fail = rep["failures"][0]
    assert fail["step"] == "step2" and fail["status"] == "failed"
    assert "{{out.step1}}" in fail["reason"] and "would read as code" in fail["reason"]
    assert not f1.exists() and not f2.exists()
