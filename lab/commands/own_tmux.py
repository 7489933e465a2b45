"""The app in a tmux of its own: `shikumi` outside tmux starts itself inside a tmux
server of its own (socket ``shikumi-UID``, no user config: mouse on, the usual
Ctrl-b prefix, Esc passed at once), so `t` can open the learner's shell in a pane
beside it. ``--no-tmux`` (or SHIKUMI_NO_TMUX=1) opts out; without tmux, or without a
terminal, the app runs as it is (a second terminal: `shikumi shell`).
"""

from __future__ import annotations

import os
import shutil
import sys

OPTIONS = (
    ("mouse", "on"),  # click a pane to type in it
    ("escape-time", "10"),  # Esc reaches the app at once (tmux waits 500 ms by default)
    ("default-terminal", "tmux-256color"),
    ("terminal-overrides", ",*256col*:Tc"),  # true colour through, as the app draws it
    ("status-left", " shikumi "),
    ("status-right", " click a pane, or Ctrl-b o, to switch "),
    ("status-right-length", "60"),
)


def wanted(no_tmux: bool) -> bool:
    return (
        not no_tmux
        and os.environ.get("SHIKUMI_NO_TMUX") != "1"
        and not os.environ.get("TMUX")
        and shutil.which("tmux") is not None
        and sys.stdin.isatty()
        and sys.stdout.isatty()
    )


def argv(args: list[str]) -> list[str]:
    """tmux's argv: a server of the lab's, its options, then one session running the
    app (with SHIKUMI_NO_TMUX=1) in this terminal. Every value is an argv element."""
    out = ["tmux", "-L", f"shikumi-{os.getuid()}", "-f", "/dev/null", "start-server"]
    for name, value in OPTIONS:
        out += [";", "set-option", "-g", name, value]
    session = f"shikumi-{os.getpid()}"
    app = ["env", "SHIKUMI_NO_TMUX=1", sys.executable, "-m", "lab", *args]
    out += [";", "new-session", "-s", session, "-c", os.getcwd(), "--", *app]
    return out


def exec_in_own_tmux(args: list[str]) -> None:
    """Become tmux running the app (does not return)."""
    command = argv(args)
    os.execvp(command[0], command)
