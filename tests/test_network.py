"""Container networking by hand, for real: netns, veth, bridge, NAT, a port forward.

Traffic only between the lab's own namespace and the host's loopback/bridge."""

from __future__ import annotations

import ipaddress
import shutil
import subprocess
import time
import urllib.request
from pathlib import Path

import pytest

from lab.ops import network
from lab.safety.journal import Journal
from tests.support import need_root, need_tool


def _forwarding() -> str:
    return Path("/proc/sys/net/ipv4/ip_forward").read_text().strip()


@pytest.fixture()
def journal(tmp_path: Path):
    need_root()
    need_tool("ip", "iptables")
    before = _forwarding()
    with Journal.open(tmp_path / "home") as j:
        yield j
    assert network.lab_links() == [], "a shk* link is left"
    assert network.lab_netns() == [], "a shk* netns is left"
    assert network.lab_rules("nat") == [] and network.lab_rules("filter") == [], (
        "a lab iptables rule is left"
    )
    assert _forwarding() == before, "ip_forward not restored"


def test_pick_subnet_avoids_routes() -> None:
    used = [ipaddress.ip_network("10.213.1.0/24"), ipaddress.ip_network("10.213.2.0/23")]
    assert str(network.pick_subnet(used)) == "10.213.4.0/24"
    with pytest.raises(Exception, match="no free"):
        network.pick_subnet([ipaddress.ip_network("10.0.0.0/8")])


def test_names_fit_the_kernel() -> None:
    ns, br, h, c = network.names("web12345")
    assert all(len(n) <= 15 and n.startswith("shk") for n in (br, h, c)) and ns == "shk-web12345"
    with pytest.raises(Exception, match="bad network name"):
        network.names("Web!")


def test_bridge_network_ping_and_port_forward(journal: Journal, tmp_path: Path) -> None:
    need_tool("busybox")
    net = network.create(journal, "t1")
    assert (
        net.subnet.startswith("10.213.")
        and net.gateway.endswith(".1")
        and net.address.endswith(".2")
    )
    d = network.describe(net)
    assert {i.name for i in d.host} == {net.bridge, net.host_veth}
    assert next(i for i in d.host if i.name == net.host_veth).master == net.bridge
    eth0 = next(i for i in d.container if i.name == "eth0")
    assert eth0.addresses == [f"{net.address}/24"] and eth0.kind == "veth"
    assert any(r.dst == "default" and r.via == net.gateway for r in d.routes)
    assert any("MASQUERADE" in r for r in d.rules)
    assert _forwarding() == "1"
    # the container reaches the host's end of the wire
    ping = subprocess.run(
        net.exec_argv(["ping", "-c", "1", "-W", "2", net.gateway]), capture_output=True, text=True
    )
    if ping.returncode and not shutil.which("ping"):
        ping = subprocess.run(
            net.exec_argv(["busybox", "ping", "-c", "1", "-W", "2", net.gateway]),
            capture_output=True,
            text=True,
        )
    assert ping.returncode == 0, ping.stdout + ping.stderr
    # a small server inside, published on the host's loopback and on the bridge address
    www = tmp_path / "www"
    www.mkdir()
    (www / "index.html").write_text("hello from the container\n")
    server = subprocess.Popen(
        net.exec_argv(["busybox", "httpd", "-f", "-p", "8080", "-h", str(www)])
    )
    try:
        network.forward(journal, net, 18080, 8080, host_addr="127.0.0.1")
        network.forward(journal, net, 18081, 8080, host_addr=net.gateway)
        assert any("DNAT" in r and "18080" in r for r in network.describe(net).rules)
        for url in (
            "http://127.0.0.1:18080/",
            f"http://{net.gateway}:18081/",
            f"http://{net.address}:8080/",
        ):
            body = _get(url)
            assert body == "hello from the container\n", url
    finally:
        server.kill()
        server.wait()
    network.remove(journal, net)
    assert network.lab_links() == [] and network.lab_netns() == []


def _get(url: str) -> str:
    last: Exception | None = None
    for _ in range(50):
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                return r.read().decode()
        except OSError as e:
            last = e
            time.sleep(0.05)
    raise AssertionError(f"{url}: {last}")


def test_none_and_host_modes(journal: Journal) -> None:
    none = network.create(journal, "t2", mode="none")
    d = network.describe(none)
    assert [i.name for i in d.container] == ["lo"] and d.host == []
    assert (
        subprocess.run(
            none.exec_argv(["ip", "route"]), capture_output=True, text=True
        ).stdout.strip()
        == ""
    )
    host = network.create(journal, "t3", mode="host")
    assert host.netns == "" and host.exec_argv(["true"]) == ["true"]
    assert any(i.name == "lo" for i in network.describe(host).host)
