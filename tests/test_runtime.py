"""The runtime from the parts, for real: overlay + cgroup + netns + pivot_root; the chroot escape."""

from __future__ import annotations

import subprocess
import time
from pathlib import Path

import pytest

from lab.doctor.cgroups_probe import detect_layout
from lab.host.mounts import mounts
from lab.ops import cgroups, network, rootfs, runtime, volumes
from lab.safety import procs
from lab.safety.journal import Journal
from tests.support import need_root, need_tool

LOOP = "#!/bin/sh\nwhile true; do sleep 1; done\n"


@pytest.fixture()
def journal(tmp_path: Path):
    need_root()
    need_tool("unshare", "nsenter", "ldd", "ip", "pivot_root")
    with Journal.open(tmp_path / "home") as j:
        yield j
    assert (
        not cgroups.find_lab_cgroups() and network.lab_links() == [] and network.lab_netns() == []
    )
    assert not [m for m in mounts() if str(tmp_path) in m.target], "a mount is left"


def test_inner_script_pivot_vs_chroot(tmp_path: Path) -> None:
    c = runtime.Container("a", [tmp_path], tmp_path / "c", rootfs=tmp_path / "m")
    lines = runtime.inner_script(c, ["/bin/sh"])
    assert f"pivot_root . {runtime.OLD_ROOT}" in lines and lines[-1] == "exec /bin/sh"
    c.root_mode = "chroot"
    assert runtime.inner_script(c, ["/bin/sh"])[-1] == f"exec chroot {tmp_path / 'm'} /bin/sh"


def test_run_a_rootfs_step_by_step(journal: Journal, tmp_path: Path) -> None:
    r = rootfs.build(journal, journal.home / "rootfs", scripts={"/opt/bin/loop.sh": LOOP})
    data = tmp_path / "data"
    data.mkdir()
    (data / "hello.txt").write_text("from the host\n")
    layout = detect_layout()
    limits = runtime.Limits(
        memory=64 << 20 if layout.where("memory") else None,
        pids_max=50 if layout.where("pids") else None,
    )
    c = runtime.new(
        journal,
        "rt1",
        [r.root],
        mounts=[volumes.bind(data, "/data", readonly=True), volumes.tmpfs("/tmp")],
        readonly_root=True,
        hostname="box",
    )
    runtime.prepare_rootfs(journal, c)
    runtime.make_cgroup(journal, c, limits)
    runtime.make_network(journal, c, "bridge", tag="rt1")
    runtime.start(journal, c, ["/opt/bin/loop.sh"])
    assert [s.name for s in c.stages] == ["rootfs", "cgroup", "network", "start"]
    assert any("pivot_root" in x for x in c.stages[-1].commands)
    assert procs.comm(c.pid) == "loop.sh"

    def sh(script: str) -> str:
        p = subprocess.run(
            runtime.exec_argv(c, ["sh", "-c", script]), capture_output=True, text=True, timeout=10
        )
        return p.stdout + p.stderr

    assert sh("hostname").strip() == "box"
    assert sh("cat /data/hello.txt") == "from the host\n"
    assert "Read-only" in sh(": > /data/x") and "Read-only" in sh(": > /etc/x")
    assert sh(": > /tmp/x && echo ok").strip() == "ok"  # the writable tmpfs /tmp
    targets = {ln.split()[1] for ln in sh("cat /proc/mounts").splitlines()}
    assert targets == {"/", "/data", "/tmp", "/proc", "/dev"}, targets  # the old root is gone
    assert sh("ls /.oldroot").strip() == ""
    assert "eth0" in sh("cat /proc/net/dev")
    # a cgroup exactly when this kernel has a controller for the limits asked
    assert (c.cgroup is not None) == bool(limits.controllers()), layout.summary()
    if c.cgroup is not None:  # (asserted above: the layout has memory or pids)
        assert c.pid in c.cgroup.pids()
        s = cgroups.sample(c.cgroup)
        assert (s.memory_limit, s.pids_max) == (limits.memory, limits.pids_max), s
    seen = {m.target: m for m in volumes.inside(c.pid)}
    assert seen["/"].readonly and seen["/data"].readonly and not seen["/tmp"].readonly
    pid = c.pid
    runtime.remove(journal, c)
    assert not procs.alive(pid)
    assert (data / "hello.txt").exists()  # a bind mount's source outlives the container


def test_chroot_escape_works_under_chroot_fails_under_pivot_root(
    journal: Journal, tmp_path: Path
) -> None:
    if runtime.escape_tool() is None:
        pytest.skip("needs perl (Essential on Debian/Ubuntu) for chroot(2) without chdir(2)")
    r = rootfs.build(journal, journal.home / "rootfs", programs=[*rootfs.DEFAULT_PROGRAMS, "perl"])
    marker = tmp_path / "outside-the-rootfs"
    marker.write_text("host\n")
    t0 = time.monotonic()
    chroot = runtime.try_escape(journal, "esc1", [r.root], "chroot", marker)
    pivot = runtime.try_escape(journal, "esc2", [r.root], "pivot_root", marker)
    assert chroot.escaped and "ESCAPED" in chroot.output, chroot
    assert not pivot.escaped and "HELD" in pivot.output, pivot
    assert any(x.startswith("exec chroot") for x in chroot.commands)
    assert any(x.startswith("pivot_root") for x in pivot.commands)
    assert time.monotonic() - t0 < 20
