"""Network and cgroup resources survive a SIGKILL of the lab; `shikumi cleanup` removes them all."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from lab.doctor.cgroups_probe import detect_layout
from lab.ops import cgroups, network
from lab.safety import journal, procs
from tests.support import need_root, need_tool, shikumi

CHILD = textwrap.dedent(
    """
    import json, sys, time
    from lab.ops import cgroups, network
    from lab.safety import resources
    from lab.safety.journal import Journal
    j = Journal.open()
    net = network.create(j, "kc" + sys.argv[1][-5:])
    network.forward(j, net, 18090, 8080)
    cg = cgroups.create(j, "kill" + sys.argv[1], sys.argv[2].split(","))
    if "pids" in cg.paths:
        cgroups.set_pids_max(cg, 30)
    p, _ = resources.spawn(j, net.exec_argv(["sleep", "1000"]), "sleeper")
    cgroups.add(cg, p.pid)
    print(json.dumps({"cg": cg.dirs, "pid": p.pid, "links": [net.bridge, net.host_veth], "netns": net.netns}), flush=True)
    time.sleep(1000)
    """
)


@pytest.fixture()
def home(tmp_path: Path):
    h = tmp_path / "home"
    yield h
    if h.exists():
        journal.recover(h, force=True)


def test_kill_then_cleanup_network_and_cgroup(home: Path) -> None:
    need_root()
    need_tool("ip", "iptables")
    layout = detect_layout()
    ctrls = [c for c in ("memory", "pids", "cpu") if layout.where(c)]
    if not ctrls:
        pytest.skip(f"needs a cgroup controller ({layout.summary()})")
    before_fwd = Path("/proc/sys/net/ipv4/ip_forward").read_text()
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(os.getpid()), ",".join(ctrls)],
        stdout=subprocess.PIPE,
        text=True,
        env=dict(os.environ, SHIKUMI_HOME=str(home)),
    )
    line = child.stdout.readline()  # type: ignore[union-attr]
    assert line, "the child died before creating its resources"
    info = json.loads(line)
    assert all(Path(d).is_dir() for d in info["cg"])
    assert set(info["links"]) <= set(network.lab_links()) and info["netns"] in network.lab_netns()
    assert network.lab_rules("nat")
    child.send_signal(signal.SIGKILL)
    child.wait(10)
    assert procs.alive(info["pid"]), "the sleeper outlives the lab (as after a crash)"

    r = shikumi("cleanup", "--json", home=home)
    assert r.returncode == 0, r.stdout + r.stderr
    report = json.loads(r.stdout)
    assert all(u["ok"] for u in report["undone"]), report
    kinds = {u["kind"] for u in report["undone"]}
    assert {"netns", "link", "iptables", "cgroup", "process", "sysctl"} <= kinds, kinds
    time.sleep(0.05)
    assert not procs.alive(info["pid"])
    assert not cgroups.find_lab_cgroups(), "a shikumi cgroup is left"
    assert network.lab_links() == [] and network.lab_netns() == []
    assert network.lab_rules("nat") == [] and network.lab_rules("filter") == []
    assert Path("/proc/sys/net/ipv4/ip_forward").read_text() == before_fwd
    assert json.loads(shikumi("cleanup", "--json", home=home).stdout)["undone"] == []
