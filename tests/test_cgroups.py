"""cgroups by hand, for real: v1 controllers and the cgroup2 mount, whatever this machine has."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.doctor.cgroups_probe import CgroupLayout, detect_layout
from lab.errors import LabError
from lab.ops import cgroups
from lab.safety import procs
from lab.safety.journal import Journal
from tests.support import need_root

LAYOUT = detect_layout()


@pytest.fixture()
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "home") as j:
        yield j
    assert not cgroups.find_lab_cgroups(), "a shikumi cgroup is left"


def _need(controller: str, version: str = "") -> str:
    need_root()
    where = LAYOUT.where(controller)
    if not where or (version and where != version):
        pytest.skip(
            f"needs the {controller} controller{' on ' + version if version else ''} ({LAYOUT.summary()})"
        )
    return where


def _sleeper() -> subprocess.Popen:
    return subprocess.Popen(["sleep", "30"])


# -- parsing (fake files) ----------------------------------------------------------------


def test_parsers() -> None:
    assert cgroups.parse_keyed("usage_usec 10\nnr_throttled 3\nbad\n") == {
        "usage_usec": 10,
        "nr_throttled": 3,
    }
    assert cgroups.parse_max("max\n") is None
    assert cgroups.parse_max("9223372036854771712\n") is None
    assert cgroups.parse_max("50000 100000\n") == 50000
    assert cgroups.shares_to_weight(1024) == 39 and cgroups.weight_to_shares(100) == 2597
    assert cgroups.shares_to_weight(cgroups.weight_to_shares(500)) in (499, 500)


V2_MOUNTINFO = (
    "30 23 0:26 / /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime - cgroup2 cgroup2 rw,nsdelegate\n"
)


def _fake_v2(tmp_path: Path) -> tuple[CgroupLayout, Path]:
    """A full v2 layout with fake files: placement and sample() read them like the kernel's."""
    files = {
        "/sys/fs/cgroup/cgroup.controllers": "cpuset cpu io memory hugetlb pids rdma misc\n",
        "/sys/fs/cgroup/cgroup.subtree_control": "cpu memory pids\n",
    }
    layout = detect_layout(V2_MOUNTINFO, read=files.get)
    assert layout.version == "v2" and layout.where("cpuset") == "v2"
    d = tmp_path / "shikumi" / "box"
    d.mkdir(parents=True)
    for name, text in {
        "memory.current": "1048576\n",
        "memory.max": "33554432\n",
        "memory.events": "low 0\nhigh 0\nmax 12\noom 1\noom_kill 1\n",
        "cpu.stat": "usage_usec 2000\nuser_usec 1500\nsystem_usec 500\nnr_periods 40\nnr_throttled 35\nthrottled_usec 70000\n",
        "pids.current": "3\n",
        "pids.max": "max\n",
        "cgroup.events": "populated 1\nfrozen 0\n",
    }.items():
        (d / name).write_text(text)
    return layout, d


def test_v2_layout_from_fake_files(tmp_path: Path) -> None:
    layout, d = _fake_v2(tmp_path)
    assert cgroups.placement(layout, ["memory", "cpu", "cpuset", "pids"]) == dict.fromkeys(
        ["memory", "cpu", "cpuset", "pids"], "v2"
    )
    cg = cgroups.Cgroup(
        "box",
        layout,
        dict.fromkeys(["memory", "cpu", "pids"], str(d)),
        dict.fromkeys(["memory", "cpu", "pids"], "v2"),
    )
    s = cgroups.sample(cg)
    assert (s.memory_bytes, s.memory_limit, s.oom_kills) == (1048576, 33554432, 1)
    assert (s.cpu_usage_usec, s.nr_periods, s.nr_throttled, s.throttled_usec) == (
        2000,
        40,
        35,
        70000,
    )
    assert (s.pids_current, s.pids_max, s.populated) == (3, None, True)
    # limits are written the v2 way
    cgroups.set_memory(cg, 32 << 20)
    cgroups.set_cpu_quota(cg, 50_000)
    cgroups.set_cpu_weight(cg, 200)
    cgroups.set_pids_max(cg, 20)
    assert (d / "memory.max").read_text() == str(32 << 20)
    assert (d / "cpu.max").read_text() == "50000 100000"
    assert (d / "cpu.weight").read_text() == "200"
    assert (d / "pids.max").read_text() == "20"
    assert not (d / "memory.swap.max").exists()  # only written where the kernel has it


def test_missing_controller_is_said_plainly(journal: Journal) -> None:
    layout = detect_layout("", read=lambda p: None)
    with pytest.raises(LabError, match="no cgroup hierarchy has the memory controller"):
        cgroups.create(journal, "nothing", ["memory"], layout=layout)


def test_journal_refuses_foreign_cgroup_and_sysctl(journal: Journal) -> None:
    with pytest.raises(LabError, match="shikumi"):
        journal.record("cgroup", "/sys/fs/cgroup/memory/user.slice")
    with pytest.raises(LabError, match="ip_forward"):
        journal.record("sysctl", "kernel.panic", old="0")
    with pytest.raises(LabError):
        journal.record("cgcontrol", "/etc/passwd", controller="cpu")


# -- real cgroups ------------------------------------------------------------------------


def test_memory_limit_kills_for_real(journal: Journal) -> None:
    where = _need("memory")
    cg = cgroups.create(journal, f"mem{os.getpid()}", ["memory"])
    assert cg.path("memory").endswith(f"/shikumi/mem{os.getpid()}")
    cgroups.set_memory(cg, 32 << 20)
    s0 = cgroups.sample(cg)
    assert s0.memory_limit == 32 << 20
    # a shell that puts itself in the cgroup, then grows a string until it is killed
    script = (
        "; ".join(cgroups.join_commands(cg))
        + "; exec "
        + sys.executable
        + " -c 'b = []\nwhile True: b.append(bytearray(1 << 20))'"
    )
    p = subprocess.run(["sh", "-c", script], capture_output=True, timeout=60)
    assert p.returncode == -signal.SIGKILL, p
    s = cgroups.sample(cg)
    assert s.oom_kills and s.oom_kills >= 1, s
    # failcnt (how often the limit was hit; 6.x kernels may leave it at 0) is v1's alone
    assert (s.memory_failcnt is not None) == (where == "v1"), (where, s)
    cgroups.remove(journal, cg)
    assert not os.path.exists(cg.path("memory"))


def test_cpu_quota_throttles(journal: Journal) -> None:
    where = _need("cpu")
    cg = cgroups.create(journal, f"cpu{os.getpid()}", ["cpu"])
    cgroups.set_cpu_quota(cg, 10_000, 100_000)  # a tenth of a CPU
    cgroups.set_cpu_weight(cg, 50)
    busy = subprocess.Popen(
        [sys.executable, "-c", "import time\nt = time.time()\nwhile time.time() - t < 0.6: pass"]
    )
    cgroups.add(cg, busy.pid)
    assert busy.pid in cg.pids()
    busy.wait(20)
    s = cgroups.sample(cg)
    assert s.nr_periods and s.nr_throttled and s.nr_throttled > 0, s
    assert s.throttled_usec and s.throttled_usec > 100_000, s
    # usage is cpu.stat's on v2, cpuacct's on v1 (the lab joins it where the kernel has it)
    has_usage = where == "v2" or "cpuacct" in LAYOUT.v1
    assert (s.cpu_usage_usec is not None) == has_usage, (LAYOUT.summary(), s)
    if has_usage:  # (asserted above) no more than the quota: 10 ms per period it ran in
        assert 0 < s.cpu_usage_usec <= (s.nr_periods + 2) * 10_000, s


def test_pids_max_holds_a_fork_loop(journal: Journal) -> None:
    _need("pids")
    cg = cgroups.create(journal, f"pids{os.getpid()}", ["pids"])
    cgroups.set_pids_max(cg, 20)
    # a bounded fork loop: 40 sleepers, only 20 tasks allowed (the shell is one)
    script = (
        "; ".join(cgroups.join_commands(cg))
        + "; n=0; for i in $(seq 40); do sleep 5 >/dev/null 2>&1 & done; sleep 0.3; echo done"
    )
    p = subprocess.Popen(
        ["sh", "-c", script],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    time.sleep(0.2)
    s = cgroups.sample(cg)
    assert s.pids_max == 20
    assert s.pids_current is not None and s.pids_current <= 20
    out, err = p.communicate(timeout=20)
    # the kernel refused forks (its own count), and the shell said so
    events = cgroups.parse_keyed(Path(cg.path("pids"), "pids.events").read_text())
    assert events.get("max", 0) >= 1, events
    assert "fork" in err.lower(), (out, err)
    cgroups.remove(journal, cg)  # kills the sleepers still inside
    assert not any(procs.alive(x) for x in cg.pids())


def test_cpuset_pins_to_one_cpu(journal: Journal) -> None:
    where = _need("cpuset")
    cg = cgroups.create(journal, f"cset{os.getpid()}", ["cpuset"])
    cgroups.set_cpuset(cg, "0", "0" if where == "v1" else None)
    p = _sleeper()
    try:
        cgroups.add(cg, p.pid)
        allowed = next(
            ln
            for ln in Path(f"/proc/{p.pid}/status").read_text().splitlines()
            if ln.startswith("Cpus_allowed_list")
        )
        assert allowed.split()[-1] == "0"
    finally:
        p.kill()
        p.wait()


def test_cgroup2_mount_for_what_it_allows(journal: Journal) -> None:
    need_root()
    if not LAYOUT.v2_mount:
        pytest.skip("no cgroup2 mount here")
    ctrls = list(LAYOUT.v2_controllers)
    cg = cgroups.create(journal, f"v2{os.getpid()}", ctrls, prefer="v2")
    d = cg.dirs[0]
    assert d.startswith(str(LAYOUT.v2_mount) + "/shikumi/")
    listed = set(Path(d, "cgroup.controllers").read_text().split())
    assert set(ctrls) <= listed  # enabled in the root's and the lab's subtree_control
    p = _sleeper()
    try:
        cgroups.add(cg, p.pid)
        assert Path(d, "cgroup.procs").read_text().split() == [str(p.pid)]
        assert cgroups.sample(cg).populated is True
        assert (
            Path(f"/proc/{p.pid}/cgroup")
            .read_text()
            .splitlines()[-1]
            .endswith(f"/shikumi/v2{os.getpid()}")
        )
        for c in ctrls:  # a limit file of every controller the mount has
            assert any(n.startswith(c + ".") for n in os.listdir(d)), c
        if "pids" in ctrls:  # limits where this mount has the controller, read back
            cgroups.set_pids_max(cg, 5)
            assert cgroups.sample(cg).pids_max == 5
        if "memory" in ctrls:
            cgroups.set_memory(cg, 64 << 20)
            assert cgroups.sample(cg).memory_limit == 64 << 20
    finally:
        p.kill()
        p.wait()
    deadline = time.monotonic() + 2
    while cgroups.sample(cg).populated and time.monotonic() < deadline:
        time.sleep(0.01)
    assert cgroups.sample(cg).populated is False
    before = Path(LAYOUT.v2_mount, "cgroup.subtree_control").read_text()
    cgroups.remove(journal, cg)
    assert not os.path.exists(d)
    # what the lab enabled in the root is disabled again
    after = set(Path(LAYOUT.v2_mount, "cgroup.subtree_control").read_text().split())
    assert after <= set(before.split())
    assert after == set(LAYOUT.v2_subtree_control)
