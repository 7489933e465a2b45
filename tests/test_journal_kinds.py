"""The journal kinds for settings: "sysctl" (old value restored) and "cgcontrol" (a controller enabled)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.ops import network
from lab.safety import resources
from lab.safety.journal import Entry, Journal
from lab.safety.undo import sysctl_path, undo_entry, validate
from tests.support import need_root, need_tool


def test_validation(tmp_path: Path) -> None:
    ok = Entry(1, "sysctl", "net.ipv4.ip_forward", {"old": "0", "value": "1"})
    assert validate(ok, tmp_path) == ""
    assert (
        validate(Entry(1, "sysctl", "net.ipv4.conf.shkx-br.route_localnet", {"old": "0"}), tmp_path)
        == ""
    )
    for bad in (
        "net.ipv4.conf.eth0.route_localnet",
        "kernel.panic",
        "net.ipv4.conf.all.forwarding",
    ):
        assert validate(Entry(1, "sysctl", bad, {"old": "0"}), tmp_path)
    assert validate(Entry(1, "sysctl", "net.ipv4.ip_forward", {}), tmp_path)  # no old value
    assert (
        validate(
            Entry(
                1, "cgcontrol", "/sys/fs/cgroup/cgroup.subtree_control", {"controller": "cpuset"}
            ),
            tmp_path,
        )
        == ""
    )
    assert validate(
        Entry(1, "cgcontrol", "/sys/fs/cgroup/../x/cgroup.subtree_control", {"controller": "cpu"}),
        tmp_path,
    )
    assert validate(
        Entry(1, "cgcontrol", "/sys/fs/cgroup/cgroup.procs", {"controller": "cpu"}), tmp_path
    )
    assert validate(
        Entry(1, "cgcontrol", "/sys/fs/cgroup/cgroup.subtree_control", {"controller": "x; y"}),
        tmp_path,
    )
    assert sysctl_path("net.ipv4.ip_forward") == "/proc/sys/net/ipv4/ip_forward"


def test_sysctl_is_restored_unless_changed_since(tmp_path: Path) -> None:
    need_root()
    need_tool("ip")
    with Journal.open(tmp_path / "home") as j:
        resources.link_add(j, "shkjk-br", ["type", "bridge"])
        key = "net.ipv4.conf.shkjk-br.route_localnet"
        path = Path(sysctl_path(key))
        assert path.read_text().strip() == "0"
        net = network.Network("jk", "bridge")
        e = network.set_sysctl(j, net, key, "1")
        assert e is not None and path.read_text().strip() == "1"
        assert network.set_sysctl(j, net, key, "1") is None  # unchanged: nothing recorded
        r = undo_entry(e, j.home)
        assert r.ok and path.read_text().strip() == "0" and "restored" in r.action
        # someone else changed it since: left alone
        path.write_text("1")
        e.meta["value"] = "5"
        assert "left alone" in undo_entry(e, j.home).action and path.read_text().strip() == "1"
        with pytest.raises(LabError):
            j.record("sysctl", "net.ipv4.conf.eth0.forwarding", old="0")


def test_iptables_rules_by_comment_are_removed_even_mistyped(tmp_path) -> None:
    """An `op expect` rule notes the rule the learner should type; a mistyped one
    carrying the same lab comment is removed too (after a crash, by cleanup)."""
    import subprocess

    from lab.safety.journal import Journal
    from tests.support import need_root, need_tool

    need_root()
    need_tool("iptables")
    comment = f"shikumi-test-{tmp_path.name[-8:]}"
    good = [
        "-d",
        "127.0.0.1",
        "-p",
        "tcp",
        "--dport",
        "18099",
        "-j",
        "ACCEPT",
        "-m",
        "comment",
        "--comment",
        comment,
    ]
    typo = [
        "-d",
        "127.0.0.1",
        "-p",
        "tcp",
        "--dport",
        "18098",
        "-j",
        "ACCEPT",
        "-m",
        "comment",
        "--comment",
        comment,
    ]
    with Journal.open(tmp_path / "home") as j:
        j.record(
            "iptables", "filter/OUTPUT", table="filter", chain="OUTPUT", rule=good, by_comment=True
        )
        subprocess.run(["iptables", "-w", "5", "-A", "OUTPUT", *typo], check=True)
    rules = subprocess.run(
        ["iptables", "-w", "5", "-S", "OUTPUT"], capture_output=True, text=True
    ).stdout
    assert comment not in rules
