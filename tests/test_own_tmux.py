"""`shikumi` outside tmux starts itself in a tmux of its own (lab/commands/own_tmux.py):
when it does, and the argv it becomes (every value an argv element)."""

from __future__ import annotations

import os
import sys

from lab.cli import build_parser
from lab.commands import own_tmux


def test_wanted_only_in_a_terminal_outside_tmux(monkeypatch) -> None:
    monkeypatch.setattr(own_tmux.shutil, "which", lambda name: "/usr/bin/tmux")
    monkeypatch.setattr(sys.stdin, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.delenv("TMUX", raising=False)
    monkeypatch.delenv("SHIKUMI_NO_TMUX", raising=False)
    assert own_tmux.wanted(False)
    assert not own_tmux.wanted(True)  # --no-tmux
    monkeypatch.setenv("SHIKUMI_NO_TMUX", "1")  # the app inside its own tmux
    assert not own_tmux.wanted(False)
    monkeypatch.delenv("SHIKUMI_NO_TMUX")
    monkeypatch.setenv("TMUX", "/tmp/tmux-0/default,1,0")  # already inside a tmux
    assert not own_tmux.wanted(False)
    monkeypatch.delenv("TMUX")
    monkeypatch.setattr(sys.stdout, "isatty", lambda: False, raising=False)
    assert not own_tmux.wanted(False)
    monkeypatch.setattr(sys.stdout, "isatty", lambda: True, raising=False)
    monkeypatch.setattr(own_tmux.shutil, "which", lambda name: None)  # no tmux installed
    assert not own_tmux.wanted(False)


def test_the_argv_is_a_server_of_the_labs_running_the_app() -> None:
    argv = own_tmux.argv(["open", "07; rm -rf /"])
    assert argv[:6] == ["tmux", "-L", f"shikumi-{os.getuid()}", "-f", "/dev/null", "start-server"]
    assert argv[argv.index("mouse") - 2 : argv.index("mouse") + 2] == [
        "set-option",
        "-g",
        "mouse",
        "on",
    ]
    tail = argv[argv.index("--") + 1 :]
    assert tail == ["env", "SHIKUMI_NO_TMUX=1", sys.executable, "-m", "lab", "open", "07; rm -rf /"]


def test_no_tmux_is_an_option_of_the_app_and_of_open() -> None:
    p = build_parser()
    assert p.parse_args(["--no-tmux"]).no_tmux is True
    assert p.parse_args(["open", "07", "--no-tmux"]).no_tmux is True
    assert p.parse_args(["open", "07"]).no_tmux is False
