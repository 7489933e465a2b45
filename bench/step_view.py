"""Step run to view shown, in the app: from pressing `r` to the step's view drawn
on screen, minus the command's own time (budget: under 100 ms). Headless Textual
(App.run_test) on a one-step lesson; prints the median; asserts nothing.

    python bench/step_view.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

LESSON = """+++
title = "bench"
summary = "one step, one command, one view"
part = "bench"
requires = []
+++
## One {#one}
A step.

```run
sleep 0.2
```
```view tree
path = "{{work}}"
depth = 1
```
"""


async def _measure(runs: int) -> list[float]:
    from lab.tui.app import ShikumiApp
    from lab.tui.widgets.view_panel import ViewPanel

    shown: list[float] = []
    original = ViewPanel.show

    def timed_show(self, view, lang):  # type: ignore[no-untyped-def]
        original(self, view, lang)
        self.call_after_refresh(lambda: shown.append(time.perf_counter()))

    ViewPanel.show = timed_show  # type: ignore[method-assign]
    out: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        lessons = Path(tmp) / "lessons" / "99-bench"
        lessons.mkdir(parents=True)
        (lessons / "lesson.md").write_text(LESSON)
        app = ShikumiApp(Path(tmp) / "home", "en", dirs=[lessons.parent], run_doctor=False)
        async with app.run_test(size=(120, 36)) as pilot:
            await pilot.press("enter")
            while type(app.screen).__name__ != "LessonScreen":
                await pilot.pause(0.01)
            screen = app.screen
            for _ in range(runs + 1):
                shown.clear()
                t0 = time.perf_counter()
                await pilot.press("r")
                while not shown or screen.running is not None:
                    await pilot.pause(0.005)
                own = screen.session.runner.ctx.results["one"][-1].seconds
                out.append(shown[0] - t0 - own)
            await pilot.press("q")
    ViewPanel.show = original  # type: ignore[method-assign]
    return out[1:]


def measure(runs: int = 10) -> float:
    return statistics.median(asyncio.run(_measure(runs)))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=10)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    m = measure(args.runs)
    if args.json:
        print(
            json.dumps(
                {
                    "step_to_view": {
                        "value": round(m * 1000, 1),
                        "unit": "ms",
                        "budget": 100.0,
                        "ok": m < 0.1,
                    }
                }
            )
        )
    else:
        print(
            f"step run to view shown in the app: {m * 1000:.0f} ms beyond the command's own time (median of {args.runs}); budget 100 ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
