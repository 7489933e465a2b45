"""`shikumi shell`: in a second terminal, the shell of the step the running app is on.

The app (outside tmux) writes the step's shell to ``practice.json`` in the home when
the step waits for the learner; this command checks that the app still runs, says
where the shell is, and becomes that shell (exec: its exit status is the command's).
The app watches it: its checks turn green and its "What changed" panel fills as the
learner types here. The argv is the lab's own (journaled and marked by the app, so
leaving the step, the lesson or the app kills all it started).
"""

from __future__ import annotations

import argparse
import os
import sys

from lab.errors import LabError


def cmd_shell(args: argparse.Namespace) -> int:
    from lab.lesson.practice import read_state
    from lab.safety.home import home_dir

    if os.geteuid() != 0:
        raise LabError("the step's shell needs root, like the app", "sudo shikumi shell")
    data = read_state(home_dir())
    if not sys.stdin.isatty():
        raise LabError("shikumi shell is interactive: run it in a terminal", "")
    ja = getattr(args, "lang", None) == "ja"
    where = f"{data['lesson']} · {data['step']} · {data['title']} ({data['context']})"
    line = (
        "ステップのシェル（アプリがチェックを見ています。exit で終了）"
        if ja
        else "the step's shell (the app watches the checks; exit to leave)"
    )
    print(f"\033[1;36mshikumi\033[0m {where}\n{line}", flush=True)
    argv = data["argv"]
    os.execvp(argv[0], argv)
    return 0  # not reached
