"""確認4 made safe: hiding a library `ls` needs, inside a sandbox. The host is never touched."""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from lab.host import mounts
from lab.ops import sandbox
from lab.safety import procs
from lab.safety.journal import Journal
from tests.support import need_root, need_tool, shikumi


def _sha(path: str) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


@pytest.fixture()
def lib() -> str:
    need_root()
    need_tool("ldd", "ls", "unshare", "nsenter")
    return sandbox.pick_library("ls").path  # discovered on this machine, not hard-coded


def test_hidden_library_breaks_ls_only_inside(tmp_path: Path, lib: str) -> None:
    before = _sha(lib)
    with Journal.open(tmp_path / "home") as j:
        s = sandbox.start(j, "libs", [os.path.dirname(lib)])
        mv = subprocess.run(s.run_argv(["mv", lib, lib + ".bk"]), capture_output=True, text=True)
        assert mv.returncode == 0, mv.stderr
        broken = subprocess.run(s.run_argv(["ls", "/"]), capture_output=True, text=True)
        assert broken.returncode == 127
        assert "error while loading shared libraries" in broken.stderr
        assert os.path.basename(lib) in broken.stderr
        host = subprocess.run(["ls", "/"], capture_output=True, text=True)
        assert host.returncode == 0 and os.path.exists(lib) and not os.path.exists(lib + ".bk")
        pid = s.pid
    assert not procs.alive(pid)
    assert _sha(lib) == before
    assert not mounts.under(str(tmp_path / "home"))


def test_only_the_library_directory_is_overlaid(tmp_path: Path, lib: str) -> None:
    """What lesson 05#again says: only the library's directory is overlaid; a write
    anywhere else in the sandbox lands on the host itself."""
    with Journal.open(tmp_path / "home") as j:
        s = sandbox.start(j, "libs", [os.path.dirname(lib)])
        host_overlays = {m.target for m in mounts.mounts() if m.fstype == "overlay"}
        inside = {m.target for m in mounts.mounts(s.pid) if m.fstype == "overlay"}
        assert inside - host_overlays == {os.path.realpath(os.path.dirname(lib))}
        outside = tmp_path / "written-in-the-sandbox.txt"
        touch = subprocess.run(s.run_argv(["touch", str(outside)]), capture_output=True, text=True)
        assert touch.returncode == 0, touch.stderr
        assert outside.exists()  # not overlaid: the host's own directory was written
    assert not mounts.under(str(tmp_path / "home"))


def test_killed_mid_step_leaves_host_intact(tmp_path: Path, lib: str) -> None:
    before = _sha(lib)
    home = tmp_path / "home"
    code = textwrap.dedent(
        f"""
        import os, subprocess, time
        from lab.safety.journal import Journal
        from lab.ops import sandbox
        j = Journal.open()
        s = sandbox.start(j, "libs", [os.path.dirname({lib!r})])
        subprocess.run(s.run_argv(["mv", {lib!r}, {lib!r} + ".bk"]), check=True)
        print(s.pid, flush=True)
        time.sleep(1000)
        """
    )
    p = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, SHIKUMI_HOME=str(home)),
    )
    inner = int(p.stdout.readline())  # type: ignore[union-attr]
    p.send_signal(signal.SIGKILL)
    p.wait(5)
    assert procs.alive(inner), "the sandbox outlives the killed lab until cleanup"
    assert _sha(lib) == before and not os.path.exists(lib + ".bk")
    r = shikumi("cleanup", "--json", home=home)
    assert r.returncode == 0, r.stderr
    undone = json.loads(r.stdout)["undone"]
    assert undone and all(u["ok"] for u in undone), r.stdout  # something undone, all of it ok
    assert not procs.alive(inner)
    assert _sha(lib) == before
    assert not mounts.under(str(home))
    assert not (home / "sandbox" / "libs").exists()
