"""The journal: every resource the lab creates is written here *before* it is created.

One journal file per running session (``HOME/journal/<session>.jsonl``), held
under an exclusive flock for the session's lifetime. A journal whose lock can be
taken belongs to a dead session (crash, SIGKILL): ``recover()`` undoes it in
reverse and removes it. ``shikumi cleanup`` is ``recover()``; live sessions are
left alone unless forced.

Lines are JSON objects, appended with one write() each and fsync'ed:
  {"op": "session", "pid", "start", "argv", "time"}            header
  {"op": "create", "seq", "kind", "target", "meta"}             before creating
  {"op": "update", "seq", "meta"}                               after (e.g. the pid)
  {"op": "release", "seq"}                                      undone normally
A torn last line (a kill mid-write) is ignored.

A journal is born whole: it is created under a temporary name that recovery
never looks at (``.SESSION.creating``), locked, given its header and fsync'ed,
and only then renamed to ``SESSION.jsonl``. So a concurrent ``recover()`` never
sees an unlocked, empty journal of a live session (it would undo and unlink it,
and the session would journal into a deleted file).

One ``Journal`` may be used from several threads: sequence numbers are handed out,
and lines written, under one lock, so no two entries share a seq (nor, for
processes, a marker).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import sys
import threading
import time
from pathlib import Path

from lab.errors import LabError
from lab.safety import procs
from lab.safety.entry import KINDS, Entry, Report, UndoResult, undo_order
from lab.safety.home import ensure_home, home_dir
from lab.safety.journal_file import (
    CREATING,
    _fsync_dir,
    _global_lock,
    _journal_dir,
    read_journal,
)
from lab.safety.undo import undo_entry, validate


class Journal:
    """A session's journal. Use ``Journal.open()``; close with ``close()`` or ``with``.

    Thread-safe: ``record``/``update``/``release``/``undo``/``rollback``/``close``
    take one re-entrant lock, so seqs never repeat and lines never interleave.
    """

    def __init__(self, home: Path, session: str, fd: int, path: Path) -> None:
        self.home = home
        self.session = session
        self.path = path
        self._fd = fd
        self._seq = 0
        self._active: dict[int, Entry] = {}
        self._lock = threading.RLock()
        self.recovered: Report | None = None

    # -- opening -----------------------------------------------------------------
    @classmethod
    def open(cls, home: Path | None = None, recover_dead: bool = True) -> Journal:
        """Open a new session in *home* (created if needed), after undoing dead sessions."""
        try:
            home = ensure_home(home or home_dir())
        except PermissionError as e:
            raise LabError(
                f"cannot write the lab home {home or home_dir()}: {e.strerror}",
                "run as root (sudo shikumi …) or set SHIKUMI_HOME to a directory you own",
            ) from None
        report = recover(home) if recover_dead else None
        pid = os.getpid()
        start = procs.starttime(pid)
        jdir = _journal_dir(home)
        while True:
            session = f"{pid}-{start or 0}-{time.time_ns() % 1_000_000:06d}"
            path = jdir / f"{session}.jsonl"
            tmp = jdir / f".{session}{CREATING}"
            try:  # O_EXCL: two threads of one process never share a name
                fd = os.open(
                    tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND | os.O_CLOEXEC, 0o600
                )
            except FileExistsError:
                continue
            if os.path.lexists(path):  # (a session of the same name already journals)
                os.close(fd)
                os.unlink(tmp)
                continue
            break
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)  # new file: nobody else can hold it
            j = cls(home, session, fd, path)
            j._write(
                {
                    "op": "session",
                    "pid": pid,
                    "start": start,
                    "argv": sys.argv[:8],
                    "time": time.time(),
                }
            )  # fdatasync'ed
            os.rename(tmp, path)  # born whole: locked, with its header, on disk
        except BaseException:
            os.close(fd)
            with contextlib.suppress(OSError):
                os.unlink(tmp)
            raise
        _fsync_dir(jdir)
        j.recovered = report
        return j

    def __enter__(self) -> Journal:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- writing -----------------------------------------------------------------
    def _write(self, rec: dict, sync: bool = True) -> None:
        line = (json.dumps(rec, separators=(",", ":"), default=str) + "\n").encode()
        with self._lock:
            if self._fd < 0:
                raise LabError(
                    "the lab's journal is already closed",
                    "this session has ended; start the lesson again",
                )
            os.write(self._fd, line)
            if sync:
                os.fdatasync(self._fd)  # on disk before the resource exists

    def record(self, kind: str, target: str, **meta: object) -> Entry:
        """Write the intent to create a resource. Call *before* creating it.

        The entry is validated first: anything cleanup would refuse to undo
        (a directory outside the home, a link without the lab's prefix…) is
        refused here, before it is created. A ``process`` entry without a
        ``marker`` gets one made of the session and its own seq (unique).
        """

        if kind not in KINDS:
            raise ValueError(f"unknown journal kind {kind!r}")
        with self._lock:
            entry = Entry(self._next_seq(), kind, str(target), dict(meta), self.session)
            if kind == "process" and "marker" not in entry.meta:
                entry.meta["marker"] = f"shikumi-{self.session}-{entry.seq}"
            problem = validate(entry, self.home)
            if problem:
                raise LabError(f"refusing to create {kind} {target}: {problem}")
            self._write(
                {
                    "op": "create",
                    "seq": entry.seq,
                    "kind": kind,
                    "target": entry.target,
                    "meta": entry.meta,
                }
            )
            self._active[entry.seq] = entry
        return entry

    def update(self, entry: Entry, **meta: object) -> None:
        with self._lock:
            entry.meta.update(meta)
            # not synced: if it is lost in a crash, cleanup still finds the
            # resource by what the synced create line says (a process by its marker)
            self._write({"op": "update", "seq": entry.seq, "meta": meta}, sync=False)

    def release(self, entry: Entry) -> None:
        """The resource was undone by its owner: cleanup need not touch it."""
        with self._lock:
            if self._active.pop(entry.seq, None) is not None:
                # not synced: a lost release only makes cleanup undo it again, harmlessly
                self._write({"op": "release", "seq": entry.seq}, sync=False)

    def _next_seq(self) -> int:
        with self._lock:
            self._seq += 1
            return self._seq

    # -- undoing -----------------------------------------------------------------
    def undo(self, entry: Entry) -> UndoResult:

        with self._lock:
            result = undo_entry(entry, self.home)
            if result.ok:
                self.release(entry)
        return result

    def mark(self) -> int:
        """A point to roll back to (``rollback(mark)``): the last seq handed out.

        Only a point in time: never guess a future seq from it (``mark() + 1``
        may go to another thread's entry); a process entry gets its own marker
        from ``record()``.
        """
        with self._lock:
            return self._seq

    def rollback(self, mark: int = 0) -> Report:
        """Undo everything recorded after *mark*, in ``undo_order``."""
        report = Report()
        with self._lock:
            later = [self._active[s] for s in sorted(self._active) if s > mark]
            for entry in undo_order(later):
                if entry.seq in self._active:
                    report.results.append(self.undo(entry))
        return report

    @property
    def active(self) -> list[Entry]:
        with self._lock:
            return [self._active[k] for k in sorted(self._active)]

    @property
    def closed(self) -> bool:
        return self._fd < 0

    def close(self, undo: bool = True) -> Report:
        """Undo what is left (unless told not to), then drop the journal file."""
        with self._lock:
            if self._fd < 0:
                return Report()  # closed already (idempotent)
            report = self.rollback() if undo else Report()
            if not self._active:
                with contextlib.suppress(OSError):
                    self.path.unlink()
            os.close(self._fd)
            self._fd = -1
        return report


def _try_lock(path: Path) -> int | None:
    """Open and lock a journal; None if its session is alive (lock held) or it is gone."""
    try:
        fd = os.open(path, os.O_RDWR | os.O_CLOEXEC)
    except OSError:
        return None
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _same_file(fd: int, path: Path) -> bool:
    """True while *path* still names the file open as *fd* (not unlinked or replaced)."""
    try:
        a, b = os.fstat(fd), os.stat(path)
    except OSError:
        return False
    return a.st_nlink > 0 and (a.st_dev, a.st_ino) == (b.st_dev, b.st_ino)


def _drop_stale_creating(jdir: Path) -> None:
    """Remove journals that never got born (their creator died before the rename).

    One is stale only if its creator (pid and start time are in its name) is gone:
    a live creator's file is left alone, whatever its lock says. Nothing was ever
    journaled in it (records are written only after the rename).
    """
    for tmp in jdir.glob(f".*{CREATING}"):
        session = tmp.name[1 : -len(CREATING)]
        try:
            pid_s, start_s = session.split("-")[:2]
            pid, start = int(pid_s), int(start_s)
        except ValueError:
            continue
        if pid == os.getpid() or procs.alive(pid, start or None):
            continue
        fd = _try_lock(tmp)
        if fd is None:
            continue
        try:
            if _same_file(fd, tmp):
                with contextlib.suppress(FileNotFoundError):
                    tmp.unlink()
        finally:
            os.close(fd)


def recover(home: Path | None = None, force: bool = False) -> Report:
    """Undo the journals of dead sessions (and, with *force*, of live ones too).

    Idempotent: a second call finds nothing to do.
    """

    home = ensure_home(home or home_dir())
    report = Report()
    with _global_lock(home):
        jdir = _journal_dir(home)
        _drop_stale_creating(jdir)
        for path in sorted(jdir.glob("*.jsonl")):
            fd = _try_lock(path)
            if fd is not None and not _same_file(fd, path):
                os.close(fd)  # closed (unlinked) by its session meanwhile: nothing left
                continue
            header, entries = read_journal(path)
            if fd is None:
                if not header and not path.exists():
                    continue  # vanished (its session closed it) between the listing and now
                owner = int(header.get("pid", 0) or 0)
                if owner == os.getpid():
                    continue  # our own session (an open Journal in this process)
                if not force:
                    report.live.append(
                        {"session": path.stem, "pid": owner, "argv": header.get("argv", [])}
                    )
                    continue
                if owner and procs.alive(owner, header.get("start")):
                    procs.kill_all([owner])
                fd = _try_lock(path)
                if fd is not None and not _same_file(fd, path):
                    os.close(fd)  # it closed itself while dying
                    continue
                if fd is None:
                    report.warnings.append(f"session {path.stem} still holds its lock; left alone")
                    continue
            try:
                results = [undo_entry(e, home) for e in undo_order(entries)]
                report.results.extend(results)
                report.sessions.append(path.stem)
                refused = [r for r in results if r.refused]
                if refused:  # never the lab's to touch: log them once, then drop them
                    with open(_journal_dir(home) / "refused.log", "a", encoding="utf-8") as log:
                        for r in refused:
                            log.write(
                                f"{time.ctime()} {path.stem} {r.entry.kind} {r.entry.target}: {r.action}\n"
                            )
                # keep only what failed and may succeed later (a busy mount, a stuck process)
                kept = {r.entry.seq for r in results if not r.ok and not r.refused}
                if kept:
                    _rewrite(path, header, [e for e in entries if e.seq in kept])
                else:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
            finally:
                os.close(fd)
    return report


def _rewrite(path: Path, header: dict, entries: list[Entry]) -> None:
    tmp = path.with_suffix(".tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        if header:
            f.write(json.dumps(header, default=str) + "\n")
        for e in entries:
            f.write(
                json.dumps(
                    {
                        "op": "create",
                        "seq": e.seq,
                        "kind": e.kind,
                        "target": e.target,
                        "meta": e.meta,
                    }
                )
                + "\n"
            )
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def pending(home: Path | None = None) -> list[Entry]:
    """Every active entry of every journal in the home (for display)."""
    home = home or home_dir()
    out: list[Entry] = []
    d = home / "journal"
    if d.is_dir():
        for path in sorted(d.glob("*.jsonl")):
            out.extend(read_journal(path)[1])
    return out


__all__ = [
    "CREATING",
    "KINDS",
    "Entry",
    "Journal",
    "Report",
    "UndoResult",
    "pending",
    "read_journal",
    "recover",
]
