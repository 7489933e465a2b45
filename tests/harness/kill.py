"""Kill harness: play each lesson and SIGKILL the lab at a random moment (its
children are orphaned, as after a real crash), then `shikumi cleanup`; after
every kill nothing of the lab's may remain. Reproducible with --seed.

    sudo .venv/bin/python -m tests.harness.kill [--seed N] [--kills 50] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.harness import state

REPO = Path(__file__).resolve().parents[2]
LAST: Result | None = None  # the last run's result (printed in the test suite's summary)


@dataclass
class Result:
    seed: int
    kills: int = 0
    lessons: dict[str, int] = field(default_factory=dict)  # lesson -> kills in it
    finished_before_kill: int = 0  # the play ended before its kill moment
    cleanups_failed: int = 0
    leaks: list[str] = field(default_factory=list)  # "kill N (lesson at t s): thing"
    host_changes: list[str] = field(default_factory=list)
    ip_forward_changed: bool = False
    seconds: float = 0.0


def lesson_ids() -> list[str]:
    r = subprocess.run(
        [sys.executable, "-m", "lab", "list", "--json"], capture_output=True, text=True, cwd=REPO
    )
    return [x["id"] for x in json.loads(r.stdout) if x.get("available", True)]


def run(
    seed: int, kills: int, lessons: list[str] | None = None, max_delay: float = 3.0, log=print
) -> Result:
    rng = random.Random(seed)
    res = Result(seed)
    t0 = time.monotonic()
    ids = lessons or lesson_ids()
    before_fwd = state.ip_forward()
    hashed = state.lesson_files()
    fp_before = state.host_fingerprint(hashed)
    with tempfile.TemporaryDirectory(prefix="shikumi-kill-") as tmp:
        home = Path(tmp) / "home"
        env = dict(os.environ, SHIKUMI_HOME=str(home))
        n = 0
        durations: dict[str, float] = {}  # learnt from plays that ended before their kill
        while res.kills < kills and n < kills * 3:
            lesson = ids[n % len(ids)]
            delay = rng.uniform(0.02, durations.get(lesson, max_delay))
            # what exists already is not this kill's (another lab instance, a test beside us)
            base = set(state.lab_things(home))
            p = subprocess.Popen(
                [sys.executable, "-m", "lab", "play", lesson, "--json"],
                env=env,
                cwd=REPO,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            deadline = time.monotonic() + delay
            while time.monotonic() < deadline and p.poll() is None:
                time.sleep(0.005)
            if p.poll() is None:
                p.send_signal(signal.SIGKILL)  # only the lab: its children are orphaned
                res.kills += 1
                res.lessons[lesson] = res.lessons.get(lesson, 0) + 1
            else:
                res.finished_before_kill += 1
                durations[lesson] = max(0.05, delay * 0.9)
            p.wait()
            n += 1
            c = subprocess.run(
                [sys.executable, "-m", "lab", "cleanup", "--json"],
                env=env,
                cwd=REPO,
                capture_output=True,
                text=True,
            )
            if c.returncode != 0:
                res.cleanups_failed += 1
            left = sorted(set(state.lab_things(home, owner=p.pid)) - base)
            for thing in left:
                res.leaks.append(f"kill {n} ({lesson} at {delay:.2f} s): {thing}")
            if left:
                log(f"kill {n}: {lesson} at {delay:.2f} s left {left}")
                subprocess.run(
                    [sys.executable, "-m", "lab", "cleanup", "--force"],
                    env=env,
                    cwd=REPO,
                    capture_output=True,
                )
    res.ip_forward_changed = state.ip_forward() != before_fwd
    res.host_changes = state.changed(fp_before, state.host_fingerprint(hashed))
    res.seconds = round(time.monotonic() - t0, 1)
    global LAST
    LAST = res
    return res


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--seed", type=int, default=int(os.environ.get("SHIKUMI_KILL_SEED", "20261123"))
    )
    ap.add_argument("--kills", type=int, default=50)
    ap.add_argument("--lesson", action="append", help="only these lessons (repeatable)")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("kill harness: needs root", file=sys.stderr)
        return 2
    res = run(args.seed, args.kills, args.lesson)
    if args.json:
        print(json.dumps(asdict(res), indent=2))
    else:
        print(summary(res))
    return 0 if not res.leaks and not res.host_changes and not res.cleanups_failed else 1


def summary(res: Result) -> str:
    return (
        f"kill harness (seed {res.seed}): {res.kills} kills over {len(res.lessons)} lessons"
        f" ({res.finished_before_kill} plays ended before their kill), {res.cleanups_failed} cleanups failed,"
        f" {len(res.leaks)} leaks, {len(res.host_changes)} host changes,"
        f" ip_forward {'changed' if res.ip_forward_changed else 'unchanged'}, {res.seconds} s"
    )


if __name__ == "__main__":
    raise SystemExit(main())
