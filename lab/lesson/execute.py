"""Running one command for a lesson: recorded in the journal, in its own session,
its output streamed line by line, bounded in time and size, cancellable.

``run()`` is what a step's ``run``/``solution``/``cleanup`` blocks and the
``command`` check use; ``container_argv()`` wraps a command so it runs inside a
spawned process's namespaces (``in=NAME``).
"""

from __future__ import annotations

import contextlib
import os
import selectors
import shutil
import signal
import subprocess
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lab.host.dockerhost import with_docker_host
from lab.ops import cgroups
from lab.safety import resources
from lab.safety.journal import Journal

OUTPUT_CAP = 256 * 1024  # bytes kept per stream
EXIT_GRACE = 0.5  # after the command exits, how long a leftover may hold its pipes
DRAIN = 1.0  # after a kill, how long to read what is left
TICK = 0.05  # how often the deadline and the cancel event are looked at
REAP = 2.0  # after the final kill, how long to wait for the process to be gone
LineSink = Callable[[str, str], None]  # (stream, line)

NSENTER_FLAGS = ("--mount", "--uts", "--ipc", "--net", "--pid", "--root", "--wd")


@dataclass
class Completed:
    exit: int | None  # None when killed before it exited on its own
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    timed_out: bool = False
    cancelled: bool = False
    truncated: bool = False
    error: str = ""  # it could not be started at all


def shell_in(pid: int) -> str:
    """The shell to use inside the root of *pid*: bash if it has one, else sh."""
    root = Path(f"/proc/{pid}/root")
    for sh in ("/bin/bash", "/usr/bin/bash"):
        if (root / sh.lstrip("/")).exists():
            return sh
    return "/bin/sh"


# joins each cgroup directory given before `--` (a constant script: the directories are
# its arguments, never its text), then execs the rest
_JOIN = (
    'while [ "$1" != -- ]; do echo $$ > "$1/cgroup.procs"; shift; done 2>/dev/null; '
    'shift; exec "$@"'
)


def container_argv(pid: int, argv: Sequence[str]) -> list[str]:
    """*argv* run inside the namespaces, root and cwd of *pid* (nsenter forks into its pid ns)
    and, as `docker exec` does, in the lab's cgroups *pid* is in (its limits count it, and
    `cat /proc/self/cgroup` inside shows the container's cgroup, not the lab's)."""
    enter = ["nsenter", "--target", str(pid), *NSENTER_FLAGS, *argv]
    dirs = cgroups.lab_dirs_of(pid)
    if not dirs:
        return enter
    return ["sh", "-c", _JOIN, "sh", *dirs, "--", *enter]


def command_argv(body: str, pid: int | None = None) -> list[str]:
    """How a step's command runs: ``bash -c BODY`` here, or a shell -c inside *pid*."""
    if pid is None:
        return [shutil.which("bash") or "/bin/bash", "-c", body]
    return container_argv(pid, [shell_in(pid), "-c", body])


def base_env(home: Path, work: Path, extra: dict[str, str] | None = None) -> dict[str, str]:
    env = dict(os.environ)
    path = env.get("PATH", "/usr/bin:/bin")
    for d in ("/usr/local/sbin", "/usr/sbin", "/sbin"):
        if d not in path.split(":"):
            path += ":" + d
    env.update(PATH=path, SHIKUMI_HOME=str(home), SHIKUMI_WORK=str(work))
    env.setdefault("LANG", "C.UTF-8")
    env.update(extra or {})
    return with_docker_host(env)


class _Stream:
    """One pipe: line splitting, the kept text, the cap."""

    def __init__(self, name: str, sink: LineSink | None) -> None:
        self.name = name
        self.sink = sink
        self.kept = bytearray()
        self.partial = b""
        self.truncated = False

    def feed(self, data: bytes) -> None:
        if self.truncated:
            return
        room = OUTPUT_CAP - len(self.kept)
        if len(data) > room:
            data = data[:room]
            self.truncated = True
        self.kept += data
        lines = (self.partial + data).split(b"\n")
        self.partial = lines.pop()
        for line in lines:
            self._emit(line)
        if self.truncated:
            self.flush()
            if self.sink:
                self.sink(self.name, f"… (output cut at {OUTPUT_CAP // 1024} KiB)")

    def flush(self) -> None:
        if self.partial:
            self._emit(self.partial)
            self.partial = b""

    def _emit(self, line: bytes) -> None:
        if self.sink:
            self.sink(self.name, line.decode("utf-8", "replace").rstrip("\r"))

    def text(self) -> str:
        return self.kept.decode("utf-8", "replace")


def _kill_group(p: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(p.pid, signal.SIGKILL)


def run(
    journal: Journal,
    argv: Sequence[str],
    *,
    name: str,
    cwd: Path | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 60.0,
    cancel: threading.Event | None = None,
    on_line: LineSink | None = None,
) -> Completed:
    """Run *argv* to completion. Never raises for the command's own failures.

    The process is recorded in the journal (with a marker its descendants
    inherit) before it starts, runs in a new session, and is undone when it
    ends: anything it left running is killed.
    """
    start = time.monotonic()
    try:
        p, entry = resources.spawn(
            journal,
            list(argv),
            name,
            env=env,
            cwd=str(cwd) if cwd else None,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
    except OSError as e:
        for leftover in journal.active[-1:]:
            if leftover.kind == "process" and leftover.target == name:
                journal.undo(leftover)
        return Completed(127, stderr=f"{argv[0]}: {e.strerror or e}", error=str(e))
    streams = {
        p.stdout.fileno(): _Stream("stdout", on_line),
        p.stderr.fileno(): _Stream("stderr", on_line),
    }  # type: ignore[union-attr]
    sel = selectors.DefaultSelector()
    for fd in streams:
        sel.register(fd, selectors.EVENT_READ)
    deadline = start + timeout
    timed_out = cancelled = False
    exited_at: float | None = None
    killed_at: float | None = None
    code: int | None = None
    try:
        while True:
            if sel.get_map():
                for key, _ in sel.select(TICK):
                    data = os.read(key.fd, 65536)
                    if data:
                        streams[key.fd].feed(data)
                    else:
                        sel.unregister(key.fd)
            elif cancel is not None:
                cancel.wait(TICK)  # the pipes are closed, the command may still run
            else:
                time.sleep(TICK)
            now = time.monotonic()
            done = p.poll() is not None
            if killed_at is not None:
                # killed: read what is left, but never wait past DRAIN (or a cancel)
                if (done and not sel.get_map()) or now - killed_at > DRAIN:
                    break
                if cancel is not None and cancel.is_set():
                    break
                continue
            if cancel is not None and cancel.is_set():
                cancelled = True
            elif now > deadline:
                timed_out = True
            elif done:
                if not sel.get_map():
                    break  # exited, and nothing holds its pipes: finished
                exited_at = exited_at or now
                if now - exited_at <= EXIT_GRACE:
                    continue  # leftovers holding the pipes get a moment, then go
            else:
                continue
            _kill_group(p)
            killed_at = now
    finally:
        sel.close()
        if p.poll() is None:
            _kill_group(p)
        with contextlib.suppress(subprocess.TimeoutExpired):
            code = p.wait(timeout=REAP)  # killed: gone at once (unless stuck in the kernel)
        for s in streams.values():
            s.flush()
        p.stdout.close()  # type: ignore[union-attr]
        p.stderr.close()  # type: ignore[union-attr]
        journal.undo(entry)  # kills anything the command left behind, then releases it
    out, err = streams.values()
    return Completed(
        None if (timed_out or cancelled) else code,
        out.text(),
        err.text(),
        time.monotonic() - start,
        timed_out=timed_out,
        cancelled=cancelled,
        truncated=out.truncated or err.truncated,
    )
