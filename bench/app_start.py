"""App start: from process start to an interactive lesson list (budget: under 1 s).

Starts the real app (`python -m lab`) in a tmux pane and polls the screen until
the lesson list is drawn with its footer (the app is then reading keys).
Prints the median of several runs and its ratio to the budget; no asserts.

    python bench/app_start.py [--runs N] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET = 1.0  # seconds


def tmux(*args: str) -> str:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, check=False).stdout


def one_run(home: Path) -> float:
    name = f"shikumi-bench-{uuid.uuid4().hex[:8]}"
    env = f"SHIKUMI_HOME={home} LANG=C.UTF-8 TERM=xterm-256color"
    command = f"cd {REPO} && exec env -u COLUMNS -u LINES {env} {sys.executable} -m lab"
    t0 = time.perf_counter()
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", command)
    try:
        while time.perf_counter() - t0 < 20:
            screen = tmux("capture-pane", "-p", "-t", name)
            if "Lessons" in screen and "Quit" in screen:  # header and footer: the list is live
                return time.perf_counter() - t0
            time.sleep(0.005)
        raise RuntimeError(f"the lesson list never showed:\n{screen}")
    finally:
        tmux("send-keys", "-t", name, "q")
        time.sleep(0.3)
        tmux("kill-session", "-t", name)


def peak_rss(home: Path, lesson: str = "02", steps: int = 3) -> int | None:
    """The app's peak resident memory (VmHWM, bytes) after opening a lesson and
    running its first steps, or None if it could not be read."""
    name = f"shikumi-bench-{uuid.uuid4().hex[:8]}"
    env = f"SHIKUMI_HOME={home} LANG=C.UTF-8 TERM=xterm-256color"
    command = (
        f"cd {REPO} && exec env -u COLUMNS -u LINES {env} {sys.executable} -m lab open {lesson}"
    )
    tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "36", command)
    try:
        pid = int(tmux("display-message", "-p", "-t", name, "#{pane_pid}").strip() or 0)
        deadline = time.perf_counter() + 20
        while "Step 1/" not in tmux("capture-pane", "-p", "-t", name):
            if time.perf_counter() > deadline:
                return None
            time.sleep(0.05)
        for _ in range(steps):
            tmux("send-keys", "-t", name, "r")
            time.sleep(1.5)
            tmux("send-keys", "-t", name, "n")
            time.sleep(0.3)
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        return None
    except (OSError, ValueError):
        return None
    finally:
        tmux("send-keys", "-t", name, "q")
        time.sleep(1.0)
        tmux("kill-session", "-t", name)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        print("app_start: needs tmux", file=sys.stderr)
        return 2
    with tempfile.TemporaryDirectory(prefix="shikumi-bench-") as tmp:
        home = Path(tmp) / "home"
        one_run(home)  # warm the page cache and .pyc files
        times = [one_run(home) for _ in range(args.runs)]
    median = statistics.median(times)
    if args.json:
        print(
            json.dumps(
                {
                    "app_start": {
                        "value": round(median, 3),
                        "unit": "s",
                        "budget": BUDGET,
                        "ok": median < BUDGET,
                    }
                }
            )
        )
    else:
        print(
            f"app start to interactive lesson list: {median * 1000:.0f} ms median of {len(times)}"
            f" (min {min(times) * 1000:.0f}, max {max(times) * 1000:.0f}); budget {BUDGET * 1000:.0f} ms;"
            f" ratio {median / BUDGET:.2f}"
        )
    return 0


if __name__ == "__main__":
    os.environ.pop("TMUX", None)
    raise SystemExit(main())
