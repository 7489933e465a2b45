"""Kill harness: SIGKILL the lab at seeded random moments, spread over each lesson's
whole measured run, then `shikumi cleanup`; after every kill nothing of the lab's
may remain, and the host's binaries, libraries and configuration are unchanged.

Three kinds of victim, in turn:

- ``play``: `shikumi play LESSON`, killed at a moment drawn uniformly over that
  lesson's measured play (the same command, measured once per run) (its children are orphaned, as after a real crash);
- ``app``: the app in tmux, opened at a step (drawn uniformly among the lesson's
  steps), `r` pressed, its python process killed at a moment drawn uniformly over
  that step's measured length in the play, counted from when the step's work began
  (its first journal entry; before it, the key is still on its way);
- ``cleanup``: a play killed mid-lesson (at a drawn moment, or as soon after as it
  has journaled work) so there is work to undo, then `shikumi cleanup` itself
  killed at a moment drawn uniformly over the measured length of such a
  cleanup's recovery (from taking the journal's lock to its exit: before it, the
  interpreter is only starting); then cleaned again.

After each: `shikumi cleanup`, then a leak check (mounts, netns and links shk*,
cgroups shikumi*, marked processes, iptables rules carrying the lab's comment,
Docker containers and images named shikumi-*).

A kill is *real* only if the victim was still running when the signal landed and
had journaled work in flight: the journal still held active entries once it was
dead (for a cleanup: it was inside recovery, holding the journal's lock, and left
entries undone). A kill whose victim ended first is *ended before its kill*; one
that landed while the victim ran with no journaled work in flight (the interpreter
still starting, or the lesson's work already undone and the process about to exit)
is *idle*. The harness keeps going until it has made the asked-for number of real
kills (at most 4x as many attempts).

    sudo .venv/bin/python -m tests.harness.kill --kills 120 --seed 1

Set SHIKUMI_KERNEL_LOCK=/tmp/shikumi-kernel.lock to hold that lock (fcntl.flock)
around each measurement and each kill+cleanup+check iteration only, so other users
of the machine's kernel state can interleave (SHIKUMI_KERNEL_LOCK_HOLD=S keeps it
for the next iterations until it has been held S seconds).
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import json
import os
import random
import re
import shlex
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path

from tests.harness import state

REPO = Path(__file__).resolve().parents[2]
KINDS = ("play", "app", "cleanup")
CYCLE = ("play", "app", "play", "cleanup")  # the order kinds take turns in
LAST: Result | None = None  # the last run's result (printed in the test suite's summary)
STEP_LINE = re.compile(r"^Step (\d+)/(\d+) ")


@dataclass
class Measured:
    """One lesson's whole `shikumi play`, measured once per run."""

    seconds: float  # from the start of the process to its exit
    steps: list[float]  # when each step's heading was printed, from the start
    cleanup: float  # a `shikumi cleanup` after the play was killed half-way
    exit: int = 0  # the play's exit status
    recovery: float = -1.0  # that cleanup, from taking the journal's lock to its exit

    def step_window(self, i: int) -> tuple[float, float]:
        start = self.steps[i]
        end = self.steps[i + 1] if i + 1 < len(self.steps) else self.seconds
        return start, max(end, start)


@dataclass
class Kill:
    n: int
    kind: str
    lesson: str
    at: float  # the drawn moment (s after the victim started / `r` was pressed)
    window: float  # the span it was drawn from
    outcome: str = ""  # real | ended | idle | error
    step: int | None = None  # the app's step (1-based)
    in_flight: list[str] = field(default_factory=list)  # journaled kinds left by the victim
    note: str = ""


@dataclass
class Result:
    seed: int
    target: int = 0
    attempted: int = 0
    real: int = 0
    ended: int = 0  # the victim ended before its kill moment
    idle: int = 0  # killed before it had journaled anything
    errors: int = 0  # the victim could not be set up (e.g. the app did not open)
    kinds: dict[str, dict[str, int]] = field(default_factory=dict)
    lessons: dict[str, int] = field(default_factory=dict)  # lesson -> real kills
    in_flight: dict[str, int] = field(default_factory=dict)  # entry kind -> real kills with it
    cleanups_failed: int = 0
    leaks: list[str] = field(default_factory=list)
    host_changes: list[str] = field(default_factory=list)
    host_files: int = 0
    ip_forward_changed: bool = False
    measured: dict[str, dict] = field(default_factory=dict)
    kills: list[dict] = field(default_factory=list)
    seconds: float = 0.0
    lock_waited: float = 0.0  # of the seconds, waiting for the shared kernel lock

    def count(self, k: Kill) -> None:
        self.attempted += 1
        per = self.kinds.setdefault(
            k.kind, {"attempted": 0, "real": 0, "ended": 0, "idle": 0, "errors": 0}
        )
        per["attempted"] += 1
        key = {"real": "real", "ended": "ended", "idle": "idle"}.get(k.outcome, "errors")
        per[key] += 1
        if k.outcome == "real":
            self.real += 1
            self.lessons[k.lesson] = self.lessons.get(k.lesson, 0) + 1
            for kind in set(k.in_flight):
                self.in_flight[kind] = self.in_flight.get(kind, 0) + 1
        elif k.outcome == "ended":
            self.ended += 1
        elif k.outcome == "idle":
            self.idle += 1
        else:
            self.errors += 1
        self.kills.append(asdict(k))


# -- helpers -----------------------------------------------------------------------------


def _lab(*args: str) -> list[str]:
    return [sys.executable, "-m", "lab", *args]


class KernelLock:
    """The shared kernel lock named by $SHIKUMI_KERNEL_LOCK (none if unset), taken for
    an iteration and kept for the next ones until it has been held *hold* seconds
    ($SHIKUMI_KERNEL_LOCK_HOLD, default 0: released after every iteration), so other
    users of the machine's kernel state interleave with the harness."""

    def __init__(self, path: str | None = None, hold: float | None = None) -> None:
        self.path = path if path is not None else os.environ.get("SHIKUMI_KERNEL_LOCK", "")
        self.hold = (
            hold if hold is not None else float(os.environ.get("SHIKUMI_KERNEL_LOCK_HOLD", "0"))
        )
        self.fd = -1
        self.since = 0.0
        self.waited = 0.0  # seconds spent waiting for others

    @contextlib.contextmanager
    def iteration(self) -> Iterator[None]:
        if self.path and self.fd < 0:
            self.fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
            t = time.monotonic()
            fcntl.flock(self.fd, fcntl.LOCK_EX)
            self.since = time.monotonic()
            self.waited += self.since - t
        try:
            yield
        finally:
            if self.fd >= 0 and time.monotonic() - self.since >= self.hold:
                self.release()

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the lock
            self.fd = -1


def lesson_ids() -> list[str]:
    r = subprocess.run(_lab("list", "--json"), capture_output=True, text=True, cwd=REPO, timeout=60)
    return [x["id"] for x in json.loads(r.stdout) if x.get("available", True)]


def _pending(home: Path) -> list[str]:
    """The kinds of the journal's active entries (what a dead victim left in flight)."""
    from lab.safety import journal

    if not (home / "journal").is_dir():
        return []
    return sorted(e.kind for e in journal.pending(home))


def _holds_journal(pid: int, home: Path) -> bool:
    """Whether *pid* has a file of the home's journal directory open (recovery holds
    its lock for as long as it undoes)."""
    jdir = str(home / "journal") + "/"
    try:
        fds = os.listdir(f"/proc/{pid}/fd")
    except OSError:
        return False
    for fd in fds:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{pid}/fd/{fd}").startswith(jdir):
                return True
    return False


def _alive(pid: int) -> bool:
    try:
        st = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return st != "Z"


def _cleanup(env: dict[str, str], force: bool = False, timeout: float = 180) -> tuple[bool, str]:
    try:
        r = subprocess.run(
            _lab("cleanup", "--json", *(["--force"] if force else [])),
            env=env,
            cwd=REPO,
            capture_output=True,
            text=True,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        return False, f"cleanup did not end within {timeout} s"
    return r.returncode == 0, (r.stderr or r.stdout)[-400:]


def _spawn(argv: list[str], env: dict[str, str]) -> subprocess.Popen:
    return subprocess.Popen(
        argv, env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


def _kill_at(p: subprocess.Popen, t0: float, at: float) -> bool:
    """SIGKILL *p* at t0+at if it still runs; True if the signal hit it alive."""
    deadline = t0 + at
    while p.poll() is None:
        left = deadline - time.monotonic()
        if left <= 0:
            break
        time.sleep(min(left, 0.005))
    if p.poll() is not None:
        return False
    p.send_signal(signal.SIGKILL)  # only the lab: its children are orphaned
    p.wait(timeout=30)
    return p.returncode == -signal.SIGKILL


# -- measuring ---------------------------------------------------------------------------


def _play_argv(lesson: str) -> list[str]:
    """The play that is measured is the play that is killed: the same command."""
    return _lab("play", lesson, "--lang", "en")


def _play_env(env: dict[str, str]) -> dict[str, str]:
    return dict(env, PYTHONUNBUFFERED="1", COLUMNS="200")


def _play_with_work(lesson: str, env: dict[str, str], home: Path, at: float) -> float | None:
    """Work for a cleanup to undo: play *lesson*, and at *at* s — or as soon after as
    the journal holds work — SIGKILL it. When it was killed (None: it ended first)."""
    p = subprocess.Popen(
        _play_argv(lesson), env=_play_env(env), cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    t0 = time.monotonic()
    while p.poll() is None and (time.monotonic() < t0 + at or not _pending(home)):
        time.sleep(0.002)
    killed = time.monotonic() - t0
    if p.poll() is not None:
        return None
    p.send_signal(signal.SIGKILL)
    p.wait(timeout=30)
    return killed if p.returncode == -signal.SIGKILL and _pending(home) else None


def _start_cleanup(env: dict[str, str], home: Path) -> tuple[subprocess.Popen, float, float]:
    """`shikumi cleanup`, watched until it holds the journal's lock (recovery began):
    (the process, its start, when recovery began — or the end if it never did)."""
    c = _spawn(_lab("cleanup"), env)
    t0 = time.monotonic()
    while c.poll() is None and not _holds_journal(c.pid, home):
        time.sleep(0.0005)
    return c, t0, time.monotonic()


def _wait_exit(p: subprocess.Popen, timeout: float) -> float:
    """Wait for *p* to exit, polling every 0.5 ms (Popen.wait with a timeout polls in
    steps growing to 50 ms, too coarse to time a cleanup); when it was seen gone."""
    deadline = time.monotonic() + timeout
    while p.poll() is None:
        if time.monotonic() > deadline:
            p.kill()
            p.wait()
            break
        time.sleep(0.0005)
    return time.monotonic()


def measure(lesson: str, env: dict[str, str], timeout: float = 600) -> Measured:
    """Play *lesson* through once, noting when each step starts; then play it again,
    kill it half-way (once work is journaled) and time the `shikumi cleanup` that
    follows: in all, and from taking the journal's lock (its recovery) to its exit."""
    t0 = time.monotonic()
    p = subprocess.Popen(
        _play_argv(lesson), env=_play_env(env), cwd=REPO,
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
    )  # fmt: skip
    steps: list[float] = []
    try:
        assert p.stdout is not None
        for line in p.stdout:
            if STEP_LINE.match(line):
                steps.append(time.monotonic() - t0)
            if time.monotonic() - t0 > timeout:
                break
    finally:
        if p.poll() is None and time.monotonic() - t0 > timeout:
            p.kill()
        end = _wait_exit(p, timeout)
    code = p.returncode
    seconds = end - t0
    _cleanup(env)
    cleanup = recovery = 0.0
    for _ in range(3):
        if _play_with_work(lesson, env, home_of(env), seconds / 2) is None:
            _cleanup(env)
            continue
        c, c0, began = _start_cleanup(env, home_of(env))
        end = _wait_exit(c, 180)
        cleanup, recovery = end - c0, end - began
        break
    _cleanup(env)
    return Measured(
        round(seconds, 3), [round(s, 3) for s in steps], round(cleanup, 3), code,
        round(recovery, 4),
    )  # fmt: skip


def home_of(env: dict[str, str]) -> Path:
    return Path(env["SHIKUMI_HOME"])


# -- one kill of each kind -----------------------------------------------------------------


def kill_play(k: Kill, env: dict[str, str], home: Path) -> None:
    p = subprocess.Popen(
        _play_argv(k.lesson), env=_play_env(env), cwd=REPO,
        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    if not _kill_at(p, time.monotonic(), k.at):
        k.outcome = "ended"
        return
    k.in_flight = _pending(home)
    k.outcome = "real" if k.in_flight else "idle"


def _tmux(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["tmux", *args], capture_output=True, text=True, timeout=15)


def kill_app(k: Kill, env: dict[str, str], home: Path) -> None:
    assert k.step is not None
    name = f"shikumi-kill-{uuid.uuid4().hex[:8]}"
    command = " ".join(
        [
            "cd",
            shlex.quote(str(REPO)),
            "&& exec env -u COLUMNS -u LINES",
            shlex.quote(f"SHIKUMI_HOME={home}"),
            "LANG=C.UTF-8 TERM=xterm-256color",
            shlex.quote(sys.executable),
            "-m lab open",
            shlex.quote(k.lesson),
            "--step",
            str(k.step),
        ]
    )
    _tmux("new-session", "-d", "-s", name, "-x", "120", "-y", "40", command)
    try:
        pid = int(_tmux("display-message", "-p", "-t", name, "#{pane_pid}").stdout.strip() or 0)
        end = time.monotonic() + 30
        want = f"Step {k.step}/"
        while time.monotonic() < end:
            if want in _tmux("capture-pane", "-p", "-t", name).stdout:
                break
            time.sleep(0.05)
        else:
            k.outcome, k.note = "error", "the app did not show the step within 30 s"
            return
        if not pid or not _alive(pid):
            k.outcome, k.note = "error", "the app is not running"
            return
        pidfd = os.pidfd_open(pid)
        try:
            _tmux("send-keys", "-t", name, "r")
            # the step's own time starts when its work does (the key's way through tmux
            # and the app's event loop comes first): wait for the journal's first entry
            pressed = time.monotonic()
            asked = False  # a step with a predict question asks it first: run without a guess
            while not _pending(home) and _alive(pid) and time.monotonic() < pressed + 5:
                if not asked and "Predict first" in _tmux("capture-pane", "-p", "-t", name).stdout:
                    _tmux("send-keys", "-t", name, "s")
                    asked, pressed = True, time.monotonic()
                time.sleep(0.001)
            t0 = time.monotonic()
            k.note = (
                f"work began {t0 - pressed:.2f} s after r"
                if _pending(home)
                else "no work journaled within 5 s of r"
            )
            while time.monotonic() < t0 + k.at and _alive(pid):
                time.sleep(min(0.005, max(0.0, t0 + k.at - time.monotonic())))
            if not _alive(pid):
                k.outcome = "ended"
                return
            signal.pidfd_send_signal(pidfd, signal.SIGKILL)
        finally:
            os.close(pidfd)
        end = time.monotonic() + 10
        while _alive(pid) and time.monotonic() < end:
            time.sleep(0.01)
        k.in_flight = _pending(home)
        k.outcome = "real" if k.in_flight else "idle"
    finally:
        _tmux("kill-session", "-t", name)


def kill_cleanup(
    k: Kill, env: dict[str, str], home: Path, rng: random.Random, play_s: float
) -> None:
    """Work to undo (a play killed at a drawn moment, or as soon after as it has
    journaled work), then `shikumi cleanup` killed *k.at* s after its recovery began
    (it took the journal's lock)."""
    for _ in range(4):
        setup_at = rng.uniform(0, play_s)
        killed = _play_with_work(k.lesson, env, home, setup_at)
        if killed is not None:
            break
        _cleanup(env)
    else:
        k.outcome, k.note = "error", "the play ended before it could be killed, 4 times"
        return
    k.note = f"play killed at {killed:.2f} s"
    c, _, began = _start_cleanup(env, home)
    if c.poll() is not None:
        c.wait()
        k.outcome = "ended"  # it never got to recovery while we watched: nothing to hit
        k.note += ", cleanup ended before it was seen in recovery"
        return
    deadline = began + k.at
    while c.poll() is None and time.monotonic() < deadline:
        time.sleep(min(0.0005, max(0.0, deadline - time.monotonic())))
    inside = c.poll() is None and _holds_journal(c.pid, home)
    if not _kill_at(c, began, k.at):
        k.outcome = "ended"
        return
    k.in_flight = _pending(home)
    k.outcome = "real" if inside and k.in_flight else "idle"


# -- the run ---------------------------------------------------------------------------------


def run(
    seed: int,
    kills: int,
    lessons: list[str] | None = None,
    kinds: tuple[str, ...] = KINDS,
    table: Path | None = None,
    log: Callable[[str], None] = print,
) -> Result:
    rng = random.Random(seed)
    res = Result(seed, target=kills)
    t0 = time.monotonic()
    ids = lessons or lesson_ids()
    cycle = [k for k in CYCLE if k in kinds]
    before_fwd = state.ip_forward()
    hashed = state.lesson_files()
    fp_before = state.host_fingerprint(hashed)
    res.host_files = len(fp_before)
    with tempfile.TemporaryDirectory(prefix="shikumi-kill-") as tmp:
        os.chmod(tmp, 0o755)  # lesson 21's ordinary user must pass through to the home
        home = Path(tmp) / "home"
        env = dict(os.environ, SHIKUMI_HOME=str(home))
        env.pop("SHIKUMI_KERNEL_LOCK", None)
        lock = KernelLock()
        measured: dict[str, Measured] = {}
        if table and table.exists():
            for lid, m in json.loads(table.read_text()).items():
                if m.get("recovery", -1) >= 0:
                    measured[lid] = Measured(**m)
        for lid in ids:
            if lid not in measured:
                with lock.iteration():
                    measured[lid] = measure(lid, env)
                m = measured[lid]
                log(
                    f"measured {lid}: play {m.seconds:.2f} s (exit {m.exit}), {len(m.steps)} steps,"
                    f" cleanup {m.cleanup:.2f} s of which recovery {m.recovery:.3f} s"
                )
        if table:
            table.write_text(json.dumps({k: asdict(v) for k, v in measured.items()}, indent=1))
        res.measured = {k: asdict(measured[k]) for k in ids}
        turn: dict[str, int] = {}
        n = 0
        while res.real < kills and n < kills * 4:
            kind = cycle[n % len(cycle)]
            lesson = ids[turn.get(kind, 0) % len(ids)]
            turn[kind] = turn.get(kind, 0) + 1
            m = measured[lesson]
            n += 1
            if kind == "play":
                k = Kill(n, kind, lesson, at=0.0, window=m.seconds)
                k.at = rng.uniform(0, m.seconds)
            elif kind == "app":
                if not m.steps:
                    continue
                i = rng.randrange(len(m.steps))
                start, end = m.step_window(i)
                k = Kill(n, kind, lesson, at=0.0, window=end - start, step=i + 1)
                k.at = rng.uniform(0, end - start)
            else:
                k = Kill(n, kind, lesson, at=0.0, window=m.recovery)
                k.at = rng.uniform(0, m.recovery)
            with lock.iteration():
                # what exists already is not this kill's (another lab, a test beside us)
                base = set(state.lab_things(home))
                try:
                    if kind == "play":
                        kill_play(k, env, home)
                    elif kind == "app":
                        kill_app(k, env, home)
                    else:
                        kill_cleanup(k, env, home, rng, m.seconds)
                except Exception as e:  # a broken iteration is counted, never hidden
                    k.outcome, k.note = "error", f"{type(e).__name__}: {e}"
                ok, out = _cleanup(env)
                if not ok:
                    res.cleanups_failed += 1
                    log(f"kill {n}: cleanup failed: {out}")
                left = sorted(set(state.lab_things(home)) - base)
                for thing in left:
                    res.leaks.append(f"kill {n} ({kind} {lesson} at {k.at:.2f} s): {thing}")
                if left:
                    log(f"kill {n}: {kind} {lesson} at {k.at:.2f} s left {left}")
                    _cleanup(env, force=True)
            res.count(k)
            step = f" step {k.step}" if k.step else ""
            log(
                f"kill {n:3} {kind:7} {lesson}{step} at {k.at:.2f}/{k.window:.2f} s: {k.outcome}"
                + (f" ({', '.join(sorted(set(k.in_flight)))})" if k.in_flight else "")
                + (f" [{k.note}]" if k.note else "")
            )
        lock.release()
        res.lock_waited = round(lock.waited, 1)
    res.ip_forward_changed = state.ip_forward() != before_fwd
    res.host_changes = state.changed(fp_before, state.host_fingerprint(hashed))
    res.seconds = round(time.monotonic() - t0, 1)
    global LAST
    LAST = res
    return res


def summary(res: Result) -> str:
    per = "; ".join(
        f"{kind}: {c['attempted']} attempted, {c['real']} real, {c['ended']} ended before their kill"
        + (f", {c['idle']} idle" if c["idle"] else "")
        + (f", {c['errors']} errors" if c["errors"] else "")
        for kind, c in sorted(res.kinds.items())
    )
    return (
        f"kill harness (seed {res.seed}): {res.attempted} kills attempted, {res.real} real"
        f" (interrupted something), {res.ended} ended before their kill, {res.idle} idle"
        f" (running, no journaled work in flight), {res.errors} errors\n"
        f"  per kind: {per}\n"
        f"  real kills over {len(res.lessons)} lessons; work in flight at the real kills: "
        + ", ".join(f"{k} {v}" for k, v in sorted(res.in_flight.items()))
        + f"\n  {res.cleanups_failed} cleanups failed, {len(res.leaks)} leaks,"
        f" {len(res.host_changes)} host changes ({res.host_files} files fingerprinted),"
        f" ip_forward {'changed' if res.ip_forward_changed else 'unchanged'}, {res.seconds} s"
        + (f" ({res.lock_waited} s of it waiting for the kernel lock)" if res.lock_waited else "")
    )


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--seed", type=int, default=int(os.environ.get("SHIKUMI_KILL_SEED", "1")))
    ap.add_argument("--kills", type=int, default=120, help="real kills to make")
    ap.add_argument("--lesson", action="append", help="only these lessons (repeatable)")
    ap.add_argument("--kind", action="append", choices=KINDS, help="only these kinds (repeatable)")
    ap.add_argument("--table", type=Path, help="measured durations: read if there, else written")
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("kill harness: needs root", file=sys.stderr)
        return 2
    res = run(
        args.seed,
        args.kills,
        args.lesson,
        tuple(args.kind or KINDS),
        args.table,
        log=(lambda *_: None) if args.json else lambda s: print(s, flush=True),
    )
    if args.json:
        print(json.dumps(asdict(res), indent=2))
    else:
        print(summary(res))
        for leak in res.leaks:
            print("  leak:", leak)
        for change in res.host_changes[:50]:
            print("  host change:", change)
    bad = res.leaks or res.host_changes or res.cleanups_failed or res.real < args.kills
    return 1 if bad else 0


if __name__ == "__main__":
    raise SystemExit(main())
