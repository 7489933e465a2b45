"""App start: from process start to an interactive lesson list (budget: under 1 s).

Starts the real app (`python -m lab`) in a tmux pane and polls the screen until
the lesson list is drawn with its footer (the app is then reading keys). After
each run it sends `q` and waits (up to 10 s) for the very process it started to
exit; an app that does not exit is killed and the benchmark fails loudly (it would
otherwise spin on the gone terminal and skew every figure measured after it).
Before measuring it refuses to run while stray shikumi app processes are alive.
Prints the median of several runs and its ratio to the budget; no asserts.

    python bench/app_start.py [--runs N] [--json] [--allow-strays]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
BUDGET = 1.0  # seconds
FIRST_ROW = re.compile(r"^\W*01\s+\S", re.M)  # lesson 01's row in the list
EXIT_WAIT = 10.0  # seconds the app gets to exit after `q`
APP_SUBCOMMANDS = ("open", "serve")  # the subcommands that run the app (no subcommand does too)


class AppDidNotExit(RuntimeError):
    """The app the benchmark started was still running EXIT_WAIT s after `q`."""


def tmux(*args: str) -> str:
    return subprocess.run(
        ["tmux", *args], capture_output=True, text=True, check=False, timeout=10
    ).stdout


# -- finding shikumi processes ----------------------------------------------------------


@dataclass
class Proc:
    pid: int
    argv: list[str]
    state: str
    cpu_seconds: float  # user + system so far

    @property
    def line(self) -> str:
        return (
            f"pid {self.pid} [{self.state}] {self.cpu_seconds:.1f} s CPU: {shlex.join(self.argv)}"
        )


def _read_proc(pid: int) -> Proc | None:
    try:
        with open(f"/proc/{pid}/cmdline", "rb") as f:
            argv = [a.decode(errors="replace") for a in f.read().split(b"\0") if a]
        with open(f"/proc/{pid}/stat", "rb") as f:
            rest = f.read().rsplit(b")", 1)[1].split()
    except OSError:
        return None
    if not argv or len(rest) < 13:
        return None
    ticks = os.sysconf("SC_CLK_TCK")
    return Proc(pid, argv, rest[0].decode(), (int(rest[11]) + int(rest[12])) / ticks)


def shikumi_args(argv: list[str]) -> list[str] | None:
    """The arguments after the program if *argv* runs the lab (`shikumi …` or
    `python -m lab …`), else None."""
    for i, a in enumerate(argv):
        if a == "-m" and i + 1 < len(argv) and argv[i + 1] == "lab":
            return argv[i + 2 :]
    if argv and Path(argv[0]).name == "shikumi":
        return argv[1:]
    if (
        len(argv) > 1
        and Path(argv[0]).name.startswith("python")
        and Path(argv[1]).name == "shikumi"
    ):
        return argv[2:]
    return None


def is_app(args: list[str]) -> bool:
    """The app (a screen), not `play`, `check`, …: no subcommand, or open/serve."""
    it = iter(args)
    for a in it:
        if a == "--lang":  # the one top-level option with a value
            next(it, None)
        elif not a.startswith("-"):
            return a in APP_SUBCOMMANDS
    return True


def _ancestors() -> set[int]:
    out, pid = set(), os.getpid()
    while pid > 1:
        out.add(pid)
        try:
            with open(f"/proc/{pid}/stat", "rb") as f:
                pid = int(f.read().rsplit(b")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            break
    return out


def stray_apps() -> list[Proc]:
    """Running shikumi app processes not started by this benchmark (zombies aside)."""
    mine = _ancestors()
    found = []
    for name in os.listdir("/proc"):
        if not name.isdigit() or int(name) in mine:
            continue
        p = _read_proc(int(name))
        if p is None or p.state in ("Z", "X"):
            continue
        args = shikumi_args(p.argv)
        if args is not None and is_app(args):
            found.append(p)
    return found


def refuse_strays(allow: bool) -> bool:
    """Say loudly which stray apps are alive. True when the benchmark may go on."""
    strays = stray_apps()
    if not strays:
        return True
    lines = "\n".join("  " + p.line for p in strays)
    pids = " ".join(str(p.pid) for p in strays)
    print(
        f"bench: {len(strays)} shikumi app process(es) already running; each can spin on a"
        f" gone terminal and skew every figure:\n{lines}\n"
        f"  end them first (kill {pids}) or pass --allow-strays to measure anyway",
        file=sys.stderr,
    )
    if allow:
        print("bench: WARNING: measuring with stray apps alive (--allow-strays)", file=sys.stderr)
    return allow


# -- one app under tmux -----------------------------------------------------------------


def _children(pid: int) -> list[int]:
    out: list[int] = []
    try:
        for tid in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                out += [int(x) for x in f.read().split()]
    except OSError:
        pass
    return out


def app_pid(pane_pid: int, timeout: float = 5.0) -> int | None:
    """The app under a tmux pane: the pane's process itself once it exec'd the app,
    else its descendant that runs it."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        todo = [pane_pid]
        while todo:
            pid = todo.pop(0)
            p = _read_proc(pid)
            if p is not None and shikumi_args(p.argv) is not None:
                return pid
            todo += _children(pid)
        time.sleep(0.005)
    return None


def _starttime(pid: int) -> int | None:
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            return int(f.read().rsplit(b")", 1)[1].split()[19])
    except (OSError, ValueError, IndexError):
        return None


def _running(pid: int, start: int | None) -> bool:
    p = _read_proc(pid)
    return p is not None and p.state not in ("Z", "X") and _starttime(pid) == start


class TmuxApp:
    """The app started in a detached tmux session; `close()` quits it with `q` and
    waits for that very process to exit (raises AppDidNotExit, after killing it)."""

    def __init__(self, home: Path, args: tuple[str, ...] = ()) -> None:
        self.name = f"shikumi-bench-{uuid.uuid4().hex[:8]}"
        env = f"SHIKUMI_HOME={shlex.quote(str(home))} LANG=C.UTF-8 TERM=xterm-256color"
        cmd = shlex.join([sys.executable, "-m", "lab", *args])
        self.command = f"cd {shlex.quote(str(REPO))} && exec env -u COLUMNS -u LINES {env} {cmd}"
        self.pid: int | None = None
        self.start: int | None = None

    def open(self) -> None:
        tmux("new-session", "-d", "-s", self.name, "-x", "120", "-y", "36", self.command)
        pane = tmux("display-message", "-p", "-t", self.name, "#{pane_pid}").strip()
        if pane.isdigit():
            self.pid = app_pid(int(pane))
            self.start = _starttime(self.pid) if self.pid else None
        if self.pid is None:
            self.close()
            raise RuntimeError(f"could not find the app's process under tmux session {self.name}")

    def screen(self) -> str:
        return tmux("capture-pane", "-p", "-t", self.name)

    def keys(self, *keys: str) -> None:
        tmux("send-keys", "-t", self.name, *keys)

    def close(self) -> None:
        try:
            if self.pid is not None and _running(self.pid, self.start):
                self.keys("q")
                end = time.monotonic() + EXIT_WAIT
                while _running(self.pid, self.start) and time.monotonic() < end:
                    time.sleep(0.02)
                if _running(self.pid, self.start):
                    state = _read_proc(self.pid)
                    os.kill(self.pid, signal.SIGKILL)
                    raise AppDidNotExit(
                        f"the app (pid {self.pid}, {state.line if state else '?'}) was still"
                        f" running {EXIT_WAIT:.0f} s after `q`; killed it"
                    )
        finally:
            tmux("kill-session", "-t", self.name)

    def __enter__(self) -> TmuxApp:
        self.open()
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def one_run(home: Path) -> float:
    t0 = time.perf_counter()
    with TmuxApp(home) as app:
        while time.perf_counter() - t0 < 20:
            screen = app.screen()
            # header, footer and the first lesson's row: the list is live and filled
            if "Lessons" in screen and "Quit" in screen and FIRST_ROW.search(screen):
                return time.perf_counter() - t0
            time.sleep(0.005)
        raise RuntimeError(f"the lesson list never showed:\n{screen}")


def peak_rss(home: Path, lesson: str = "02", steps: int = 3) -> int:
    """The app's peak resident memory (VmHWM, bytes) after opening a lesson and
    running its first steps."""
    with TmuxApp(home, ("open", lesson)) as app:
        deadline = time.perf_counter() + 20
        while "Step 1/" not in app.screen():
            if time.perf_counter() > deadline:
                raise RuntimeError(f"lesson {lesson} never showed:\n{app.screen()}")
            time.sleep(0.05)
        for _ in range(steps):
            app.keys("r")
            time.sleep(1.5)
            app.keys("n")
            time.sleep(0.3)
        with open(f"/proc/{app.pid}/status") as f:
            for line in f:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) * 1024
        raise RuntimeError(f"no VmHWM in /proc/{app.pid}/status")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--allow-strays", action="store_true", help="measure even with stray apps")
    args = ap.parse_args()
    if shutil.which("tmux") is None:
        print("app_start: needs tmux", file=sys.stderr)
        return 2
    if not refuse_strays(args.allow_strays):
        return 3
    try:
        with tempfile.TemporaryDirectory(prefix="shikumi-bench-") as tmp:
            home = Path(tmp) / "home"
            one_run(home)  # warm the page cache and .pyc files
            times = [one_run(home) for _ in range(args.runs)]
    except AppDidNotExit as e:
        print(f"app_start: FAILED: {e}", file=sys.stderr)
        return 1
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
                        "ratio": round(median / BUDGET, 2),
                        "runs": len(times),
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
