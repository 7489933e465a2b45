"""Two instances of the lab in one home (an instructor's demo and a learner's):
the second one asked to run a lesson is refused with what to do; browsing,
`list` and `check` still work; in its own home it runs beside the first."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from tests.support import shikumi

LESSON = """+++
title = "wait"
summary = "a lesson that holds the lab for a while"
part = "test"
requires = []
+++
## Wait {#wait}
Wait a little.

```run
sleep 20
```
"""
QUICK = LESSON.replace("sleep 20", "echo quick").replace('title = "wait"', 'title = "quick"')


def _lessons(tmp: Path) -> Path:
    root = tmp / "lessons"
    for name, text in (("01-wait", LESSON), ("02-quick", QUICK)):
        (root / name).mkdir(parents=True)
        (root / name / "lesson.md").write_text(text)
    return root


def test_second_instance_is_refused_clearly_then_runs_elsewhere(tmp_path: Path) -> None:
    lessons, home = _lessons(tmp_path), tmp_path / "home"
    env = dict(os.environ, SHIKUMI_HOME=str(home), SHIKUMI_LESSONS=str(lessons))
    first = subprocess.Popen(
        [sys.executable, "-m", "lab", "play", "01"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        # wait until the first instance holds the lab (its step is running)
        lock = home / "run.lock"
        for _ in range(200):
            if lock.exists() and "01-wait" in lock.read_text():
                break
            subprocess.run(["sleep", "0.05"])
        second = shikumi("play", "02", "--json", env={"SHIKUMI_LESSONS": str(lessons)}, home=home)
        assert second.returncode != 0
        assert "Traceback" not in second.stderr
        assert "another shikumi is running lesson 01-wait" in second.stderr
        assert "SHIKUMI_HOME" in second.stderr  # says what to do
        # reading is never blocked
        listed = shikumi("list", "--json", env={"SHIKUMI_LESSONS": str(lessons)}, home=home)
        assert listed.returncode == 0 and len(json.loads(listed.stdout)) == 2
        # a second lab in its own home runs beside the first
        other = shikumi(
            "play", "02", "--json", env={"SHIKUMI_LESSONS": str(lessons)}, home=tmp_path / "home2"
        )
        assert other.returncode == 0, other.stderr
        assert json.loads(other.stdout)["lessons"][0]["passed"] == 1
    finally:
        first.terminate()
        first.wait(30)
    # once the first has gone, the home is free again
    again = shikumi("play", "02", "--json", env={"SHIKUMI_LESSONS": str(lessons)}, home=home)
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["leaked"] == []


def test_lock_is_released_by_a_crash(tmp_path: Path) -> None:
    home = tmp_path / "home"
    code = textwrap.dedent(
        f"""
        import os
        from pathlib import Path
        from lab.safety.runlock import RunLock
        home = Path({str(home)!r}); home.mkdir(parents=True)
        RunLock(home).acquire("lesson x")
        os._exit(9)
        """
    )
    assert subprocess.run([sys.executable, "-c", code]).returncode == 9
    from lab.safety.runlock import RunLock

    lock = RunLock(home)
    lock.acquire("lesson y")  # a dead holder's flock is gone with it
    assert lock.held
    lock.release()
