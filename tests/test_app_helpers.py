"""Helpers for the app's tests: a small real lesson, fixed data, a scripted runner.

(Named test_app_* so it sits with the app's tests; it holds no tests itself.)
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from lab.doctor.probe import Check
from lab.lesson.model import (
    Action,
    ActionResult,
    CheckResult,
    Lesson,
    Step,
    StepResult,
    ViewResult,
)

DEMO_EN = """+++
title = "A demo lesson"
summary = "Harmless commands: files in the lesson's work folder."
part = "The host"
+++
This lesson only makes files in its work folder.

## Make a file {#make-file}
We make a file and look at the work folder.

```run
echo hello > greeting.txt && echo made greeting.txt
```
```view tree
path = "{{work}}"
depth = 1
```
```check path-exists
path = "{{work}}/greeting.txt"
message = "greeting.txt exists"
```

## Your turn {#your-turn}
Now make a file called `x` yourself.

```try
Create a file named x in the work folder: `touch x`
```
```hint
The command is touch.
```
```hint
touch x
```
```solution
touch x
```
```check path-exists
path = "{{work}}/x"
message = "the file x exists"
```

## A failing step {#fails}
This command fails on purpose.

```run
echo oops >&2; exit 3
```
"""

DEMO_JA = """+++
title = "デモのレッスン"
summary = "作業フォルダにファイルを作るだけ。"
+++
作業フォルダにファイルを作るだけのレッスンです。

## ファイルを作る {#make-file}
ファイルを作って作業フォルダを見ます。

## やってみよう {#your-turn}
自分で `x` というファイルを作りましょう。

## 失敗するステップ {#fails}
わざと失敗するコマンドです。
"""

SLOW = """+++
title = "A slow lesson"
part = "The host"
+++
## Wait {#wait}
A long step.

```run timeout=60
echo start; sleep 30; echo never
```
"""


def write_lessons(root: Path) -> Path:
    """Lessons under *root*/lessons: 01-demo (three steps) and 02-slow (a 30 s step)."""
    lessons = root / "lessons"
    demo = lessons / "01-demo"
    demo.mkdir(parents=True)
    (demo / "lesson.md").write_text(DEMO_EN)
    (demo / "lesson.ja.md").write_text(DEMO_JA)
    slow = lessons / "02-slow"
    slow.mkdir()
    (slow / "lesson.md").write_text(SLOW)
    return lessons


OK_CHECKS = [
    Check("root", True, True, "euid 0 (root)", ""),
    Check("docker.daemon", False, False, "no docker daemon answers", "apt-get install docker.io"),
]


# -- fixed data for snapshots ----------------------------------------------------------------


def fixed_lesson(folder: Path = Path("/nonexistent/03-fixed")) -> Lesson:
    def a(kind: str, body: str, name: str = "", **attrs: str) -> Action:
        return Action(kind, body, 1, name=name, attrs=dict(attrs))

    steps = [
        Step(
            "look",
            "Look at this machine",
            1,
            text="Every container shares **this kernel**. Compare what the host says with what a container sees.",
            actions=[
                a("run", "uname -r"),
                a("view", "", "compare"),
                a("view", "", "table"),
                a("hint", "uname prints the kernel."),
                a("try", "Run `uname -a` yourself."),
                a("solution", "uname -a"),
            ],
            i18n={
                "ja": {
                    "title": "このマシンを見る",
                    "text": "コンテナは**このカーネル**を共有します。",
                }
            },
        ),
        Step(
            "rootfs",
            "A rootfs by hand",
            2,
            text="Copy only what `ls` needs.",
            actions=[a("run", "ls /")],
        ),
        Step("chroot", "chroot into it", 3, text="Change the root.", requires=["docker"]),
    ]
    return Lesson(
        "03-fixed",
        folder,
        "Where am I",
        summary="This machine versus what Docker needs.",
        part="The host",
        steps=steps,
        i18n={"ja": {"title": "ここはどこ"}},
    )


def fixed_views() -> dict[str, Any]:
    """One fixed ViewResult per view (no machine-dependent data)."""
    from lab.views import compare, diff, output, proctree, table, tree

    leaf = tree.Node
    root_a = leaf(
        "/", "dir", children=[leaf("bin", "dir"), leaf("etc", "dir"), leaf("hello.sh", "file", 42)]
    )
    root_b = leaf(
        "/", "dir", children=[leaf("bin", "dir"), leaf("lib", "dir"), leaf("hello.sh", "file", 42)]
    )
    return {
        "output": ViewResult("output", {}, output.OutputData("uname -r", "6.1.0-lab\n", 0)),
        "table": ViewResult(
            "table",
            {},
            table.TableData(
                "/proc/self/status",
                [
                    table.Row("Name", "bash", "the command", "コマンド名"),
                    table.Row("Pid", "4242", "its process id", "プロセスID"),
                    table.Row("NSpid", "4242 1", "pid per namespace", "名前空間ごとのPID"),
                ],
            ),
        ),
        "tree": ViewResult("tree", {}, tree.TreeData("rootfs", root_a, sizes=True)),
        "trees": ViewResult(
            "trees",
            {},
            __import__("lab.views.trees", fromlist=["TreesData"]).TreesData(
                tree.TreeData("host /", root_a, only={"etc"}),
                tree.TreeData("container /", root_b, only={"lib"}),
            ),
        ),
        "diff": ViewResult(
            "diff",
            {},
            diff.DiffData(
                "host",
                "container",
                [
                    diff.Row("equal", "mnt:[4026531841]", "mnt:[4026531841]"),
                    diff.Row("replace", "pid:[4026531836]", "pid:[4026532210]"),
                    diff.Row("replace", "uts:[4026531838]", "uts:[4026532208]"),
                ],
            ),
        ),
        "proctree": ViewResult(
            "proctree",
            {},
            proctree.ProcTreeData(
                "processes",
                proctree.Proc(
                    1,
                    0,
                    "systemd",
                    "/sbin/init",
                    [
                        proctree.Proc(
                            100, 1, "bash", "bash", [proctree.Proc(200, 100, "sleep", "sleep 600")]
                        )
                    ],
                ),
                focus=100,
                highlight=200,
            ),
        ),
        "compare": ViewResult(
            "compare",
            {},
            compare.CompareData(
                "hostname",
                [
                    compare.Column("host", "hostname", "lab-host\n", 0, {"lab-host"}),
                    compare.Column("container", "hostname", "box\n", 0, {"box"}),
                    compare.Column("docker", "hostname", "3f2a1c\n", 0, {"3f2a1c"}),
                ],
            ),
        ),
    }


class ScriptedRunner:
    """A runner that replays fixed events: for snapshots that must not depend on the machine."""

    def __init__(self, lesson: Lesson, on_event: Any) -> None:
        from lab.lesson import runner as r

        self.r = r
        self.lesson = lesson
        self.on_event = on_event
        self.lang = "en"
        self.finished = 0

    def missing(self, step: Step) -> list[str]:
        return []

    def run_step(
        self, index: int, cancel: threading.Event | None = None, solution: bool = False
    ) -> StepResult:
        r, step = self.r, self.lesson.steps[index]
        views = fixed_views()
        res = StepResult(step.id, "passed", seconds=0.25)
        act = ActionResult("run", "uname -r", 0, 0, "6.1.0-lab\n", "", 0.01)
        self.on_event(r.ActionStarted(step.id, 0, "run", "uname -r"))
        self.on_event(r.Output(step.id, 0, "stdout", "6.1.0-lab"))
        self.on_event(r.ActionFinished(step.id, 0, act))
        res.actions.append(act)
        for name in ("compare", "table"):
            self.on_event(r.ViewReady(step.id, views[name]))
            res.views.append(views[name])
        check = CheckResult("command", "the kernel is 6.x", True, "saw 6.1.0-lab")
        self.on_event(r.CheckDone(step.id, check))
        res.checks.append(check)
        return res

    def check_step(self, index: int) -> list[CheckResult]:
        return [CheckResult("command", "the kernel is 6.x", True, "saw 6.1.0-lab")]

    def shell(self, index: int) -> list[str]:
        return ["true"]

    def finish(self) -> None:
        self.finished += 1


class ScriptedSession:
    def __init__(self, lesson: Lesson, on_event: Any) -> None:
        self.runner = ScriptedRunner(lesson, on_event)
        self.closed = False

    def close(self) -> None:
        self.closed = True
        self.runner.finish()
