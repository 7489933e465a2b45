"""Esc cancels a running step in the real app (tmux): a step whose command closes its
output and sleeps (`exec >/dev/null 2>&1; sleep 600`) is shown cancelled within 1 s of
the key, never passed, and its processes are gone."""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from test_app_terminal_gone import App, gone, marked, wait_for

QUIET = """+++
title = "A quiet long step"
part = "The host"
+++
## Wait quietly {#quiet}
```run timeout=900
echo start; exec >/dev/null 2>&1; sleep 600
```
"""


def test_esc_cancels_a_quiet_long_step_within_a_second(tmp_path: Path) -> None:
    app = App(tmp_path, "04")
    (app.lessons / "04-quiet").mkdir()
    (app.lessons / "04-quiet" / "lesson.md").write_text(QUIET)
    with app:
        app.wait_screen("Step 1/")
        app.keys("r")
        wait_for(lambda: marked(app.pid, "sleep 600"), what="the step's sleep 600")
        t0 = time.monotonic()
        app.keys("Escape")
        wait_for(lambda: "cancelled" in app.screen(), 5, "the step to show cancelled", 0.02)
        took = time.monotonic() - t0
        shown = app.screen()
        assert took < 1.0, f"Esc took {took:.2f} s"
        assert "passed" not in shown
        wait_for(lambda: not marked(app.pid, "sleep 600"), 2, "the step's sleep to go")
        assert "Step 1/" in shown  # Esc while running cancels; it does not leave the lesson
        app.keys("q")
        wait_for(lambda: gone(app.pid), 10, "the app to quit")
    app.assert_nothing_left()
