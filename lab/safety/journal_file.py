"""The journal's files on disk: the folder, the recovery lock, reading a journal
back (a torn last line ignored), and the name a journal has while it is born."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

from lab.errors import Busy
from lab.safety.entry import KINDS, Entry

CREATING = ".creating"  # suffix of a journal being born (never matches *.jsonl)


def _journal_dir(home: Path) -> Path:
    d = home / "journal"
    d.mkdir(parents=True, exist_ok=True, mode=0o700)
    return d


@contextlib.contextmanager
def _global_lock(home: Path, timeout: float = 30.0) -> Iterator[None]:
    """Serialises recovery so two cleaners never undo the same journal."""
    fd = os.open(_journal_dir(home) / ".lock", os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() > deadline:
                    raise Busy(
                        "another shikumi is cleaning up right now",
                        "wait a moment and run the command again",
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)


def _fsync_dir(path: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def read_journal(path: Path) -> tuple[dict, list[Entry]]:
    """The header and the entries still active (created, not released), in order."""
    header: dict = {}
    entries: dict[int, Entry] = {}
    try:
        data = path.read_bytes()
    except OSError:
        return header, []
    for raw in data.split(b"\n"):
        if not raw.strip():
            continue
        try:
            rec = json.loads(raw)
            op = rec["op"]
        except (ValueError, KeyError, TypeError):
            continue  # torn or foreign line: ignore it
        if op == "session":
            header = rec
        elif op == "create" and rec.get("kind") in KINDS and isinstance(rec.get("seq"), int):
            entries[rec["seq"]] = Entry(
                rec["seq"],
                rec["kind"],
                str(rec.get("target", "")),
                dict(rec.get("meta") or {}),
                path.stem,
            )
        elif op == "update" and rec.get("seq") in entries:
            entries[rec["seq"]].meta.update(rec.get("meta") or {})
        elif op == "release":
            entries.pop(rec.get("seq"), None)
    return header, [entries[k] for k in sorted(entries)]
