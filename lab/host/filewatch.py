"""Waiting for a file to grow, without polling: inotify on its folder (the file may
not exist yet), a pipe to wake the waiter, and a stat poll where inotify is missing."""

from __future__ import annotations

import contextlib
import ctypes
import ctypes.util
import os
import select
import struct
import time

_libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
IN_MODIFY = 0x002
IN_CLOSE_WRITE = 0x008
IN_CREATE = 0x100
IN_MOVED_TO = 0x080
IN_NONBLOCK = 0o4000
IN_CLOEXEC = 0o2000000
POLL = 0.2  # without inotify: how often the file's size is looked at
_EVENT = struct.Struct("iIII")


class FileWatch:
    """``wait(timeout)`` returns True when *path* was written to (or created), False
    at the timeout or after ``wake()``. ``read_new()`` gives the bytes added since."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = os.fspath(path)
        self.name = os.path.basename(self.path).encode()
        self.offset = 0
        self._size = -1
        self._rd, self._wr = os.pipe2(os.O_CLOEXEC | os.O_NONBLOCK)
        self._fd = _libc.inotify_init1(IN_NONBLOCK | IN_CLOEXEC)
        if self._fd >= 0:
            mask = IN_MODIFY | IN_CLOSE_WRITE | IN_CREATE | IN_MOVED_TO
            folder = os.path.dirname(self.path) or "."
            if _libc.inotify_add_watch(self._fd, folder.encode(), mask) < 0:
                os.close(self._fd)
                self._fd = -1

    def wait(self, timeout: float) -> bool:
        if self._fd < 0:
            return self._poll(timeout)
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([self._fd, self._rd], [], [], left)
            if self._rd in ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._rd, 64)
                return False
            if self._fd in ready and self._ours():
                return True
            # another file of the folder changed: keep waiting for ours

    def _ours(self) -> bool:
        hit = False
        with contextlib.suppress(BlockingIOError):
            data = os.read(self._fd, 65536)
            i = 0
            while i + _EVENT.size <= len(data):
                _wd, _mask, _cookie, length = _EVENT.unpack_from(data, i)
                name = data[i + _EVENT.size : i + _EVENT.size + length].rstrip(b"\0")
                hit = hit or name == self.name
                i += _EVENT.size + length
        return hit

    def _poll(self, timeout: float) -> bool:
        waited = 0.0
        while waited < timeout:
            ready, _, _ = select.select([self._rd], [], [], min(POLL, timeout - waited))
            if ready:
                with contextlib.suppress(BlockingIOError):
                    os.read(self._rd, 64)
                return False
            waited += POLL
            try:
                size = os.stat(self.path).st_size
            except OSError:
                continue
            if size != self._size:
                self._size = size
                return True
        return False

    def wake(self) -> None:
        """Any thread: end a ``wait`` now."""
        with contextlib.suppress(OSError):
            os.write(self._wr, b"!")

    def read_new(self, limit: int = 1 << 20) -> bytes:
        try:
            with open(self.path, "rb") as f:
                f.seek(self.offset)
                data = f.read(limit)
        except OSError:
            return b""
        self.offset += len(data)
        return data

    def close(self) -> None:
        for fd in (self._fd, self._rd, self._wr):
            if fd >= 0:
                with contextlib.suppress(OSError):
                    os.close(fd)
        self._fd = self._rd = self._wr = -1
