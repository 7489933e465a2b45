"""What a process sees in its own namespaces (lab/host/nsview.py): the hostname of
its UTS namespace and the mounts of a container's own mount namespace, as the
What changed panel lists them. Root: a `sleep` in new UTS and mount namespaces of
its own (a tmpfs mounted only there), killed at the end; run under the kernel lock."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

import pytest

from lab.host import nsview
from lab.ops import changes

pytestmark = pytest.mark.skipif(
    os.geteuid() != 0 or shutil.which("unshare") is None, reason="needs root and unshare"
)


def _child_of(pid: int) -> int:
    end = time.monotonic() + 5
    while time.monotonic() < end:
        try:
            kids = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
        except OSError:
            kids = []
        if kids:
            return int(kids[0])
        time.sleep(0.05)
    raise AssertionError("the box never started")


def test_hostname_and_mounts_inside_a_box(tmp_path) -> None:
    script = f"hostname box-{os.getpid()} && mount -t tmpfs walk {tmp_path} && exec sleep 60"
    box = subprocess.Popen(
        ["unshare", "--uts", "--mount", "--propagation", "private", "--fork", "sh", "-c", script]
    )
    inner = 0
    try:
        inner = _child_of(box.pid)
        end = time.monotonic() + 5
        while b"sleep" not in Path(f"/proc/{inner}/cmdline").read_bytes():
            assert time.monotonic() < end
            time.sleep(0.05)
        assert nsview.hostname_of(inner) == f"box-{os.getpid()}"
        assert nsview.hostname_of(os.getpid()) == os.uname().nodename  # ours unchanged
        assert nsview.hostname_of(2**22 + 7) == ""  # no such process: nothing, no error
        seen = nsview.mounts_seen(os.getpid(), (inner,))
        assert f"pid {inner}: {tmp_path} (tmpfs walk)" in seen
        assert f"{tmp_path} (tmpfs walk)" not in seen  # not in the host's own table
        scope = changes.Scope(pid=inner, roots=(), dirs=(), kinds=("namespaces",))
        before = changes.take(scope)
        subprocess.run(["nsenter", "-t", str(inner), "-u", "hostname", "renamed"], timeout=10)
        got = changes.lines(changes.diff(before, changes.take(scope)))
        assert f"- namespaces: hostname box-{os.getpid()}" in got
        assert "+ namespaces: hostname renamed" in got
    finally:
        if inner:
            os.kill(inner, 9)  # the box's sleep (its tmpfs goes with its namespace)
        box.kill()
        box.wait(timeout=10)
