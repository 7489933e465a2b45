"""The practice-beside-the-app budgets (bench/run.py calls these; prints nothing itself).

practice_snapshot          one kernel state snapshot of a typical step (lesson 07's
                           "shell" step: its rootfs, work dir, the learner's shell as
                           process root) vs reading /proc/self/mountinfo, interleaved
practice_prompt_to_checks  a real try shell (bash, recorded, prompt reported in band),
                           a command typed on its stdin: from the prompt seen in the
                           recording to the checks and the diff ready (the watcher's
                           round); beside it, from the keystroke to the update
practice_idle_cpu          the real app in tmux, lesson 07 step 4 run and its shell
                           open beside (t), idle: the app's CPU (itself and the
                           commands it runs) over ~10 s, in % of one core
"""

from __future__ import annotations

import os
import queue
import subprocess
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parent.parent


def _lesson07():
    from lab.lesson.loader import load_lesson

    lesson, problems = load_lesson(REPO / "lessons" / "07-chroot")
    if lesson is None:
        raise RuntimeError(f"lesson 07 does not load: {problems}")
    return lesson


def _shell_step(lesson) -> int:
    return next(i for i, s in enumerate(lesson.steps) if s.id == "shell")


def with_shell_step(fn: Callable[[Any, int, subprocess.Popen], Any]) -> Any:
    """Lesson 07 run to its "shell" step in a scratch home, the learner's shell open
    (stdin a pipe): ``fn(runner, index, shell)``; everything undone after."""
    from lab.host import proc_run
    from lab.lesson.runner import Runner
    from lab.safety.journal import Journal

    lesson = _lesson07()
    index = _shell_step(lesson)
    with (
        tempfile.TemporaryDirectory(prefix="shikumi-bench-") as tmp,
        Journal.open(Path(tmp) / "home") as j,
    ):
        r = Runner(lesson, j)
        try:
            for i in range(index + 1):
                r.run_step(i)
            shell = proc_run.start(  # its own process group: stop() kills all of it
                r.shell(index),
                stdin=subprocess.PIPE,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                return fn(r, index, shell)
            finally:
                proc_run.stop(shell)
        finally:
            r.finish()


def snapshot_times(rounds: int) -> dict[str, list[float]]:
    from lab.lesson.scope import scope_for
    from lab.ops import changes

    def measure(r, index: int, shell: subprocess.Popen) -> dict[str, list[float]]:
        time.sleep(0.3)  # the shell is up
        scope = scope_for(r, index, shell.pid)

        def snap() -> float:
            t0 = time.perf_counter()
            changes.take(scope)
            return time.perf_counter() - t0

        def mountinfo() -> float:
            t0 = time.perf_counter()
            with open("/proc/self/mountinfo", "rb") as f:
                f.read()
            return time.perf_counter() - t0

        from run import interleave  # bench/run.py's, the same A B / B A rounds

        return interleave({"snapshot": snap, "mountinfo": mountinfo}, rounds)

    return with_shell_step(measure)


def prompt_times(rounds: int) -> dict[str, list[float]]:
    """Per typed command: the watcher's prompt-to-ready time and keystroke-to-update."""
    from lab.lesson.watch import Watcher

    def measure(r, index: int, shell: subprocess.Popen) -> dict[str, list[float]]:
        q: queue.Queue = queue.Queue()
        w = Watcher(r, index, r.try_log(index), q.put, shell_pid=shell.pid, views=False)
        w.start()
        out: dict[str, list[float]] = {"round": [], "keystroke": []}
        try:
            _until(q, lambda u: u.trigger == "start")
            _until(q, lambda u: u.trigger == "prompt", timeout=10)  # the first prompt
            assert shell.stdin is not None
            for n in range(rounds):
                t0 = time.perf_counter()
                shell.stdin.write(f"echo {n} > $SHIKUMI_WORK/bench-{n}\n".encode())
                shell.stdin.flush()
                u = _until(q, lambda u: u.trigger == "prompt")
                out["keystroke"].append(time.perf_counter() - t0)
                out["round"].append(u.seconds)
                if not any(f"bench-{n}" in c.text for c in u.changes):
                    raise RuntimeError(f"the diff missed the file of command {n}: {u.changes}")
        finally:
            w.stop()
        return out

    return with_shell_step(measure)


def _until(q: queue.Queue, want: Callable[[Any], bool], timeout: float = 5.0) -> Any:
    end = time.monotonic() + timeout
    while True:
        u = q.get(timeout=max(0.01, end - time.monotonic()))
        if want(u):
            return u


def _cpu_ticks(pid: int) -> int:
    """utime + stime + cutime + cstime of *pid* (clock ticks)."""
    with open(f"/proc/{pid}/stat", "rb") as f:
        rest = f.read().rsplit(b")", 1)[1].split()
    return sum(int(x) for x in rest[11:15])


def idle_cpu(seconds: float = 10.0) -> tuple[float, float, str]:
    """% of one core the app uses while its shell beside is open and idle, and (the
    baseline) on the same step before the shell opened."""
    import app_start

    hz = os.sysconf("SC_CLK_TCK")

    def sample(pid: int) -> tuple[float, float]:
        c0, t0 = _cpu_ticks(pid), time.perf_counter()
        time.sleep(seconds)
        c1, t1 = _cpu_ticks(pid), time.perf_counter()
        return (c1 - c0) / hz, t1 - t0

    with tempfile.TemporaryDirectory(prefix="shikumi-bench-") as tmp:
        home = Path(tmp) / "home"
        with app_start.TmuxApp(home, ("open", "07")) as app:
            assert app.pid is not None
            _wait(app, "Step 1/8")
            app.keys("r")
            _wait(app, "✓ the runtime environment is in place")
            app.keys("4")
            _wait(app, "Step 4/8")
            app.keys("r")
            _wait(app, "Only this step")  # steps 2-3 did not run here: run 4 alone
            app.keys("Tab", "Enter")
            _wait(app, "○ a file written")
            time.sleep(1.0)
            base_cpu, base_wall = sample(app.pid)
            app.keys("t")
            # the shell's pane opened (below the app at 120 columns, where the app's
            # 18 rows show one panel at a time: What changed may not be the one shown)
            end = time.monotonic() + 20
            while len(app_start.tmux("list-panes", "-t", app.name).splitlines()) < 2:
                if time.monotonic() > end:
                    raise RuntimeError("the shell's pane never opened")
                time.sleep(0.05)
            app_start.tmux("select-pane", "-t", f"{app.name}:0.0")  # keys (q) go to the app
            time.sleep(2.0)  # settle: the shell's first prompt, the first ticks
            cpu, wall = sample(app.pid)
    pct, base = cpu / wall * 100, base_cpu / base_wall * 100
    detail = (
        f"{cpu * 1000:.0f} ms of CPU in {wall:.1f} s with the shell beside (app + its commands);"
        f" the same step without it: {base:.2f} %"
    )
    return pct, base, detail


def _wait(app, text: str, timeout: float = 20.0) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        import app_start

        if text in app_start.tmux("capture-pane", "-p", "-t", f"{app.name}:0.0"):
            return
        time.sleep(0.05)
    raise RuntimeError(f"{text!r} never showed on the app's pane")
