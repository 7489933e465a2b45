"""One lesson at a time per lab home.

Lessons share paths under the home (`{{home}}/containers/test`, the lesson's
work dir), so two instances of the lab running lessons in the same home at
once (an instructor's demo and a learner's) would trip over each other. The
second one is refused with what to do instead; browsing, `check`, `list` and
`doctor` are never blocked.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from lab.errors import Busy


class RunLock:
    def __init__(self, home: Path) -> None:
        self.path = home / "run.lock"
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        return self._fd is not None

    def acquire(self, what: str) -> None:
        """Take the lock for *what* (e.g. "lesson 05-libraries"); Busy if another process has it."""
        if self._fd is not None:
            return
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.pread(fd, 200, 0).decode(errors="replace").strip() or "a lesson"
            os.close(fd)
            raise Busy(
                f"another shikumi is running {holder} in {self.path.parent}",
                "let it finish or quit it; to run a second lab beside it, give it its own home: "
                "SHIKUMI_HOME=/var/lib/shikumi-2 shikumi …",
            ) from None
        os.ftruncate(fd, 0)
        os.pwrite(fd, f"{what} (pid {os.getpid()})\n".encode(), 0)
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.ftruncate(self._fd, 0)
            os.close(self._fd)
            self._fd = None
