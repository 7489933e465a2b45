"""```op blocks: lab operations run in-process through the lesson's journal."""

from __future__ import annotations

import subprocess
from pathlib import Path

from lab.host import mounts
from lab.lesson import operations
from lab.lesson.lint import lint
from lab.lesson.loader import load_lesson
from lab.lesson.runner import Runner
from lab.safety.journal import Journal
from tests.support import need_root, need_tool

LESSON = """+++
title = "ops"
summary = "operations"
part = "test"
requires = []
+++
## Build {#build}
Build.

```op rootfs
root = "{{work}}/rootfs"
programs = ["sh", "sleep"]
scripts = { "/opt/bin/hello.sh" = "#!/bin/sh\\necho hello\\n" }
tar = "{{work}}/test.tar"
```
```view rootfs
```
```run
chroot {{work}}/rootfs /opt/bin/hello.sh
```
```check output-matches
pattern = "^hello$"
message = "hello.sh runs inside the rootfs"
```

## Unpack {#unpack}
Unpack.

```op unpack
tar = "{{work}}/test.tar"
dest = "{{home}}/containers/test"
```
```check path-exists
path = "{{home}}/containers/test/opt/bin/hello.sh"
message = "unpacked"
```
"""


def _lesson(tmp_path: Path, text: str = LESSON) -> Path:
    d = tmp_path / "lessons" / "90-ops"
    d.mkdir(parents=True)
    (d / "lesson.md").write_text(text)
    return d


def test_op_builds_tars_unpacks_and_is_undone(tmp_path: Path) -> None:
    need_root()
    need_tool("ldd", "chroot")
    folder = _lesson(tmp_path)
    lesson, problems = load_lesson(folder)
    assert lesson is not None, problems
    with Journal.open(tmp_path / "home") as j:
        events: list = []
        r = Runner(lesson, j, on_event=events.append)
        first = r.run_step(0)
        assert first.status == "passed", first.reason
        shown = first.actions[0].command
        assert "ldd" in shown and "cp --parents" in shown  # the by-hand equivalent is shown
        assert first.views[0].data.total > 0 and not first.views[0].error
        second = r.run_step(1)
        assert second.status == "passed", second.reason
        assert (j.home / "containers" / "test" / "opt" / "bin" / "hello.sh").exists()
        r.finish()
        assert not (j.home / "containers" / "test").exists()
        assert not (j.home / "work" / "90-ops").exists()
        assert not mounts.under(str(j.home))
    out = subprocess.run(["ls", "/"], capture_output=True)
    assert out.returncode == 0


def test_op_outside_home_is_refused(tmp_path: Path) -> None:
    folder = _lesson(
        tmp_path, LESSON.replace('root = "{{work}}/rootfs"', 'root = "/tmp/not-the-home"')
    )
    lesson, _ = load_lesson(folder)
    assert lesson is not None
    with Journal.open(tmp_path / "home") as j:
        res = Runner(lesson, j).run_step(0)
    assert res.status == "failed" and "not inside the lab home" in res.reason
    assert not Path("/tmp/not-the-home").exists()


def test_lint_knows_operations(tmp_path: Path) -> None:
    bad = LESSON.replace("```op rootfs", "```op rootfz").replace(
        "```op unpack\n", "```op unpack\nbogus = 1\n"
    )
    folder = _lesson(tmp_path, bad)
    msgs = [str(p) for p in lint([folder]) if p.severity == "error"]
    assert any("unknown operation 'rootfz'" in m for m in msgs), msgs
    assert any("unknown parameter 'bogus'" in m for m in msgs), msgs
    assert operations.names() >= {"rootfs", "unpack"}
