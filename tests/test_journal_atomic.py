"""Journal creation is atomic against recovery, and one Journal is thread-safe.

No kernel state is touched (the entries are directories that are never made), so
these need neither root nor the kernel lock.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import subprocess
import sys
import threading
from pathlib import Path

from lab.safety import journal, procs
from lab.safety.journal import CREATING, Journal, read_journal

ROUNDS = 1000


def _recoverer(home: str, stop, count) -> None:  # type: ignore[no-untyped-def]
    """The other process: recover() as fast as it can until told to stop."""
    while not stop.is_set():
        journal.recover(Path(home))
        with count.get_lock():
            count.value += 1


def _intact(j: Journal, target: str) -> str:
    """Why *j*'s file is not what it should be ("" if it is)."""
    try:
        on_disk, held = os.stat(j.path), os.fstat(j._fd)
    except FileNotFoundError:
        return f"{j.path.name} is gone"
    if (on_disk.st_dev, on_disk.st_ino) != (held.st_dev, held.st_ino) or held.st_nlink == 0:
        return f"{j.path.name} is no longer the file the session writes to"
    header, entries = read_journal(j.path)
    if header.get("op") != "session" or header.get("pid") != os.getpid():
        return f"{j.path.name} lost its header: {header}"
    if [e.target for e in entries] != [target]:
        return f"{j.path.name} lost its record: {entries}"
    return ""


def test_open_and_recover_interleaved_lose_no_journal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    journal.recover(home)  # creates and marks the home
    ctx = mp.get_context("spawn")
    stop, count = ctx.Event(), ctx.Value("i", 0)
    other = ctx.Process(target=_recoverer, args=(str(home), stop, count), daemon=True)
    other.start()
    problems: list[str] = []
    recovers_seen: list[int] = []
    try:
        # wait until the other process is really recovering
        for _ in range(2000):
            if count.value > 0:
                break
            threading.Event().wait(0.005)
        assert count.value > 0, "the recovering process never started"
        window: list[tuple[Journal, str]] = []
        for i in range(ROUNDS):
            j = Journal.open(home, recover_dead=False)
            target = str(home / "work" / f"d{i}")
            j.record("dir", target)
            window.append((j, target))
            if len(window) > 4:  # checked after several more recoveries ran
                old, t = window.pop(0)
                before = count.value
                problems += [p for p in [_intact(old, t)] if p]
                recovers_seen.append(before)
                old.close()
        for old, t in window:
            problems += [p for p in [_intact(old, t)] if p]
            old.close()
    finally:
        stop.set()
        other.join(30)
        if other.is_alive():
            other.kill()
            other.join(5)
    assert other.exitcode == 0, f"the recovering process failed (exit {other.exitcode})"
    assert not problems, f"{len(problems)} of {ROUNDS} journals damaged, e.g. {problems[:3]}"
    # the two really interleaved: the recoverer ran throughout, many times
    assert count.value >= 50, f"only {count.value} recover() calls ran alongside"
    assert recovers_seen[-1] > recovers_seen[0], "no recover() ran while journals were opened"
    left = sorted(p.name for p in (home / "journal").iterdir() if p.name != ".lock")
    assert left == [], f"closed journals left behind: {left[:5]}"


def test_a_journal_never_born_is_dropped_only_when_its_creator_is_dead(tmp_path: Path) -> None:
    home = tmp_path / "home"
    jdir = home / "journal"
    journal.recover(home)
    # a dead creator (pid 0 is never a process)
    dead = jdir / f".0-0-000001{CREATING}"
    dead.write_text('{"op":"session","pid":0}\n')
    # a live creator: another process, caught between create and rename
    p = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        live = jdir / f".{p.pid}-{procs.starttime(p.pid)}-000002{CREATING}"
        live.write_text("")
        report = journal.recover(home)
        assert not dead.exists(), "a journal whose creator died before naming it was kept"
        assert live.exists(), "a journal still being created by a live process was removed"
        assert report.live == [] and report.sessions == []
    finally:
        p.kill()
        p.wait(10)
    journal.recover(home)
    assert not live.exists(), "left behind after its creator died"


def test_recover_tolerates_a_journal_that_vanishes(tmp_path: Path) -> None:
    """A session closing (unlinking its journal) while recover() looks is not a live ghost."""
    home = tmp_path / "home"
    j = Journal.open(home)
    j.record("dir", str(home / "work" / "x"))
    path = j.path
    real_glob = Path.glob

    def glob_then_close(self: Path, pattern: str):  # type: ignore[no-untyped-def]
        found = list(real_glob(self, pattern))
        if pattern == "*.jsonl" and path in found and not j.closed:
            j.close()  # between the listing and the lock
        return iter(found)

    Path.glob = glob_then_close  # type: ignore[method-assign]
    try:
        report = journal.recover(home)
    finally:
        Path.glob = real_glob  # type: ignore[method-assign]
    assert j.closed and not path.exists()
    assert report.live == [] and report.sessions == [] and report.results == []


def test_threads_share_one_journal(tmp_path: Path) -> None:
    home = tmp_path / "home"
    threads, per = 8, 150
    entries: list[journal.Entry] = []
    errors: list[BaseException] = []
    lock = threading.Lock()
    go = threading.Barrier(threads)
    with Journal.open(home) as j:

        def work(t: int) -> None:
            try:
                go.wait(10)
                mine = []
                for i in range(per):
                    if i % 10 == 0:
                        mine.append(j.record("process", f"p{t}-{i}"))  # marker from its seq
                    else:
                        e = j.record("dir", str(home / "work" / f"t{t}" / str(i)))
                        j.update(e, note=i)
                        mine.append(e)
                    if i % 7 == 0:
                        j.release(mine[-1])
                    j.mark()
                with lock:
                    entries.extend(mine)
            except BaseException as ex:  # reported below
                errors.append(ex)

        ts = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for t in ts:
            t.start()
        for t in ts:
            t.join(60)
        assert not errors, errors[:3]
        seqs = [e.seq for e in entries]
        assert len(seqs) == threads * per
        assert len(set(seqs)) == len(seqs), "two entries got the same seq"
        markers = [e.meta["marker"] for e in entries if e.kind == "process"]
        assert len(set(markers)) == len(markers) == threads * per // 10
        assert all(
            m == f"shikumi-{j.session}-{e.seq}"
            for e in entries
            if e.kind == "process"
            for m in [e.meta["marker"]]
        )
        # the file: every line whole JSON, one create per seq, and it reads back
        lines = j.path.read_bytes().split(b"\n")
        assert lines[-1] == b""
        recs = [json.loads(x) for x in lines[:-1]]
        assert recs[0]["op"] == "session"
        created = [r["seq"] for r in recs if r["op"] == "create"]
        assert sorted(created) == sorted(seqs)
        released = {r["seq"] for r in recs if r["op"] == "release"}
        _, active = read_journal(j.path)
        assert {e.seq for e in active} == set(seqs) - released == {e.seq for e in j.active}
    assert not j.path.exists()


def test_a_closed_journal_refuses_new_records(tmp_path: Path) -> None:
    j = Journal.open(tmp_path / "home")
    j.close()
    j.close()  # idempotent
    import pytest

    from lab.errors import LabError

    with pytest.raises(LabError, match="closed"):
        j.record("dir", str(tmp_path / "home" / "work" / "late"))
