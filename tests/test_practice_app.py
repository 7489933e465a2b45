"""Practice beside the app, in the app (Textual pilot): outside tmux a step that waits
for the learner is offered to a second terminal; the shell `shikumi shell` would run
(the argv from practice.json, a real bash recorded by `script`) is fed commands on its
stdin; the app's checks turn green and its What changed panel lists the file, while
the app stays live; leaving the step kills the shell and what it started.

Only files in a temporary home change: no kernel lock needed."""

from __future__ import annotations

import subprocess
import time

from test_app import answer_deps, make_app, open_demo, wait_for
from test_app_helpers import write_lessons

from lab.lesson.practice import STATE, read_state
from lab.safety import procs
from lab.tui.widgets.changes import WhatChanged
from tests.support import need_tool


async def test_the_app_watches_a_second_terminals_shell(tmp_path, monkeypatch) -> None:
    need_tool("script", "bash")
    monkeypatch.delenv("TMUX", raising=False)  # outside tmux: the second-terminal way
    lessons = write_lessons(tmp_path)
    home = tmp_path / "home"
    home.mkdir()
    app = make_app((lessons, home))
    async with app.run_test(size=(120, 40)) as pilot:
        screen = await open_demo(pilot)
        await wait_for(pilot, lambda: screen.session is not None)
        await pilot.press("2", "r")
        await answer_deps(pilot)  # step 1 did not run in this session: run step 2 only
        await wait_for(pilot, lambda: (home / STATE).exists())
        state = read_state(home)  # what `shikumi shell` checks and runs
        assert state["lesson"] == "01-demo" and state["step"] == 2 and state["context"] == "host"
        panel = screen.query_one(WhatChanged)
        shell = subprocess.Popen(
            state["argv"],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert shell.stdin is not None
            shell.stdin.write(b"touch x\nsleep 4343 &\n")
            shell.stdin.flush()
            await wait_for(pilot, lambda: screen.statuses.get("your-turn") == "passed")
            await wait_for(pilot, lambda: "x (0 B)" in panel.text().plain)
            assert "+ files: $SHIKUMI_HOME/work/01-demo/x (0 B)" in panel.text().plain
            assert "the file x exists" in screen.bench.checks_shown
            marker = next(a for a in state["argv"] if a.startswith(procs.MARK_VAR + "="))
            await wait_for(pilot, lambda: len(procs.with_marker(marker.split("=", 1)[1])) >= 3)
            await pilot.press("n")  # leaving the step: the shell and its job are killed
            end = time.monotonic() + 10
            while shell.poll() is None and time.monotonic() < end:
                await pilot.pause(0.05)
            assert shell.poll() is not None, "the shell was killed with the step left"
            assert procs.with_marker(marker.split("=", 1)[1]) == []
            assert not (home / STATE).exists()
            assert not screen.query(WhatChanged)
        finally:
            if shell.poll() is None:
                shell.kill()
            shell.wait(5)


def test_what_changed_shortens_the_home_only_where_it_is_a_whole_path() -> None:
    """Seen walking lesson 23: Docker's data root /var/lib/shikumi-docker beside the
    home /var/lib/shikumi was shown as "$SHIKUMI_HOME-docker"."""
    panel = WhatChanged(home="/var/lib/shikumi/")
    assert (
        panel.short("/var/lib/shikumi-docker/overlay2/x/merged (overlay overlay)")
        == "/var/lib/shikumi-docker/overlay2/x/merged (overlay overlay)"
    )
    assert panel.short("/var/lib/shikumi/work/a.txt (3 B)") == "$SHIKUMI_HOME/work/a.txt (3 B)"
    assert panel.short("/var/lib/shikumi") == "$SHIKUMI_HOME"
