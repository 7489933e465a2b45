"""Lessons 14 (volumes, bind mounts, tmpfs, read-only root) and 15 (networking), for
real as root: they pass with nothing skipped and leave nothing behind — no mount
under the home, no shk* link or netns, no lab iptables rule, ip_forward as it was.
Plus the lessons' operations and the netdiagram view, on fixed and on real data."""

from __future__ import annotations

import io
import json
import os
import subprocess
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from lab.errors import LabError
from lab.host import mounts
from lab.lesson import operations
from lab.ops import docker, network
from lab.safety.journal import Journal
from lab.views import netdiagram
from tests.support import need_root, need_tool, shikumi

LESSONS = ["14-volumes", "15-networking"]
TOOLS = ("unshare", "nsenter", "mount", "findmnt", "ip", "iptables", "busybox")


def _text(renderable: object, width: int = 140) -> str:
    c = Console(record=True, width=width, file=io.StringIO())
    c.print(renderable)
    return c.export_text()


def _forwarding() -> str:
    return Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()


def _rules() -> set[str]:
    out = set()
    for args in (["-S"], ["-t", "nat", "-S"]):
        r = subprocess.run(["iptables", "-w", "5", *args], capture_output=True, text=True)
        out |= {ln for ln in r.stdout.splitlines() if "shikumi" in ln}
    return out


def _netns() -> set[str]:
    try:
        return set(os.listdir("/run/netns"))
    except OSError:
        return set()


def test_lessons_14_15_pass_and_leave_nothing(tmp_path: Path) -> None:
    need_root()
    need_tool(*TOOLS)
    home = tmp_path / "home"
    forwarding, rules, netns = _forwarding(), _rules(), _netns()
    r = shikumi("play", "14", "15", "--json", home=home, timeout=300)
    data = json.loads(r.stdout)
    assert r.returncode == 0, r.stdout + r.stderr
    assert [x["id"] for x in data["lessons"]] == LESSONS
    for lesson in data["lessons"]:
        # only 15#testweb (the slides' web server with Docker) may be skipped: without Docker
        skipped = [s["step"] for s in lesson.get("skips", [])]
        assert lesson["failed"] == 0 and skipped in ([], ["testweb"]), lesson
        assert lesson["passed"] + lesson["skipped"] == lesson["steps"], lesson
        if skipped:
            assert docker.available() != "", lesson  # skipped only when no Docker answers
    assert data["leaked"] == []
    # nothing left: links, namespaces, iptables rules, the sysctl, mounts, folders
    assert network.lab_links() == []
    assert not {n for n in _netns() - netns if n.startswith("shk")}
    assert _rules() - rules == set()
    assert _forwarding() == forwarding
    assert [m.target for m in mounts.under(str(home)) if m.target != str(home)] == []
    assert not (home / "containers").exists() and not (home / "volumes").exists()


def test_lessons_14_15_read_in_japanese(tmp_path: Path) -> None:
    need_root()
    need_tool(*TOOLS)
    r = shikumi("play", "14", "15", "--lang", "ja", home=tmp_path / "home", timeout=300)
    assert r.returncode == 0, r.stdout + r.stderr
    for ja in (
        "読み取り専用はマウントの性質",
        "それぞれのファイルの本当の置き場所",
        "ケーブルが二本つながったブリッジ",
        "ホスト（ルートの netns）",
        "ボリュームのファイルはコンテナより長生きした",
    ):
        assert ja in r.stdout, ja
    for en in ("Read-only is a property", "where each file lives", "the bridge with two cables"):
        assert en not in r.stdout, en


def test_lessons_14_15_lint_clean() -> None:
    r = shikumi("check", *[f"lessons/{x}" for x in LESSONS])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).replace("0 error(s)", "")


# -- the operations -------------------------------------------------------------------------


def test_operations_show_the_commands_by_hand() -> None:
    assert {"volume", "net", "forward"} <= operations.names()
    net = operations.shown("net", {"name": "web"})
    for line in (
        "ip netns add shk-web",
        "ip link add shkweb-h type veth peer name shkweb-c",
        "ip link set shkweb-h master shkweb-br",
        "ip -n shk-web link set shkweb-c name eth0",
        "-j MASQUERADE",
    ):
        assert line in net, line
    none = operations.shown("net", {"name": "quiet", "mode": "none"})
    assert "ip netns add shk-quiet" in none and "veth" not in none
    assert "no network namespace" in operations.shown("net", {"name": "h", "mode": "host"})
    fwd = operations.shown("forward", {"net": "web", "port": 18080, "to_port": 8080})
    assert "docker run -p 127.0.0.1:18080:8080" in fwd
    assert "--dport 18080 -j DNAT --to-destination 10.213.X.2:8080" in fwd
    assert "route_localnet=1" in fwd
    assert "mkdir -p $SHIKUMI_HOME/volumes/notes" in operations.shown("volume", {"name": "notes"})


def test_forward_needs_a_network_first() -> None:
    ctx = SimpleNamespace(op_results={}, step_id="x", lang="en")
    with pytest.raises(LabError, match="no network named 'web'"):
        operations.get("forward").run(ctx, None, {"net": "web", "port": 18080})


def test_volume_op_is_journaled(tmp_path: Path) -> None:
    ctx = SimpleNamespace(op_results={}, step_id="v", lang="en")
    with Journal.open(tmp_path / "home") as j:
        res = operations.get("volume").run(ctx, j, {"name": "notes"})
        assert res.data.path == j.home / "volumes" / "notes" and res.data.path.is_dir()
        j.rollback(0)
        assert not res.data.path.exists()


# -- the netdiagram view --------------------------------------------------------------------


def _fixed(mode: str = "bridge") -> netdiagram.NetDiagram:
    I = network.Interface  # noqa: E741
    if mode == "none":
        return netdiagram.NetDiagram(
            "quiet",
            "none",
            "shk-quiet",
            "",
            [],
            [I("lo", "shk-quiet", "loopback", "UNKNOWN")],
            [],
            [],
        )
    return netdiagram.NetDiagram(
        name="web",
        mode="bridge",
        netns="shk-web",
        subnet="10.213.7.0/24",
        host=[
            I("shkweb-br", "", "bridge", "UP", ["10.213.7.1/24"]),
            I("shkweb-h", "", "veth", "UP", [], "shkweb-br"),
            I("shktwo-h", "", "veth", "UP", [], "shkweb-br"),
        ],
        container=[
            I("lo", "shk-web", "loopback", "UNKNOWN", ["127.0.0.1/8"]),
            I("eth0", "shk-web", "veth", "UP", ["10.213.7.2/24"]),
        ],
        routes=[network.Route("shk-web", "default", "10.213.7.1", "eth0")],
        rules=[
            "-t nat POSTROUTING -s 10.213.7.0/24 ! -o shkweb-br -j MASQUERADE",
            "-t nat OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 18080 -j DNAT --to-destination 10.213.7.2:8080",
        ],
        forwards=[network.Forward("127.0.0.1", 18080, "10.213.7.2", 8080)],
        bridge="shkweb-br",
        host_veth="shkweb-h",
    )


def test_netdiagram_draws_fixed_data_in_both_languages() -> None:
    en = _text(netdiagram.render(_fixed()))
    for s in (
        "network web (bridge mode)",
        "shkweb-br",
        "10.213.7.1/24",
        "═veth═",
        "eth0",
        "10.213.7.2/24",
        "default via 10.213.7.1 dev eth0",
        "NAT (outgoing)",
        "port forward",
        "127.0.0.1:18080 → 10.213.7.2:8080 (tcp)",
        "shktwo-h",
        "another netns",
    ):
        assert s in en, s
    # the lab's veth end sits on the same row as the container's eth0
    row = next(ln for ln in en.splitlines() if "shkweb-h" in ln)
    assert "eth0" in row
    ja = _text(netdiagram.render(_fixed(), lang="ja"))
    assert "ホスト（ルートの netns）" in ja and "ポートフォワード" in ja
    assert "virtual switch" not in ja
    none = _text(netdiagram.render(_fixed("none")))
    assert "nothing plugged in" in none and "no route" in none and "lo" in none


def test_netdiagram_of_a_real_network(tmp_path: Path) -> None:
    need_root()
    need_tool("ip", "iptables")
    before = _forwarding()
    with Journal.open(tmp_path / "home") as j:
        net = network.create(j, "tdiag")
        try:
            ctx = SimpleNamespace(op_results={"n": net}, step_id="n", lang="en")
            d = netdiagram.collect(ctx, of="n", title_ja="図")
            assert [i.name for i in d.host] == ["shktdiag-br", "shktdiag-h"]
            assert any(i.name == "eth0" and f"{net.address}/24" in i.addresses for i in d.container)
            assert any("MASQUERADE" in r for r in d.rules)
            out = _text(netdiagram.render(d))
            assert net.bridge in out and net.gateway in out and net.address in out
            assert "図" in _text(netdiagram.render(d, lang="ja"))
            with pytest.raises(ValueError, match="made no network"):
                netdiagram.collect(SimpleNamespace(op_results={}, step_id="x"))
        finally:
            network.remove(j, net)
    assert not [n for n in network.lab_links() if "tdiag" in n]
    assert _forwarding() == before


def test_docker_serves_published_localhost_ports_with_docker_proxy(tmp_path: Path) -> None:
    """What lesson 15#forward says of Docker: by default (userland-proxy on) a port
    published on 127.0.0.1 is served by a docker-proxy process, and Docker's DNAT rule
    for the host's own connections leaves 127.0.0.0/8 out (`! -d 127.0.0.0/8`)."""
    import secrets

    from lab.ops import docker, rootfs
    from tests.support import need_docker

    need_root()
    need_docker()
    need_tool("iptables", "ldd")
    tag = secrets.token_hex(4)
    image, name = f"shikumi-test-proxy-{tag}", f"shikumi-test-proxyc-{tag}"
    with Journal.open(tmp_path / "home") as j:
        r = rootfs.build(j, j.home / "rootfs", programs=["sh", "sleep"])
        tar = tmp_path / "rootfs.tar"
        rootfs.to_tar(r.root, tar)
        docker.import_tar(j, tar, image)
        docker._record(j, "docker-container", name)
        docker.docker(["run", "-d", "--name", name, "-p", "127.0.0.1::8080", image, "sleep", "60"])
        port = docker.docker(["port", name, "8080/tcp"]).stdout.split()[0].rsplit(":", 1)[1]
        proxies = subprocess.run(
            ["pgrep", "-a", "-f", f"docker-proxy .*-host-port {port} "],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        assert "-host-ip 127.0.0.1" in proxies, proxies
        nat = subprocess.run(
            ["iptables", "-w", "-t", "nat", "-S", "OUTPUT"],
            capture_output=True,
            text=True,
            timeout=10,
        ).stdout
        assert any("! -d 127.0.0.0/8" in ln and "-j DOCKER" in ln for ln in nat.splitlines()), nat
    left = [n for n in docker.names("image") + docker.names("container") if tag in n]
    assert not left, left
