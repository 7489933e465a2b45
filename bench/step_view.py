"""Step run to view shown, in the app: from pressing `r` to the step's view drawn on
screen, against the same command (`bash -c true`, the step's env and cwd) run bare by
subprocess, the two interleaved in the same run (budget: under 100 ms beyond the
command). Headless Textual (App.run_test) on a one-step lesson; prints medians and
their difference; asserts nothing.

    python bench/step_view.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

BUDGET_MS = 100.0
LESSON = """+++
title = "bench"
summary = "one step: one command, one view"
part = "bench"
requires = []
+++
## One {#one}
A step.

```run
true
```
```view tree
path = "{{work}}"
depth = 1
```
"""


def write_lesson(tmp: Path) -> Path:
    """The one-step lesson, as tmp/lessons/99-bench; returns its folder."""
    d = tmp / "lessons" / "99-bench"
    d.mkdir(parents=True)
    (d / "lesson.md").write_text(LESSON)
    return d


def bare_run(argv: list[str], env: dict[str, str], cwd: Path) -> float:
    t0 = time.perf_counter()
    subprocess.run(
        argv,
        check=True,
        env=env,
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        capture_output=True,  # pipes, as execute.run reads the command's output
        timeout=30,
    )
    return time.perf_counter() - t0


async def _measure(rounds: int) -> tuple[list[float], list[float]]:
    from lab.lesson import execute
    from lab.tui.app import ShikumiApp
    from lab.tui.widgets.view_panel import ViewPanel

    shown: list[float] = []
    original = ViewPanel.show

    def timed_show(self, view, lang):  # type: ignore[no-untyped-def]
        original(self, view, lang)
        self.call_after_refresh(lambda: shown.append(time.perf_counter()))

    ViewPanel.show = timed_show  # type: ignore[method-assign]
    app_t: list[float] = []
    bare_t: list[float] = []
    try:
        with tempfile.TemporaryDirectory() as tmp:
            lessons = write_lesson(Path(tmp)).parent
            app = ShikumiApp(Path(tmp) / "home", "en", dirs=[lessons], run_doctor=False)
            async with app.run_test(size=(120, 36)) as pilot:
                await app.workers.wait_for_complete()  # the lessons are read in a worker
                await pilot.press("enter")
                end = time.monotonic() + 20
                while type(app.screen).__name__ != "LessonScreen":
                    if time.monotonic() > end:
                        raise RuntimeError("the app never opened the bench lesson")
                    await pilot.pause(0.01)
                screen = app.screen
                argv = execute.command_argv("true")  # what the step runs

                async def in_app() -> float:
                    shown.clear()
                    t0 = time.perf_counter()
                    await pilot.press("r")
                    end = time.monotonic() + 20
                    while not shown or screen.running is not None:  # type: ignore[attr-defined]
                        if time.monotonic() > end:
                            raise RuntimeError("the step's view never showed in the app")
                        await pilot.pause(0.005)
                    return shown[0] - t0

                def bare() -> float:
                    runner = screen.session.runner  # type: ignore[attr-defined]
                    return bare_run(argv, runner.env(), runner.work)

                await in_app()  # warm up (and make the work dir bare() runs in)
                bare()
                for i in range(rounds):  # interleaved, the order swapped every other round
                    if i % 2:
                        bare_t.append(bare())
                        app_t.append(await in_app())
                    else:
                        app_t.append(await in_app())
                        bare_t.append(bare())
                await pilot.press("q")
    finally:
        ViewPanel.show = original  # type: ignore[method-assign]
    return app_t, bare_t


def measure(rounds: int = 10) -> tuple[list[float], list[float]]:
    """Seconds of each round: (`r` to the view drawn in the app, the bare command)."""
    return asyncio.run(_measure(rounds))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    app_t, bare_t = measure(args.runs)
    a, b = statistics.median(app_t) * 1000, statistics.median(bare_t) * 1000
    if args.json:
        print(
            json.dumps(
                {
                    "step_to_view": {
                        "value": round(a - b, 1),
                        "unit": "ms beyond the command",
                        "budget": BUDGET_MS,
                        "ok": a - b <= BUDGET_MS,
                        "measured": round(a, 3),
                        "baseline": round(b, 3),
                        "ratio": round(a / b, 3),
                        "runs": args.runs,
                    }
                }
            )
        )
    else:
        print(
            f"step run to view shown in the app: {a:.1f} ms vs the bare command {b:.1f} ms:"
            f" {a - b:.1f} ms beyond it (medians of {args.runs} interleaved rounds);"
            f" budget {BUDGET_MS:.0f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
