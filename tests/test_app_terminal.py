"""The app's guard against a terminal that goes away (lab/tui/terminal.py), piece by piece:

- a pty whose other side closed reads as gone; a live one does not
- the driver's output survives EIO (no exception, no blocked queue)
- a process whose main thread is stuck (a futex wait no signal ends) still ends on
  SIGTERM within the guard's hard stop, after running the emergency cleanup
"""

from __future__ import annotations

import os
import pty
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from lab.tui import terminal

REPO = Path(__file__).resolve().parent.parent


def test_a_hung_up_pty_reads_as_gone_and_a_live_one_does_not() -> None:
    master, slave = pty.openpty()
    try:
        assert terminal.terminal_gone([slave]) == ""
        os.close(master)
        master = -1
        assert terminal.terminal_gone([slave]) != ""
    finally:
        for fd in (master, slave):
            if fd >= 0:
                os.close(fd)


def test_writes_to_a_gone_terminal_neither_raise_nor_block() -> None:
    lost: list[str] = []

    class Dead:
        def write(self, text: str) -> int:
            raise OSError(5, "Input/output error")

        def flush(self) -> None:
            raise OSError(5, "Input/output error")

        def fileno(self) -> int:
            return 2

        def isatty(self) -> bool:
            return True

    f = terminal._SafeFile(Dead(), lambda: lost.append("gone"))
    for _ in range(100):  # more than Textual's bounded queue holds
        assert f.write("x" * 100) == 100
        f.flush()
    assert f.gone and lost == ["gone"] and not f.isatty()


STUCK = textwrap.dedent(
    """
    import asyncio, sys, threading
    from pathlib import Path
    from lab.tui.terminal import Guard

    done = Path(sys.argv[1])
    loop = asyncio.new_event_loop()
    guard = Guard(
        loop,
        request_exit=lambda code: None,  # the app's loop never runs: it is stuck
        cancel_all=lambda: None,
        emergency=lambda: done.write_text("undone"),
        fds=[],
    )
    guard.start()
    print("ready", flush=True)
    lock = threading.Lock(); lock.acquire(); lock.acquire()  # stuck for good
    """
)


def test_sigterm_ends_an_app_whose_thread_is_stuck(tmp_path: Path) -> None:
    done = tmp_path / "emergency"
    p = subprocess.Popen(
        [sys.executable, "-c", STUCK, str(done)],
        stdout=subprocess.PIPE,
        text=True,
        cwd=REPO,
    )
    try:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready"
        time.sleep(0.2)
        t0 = time.monotonic()
        p.send_signal(signal.SIGTERM)
        code = p.wait(timeout=10)
        took = time.monotonic() - t0
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    assert code == 128 + signal.SIGTERM
    assert took < 5.0, f"ended {took:.1f} s after SIGTERM"
    assert done.read_text() == "undone", "the guard did not clean up before ending"
