"""Container networking by hand: a netns, a veth pair, a bridge, NAT and a port forward.

    host                                   container (netns shk-NAME)
    shkNAME-br 10.213.X.1/24 ── shkNAME-h ═ veth ═ eth0 10.213.X.2/24, default via .1
    iptables -t nat POSTROUTING -s 10.213.X.0/24 ! -o shkNAME-br -j MASQUERADE   (NAT out)
    iptables -t nat OUTPUT -d ADDR -p tcp --dport P -j DNAT --to 10.213.X.2:P     (port forward)

The port forward is published on the host's loopback (127.0.0.1, as
``docker run -p 127.0.0.1:P:P``) or on the bridge's own address: never on an
address other machines can reach. Loopback needs ``route_localnet`` on the
bridge and a MASQUERADE of 127.0.0.1 leaving through it (what Docker does
without its userland proxy); both are journaled and undone.

Modes: "bridge" (all of the above), "none" (an empty netns, only `lo`), "host"
(no netns at all: the host's interfaces).
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field

from lab.errors import LabError
from lab.safety import resources
from lab.safety.journal import Entry, Journal
from lab.safety.undo import sysctl_path

LAB_RANGE = "10.213.0.0/16"  # one /24 per network, the first free one
_TAG = re.compile(r"^[a-z0-9]{1,8}$")


@dataclass
class Address:
    iface: str
    cidr: str  # "10.213.1.1/24"
    ns: str  # "" = the host


@dataclass
class Interface:
    name: str
    ns: str  # "" = the host
    kind: str  # veth, bridge, loopback, …
    state: str  # UP, DOWN, UNKNOWN
    addresses: list[str] = field(default_factory=list)
    master: str = ""  # the bridge it is plugged into
    peer: str = ""  # a veth's other end ("shkweb-h@if12" → index only when in another ns)


@dataclass
class Route:
    ns: str
    dst: str
    via: str = ""
    dev: str = ""


@dataclass
class Forward:
    host_addr: str
    host_port: int
    container_addr: str
    container_port: int
    proto: str = "tcp"


@dataclass
class Network:
    name: str
    mode: str  # bridge | none | host
    netns: str = ""  # "" in host mode
    bridge: str = ""
    host_veth: str = ""
    container_veth: str = ""  # its name inside the netns (eth0)
    subnet: str = ""
    gateway: str = ""  # the bridge's address
    address: str = ""  # the container's address
    forwards: list[Forward] = field(default_factory=list)
    commands: list[str] = field(default_factory=list)  # every command run, in order
    entries: list[Entry] = field(default_factory=list)

    @property
    def netns_path(self) -> str:
        return f"/run/netns/{self.netns}" if self.netns else ""

    def exec_argv(self, argv: Sequence[str]) -> list[str]:
        """Run *argv* inside the network namespace (on the host in host mode)."""
        return ["ip", "netns", "exec", self.netns, *argv] if self.netns else list(argv)


# -- small helpers -------------------------------------------------------------------------


def _ip_json(args: Sequence[str]) -> list[dict]:
    r = subprocess.run(["ip", "-j", *args], capture_output=True, text=True, timeout=10)
    if r.returncode != 0 or not r.stdout.strip():
        return []
    try:
        return json.loads(r.stdout)
    except ValueError:
        return []


def used_networks() -> list[ipaddress.IPv4Network]:
    """Every IPv4 network this host already routes or has an address in (all tables)."""
    out = []
    for r in _ip_json(["-4", "route", "show", "table", "all"]):
        dst = r.get("dst", "")
        if dst == "default" or not dst:
            continue
        try:
            out.append(ipaddress.ip_network(dst, strict=False))
        except ValueError:
            continue
    for link in _ip_json(["-4", "addr", "show"]):
        for a in link.get("addr_info", []):
            try:
                out.append(ipaddress.ip_network(f"{a['local']}/{a['prefixlen']}", strict=False))
            except (KeyError, ValueError):
                continue
    return out


def pick_subnet(used: Sequence[ipaddress.IPv4Network] | None = None) -> ipaddress.IPv4Network:
    """The first 10.213.X.0/24 (X ≥ 1) that overlaps nothing the host routes."""
    used = used_networks() if used is None else used
    for net in list(ipaddress.ip_network(LAB_RANGE).subnets(new_prefix=24))[1:]:
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise LabError(f"no free /24 left in {LAB_RANGE}", "run `shikumi cleanup`")


def _run(net: Network, argv: Sequence[str]) -> None:
    net.commands.append(" ".join(argv))
    resources._run(argv)


def set_sysctl(j: Journal, net: Network, key: str, value: str) -> Entry | None:
    """Write a sysctl, recording the old value first (restored on undo). None if unchanged."""
    path = sysctl_path(key)
    with open(path) as f:
        old = f.read().strip()
    net.commands.append(f"sysctl -w {key}={value}")
    if old == value:
        return None
    entry = j.record("sysctl", key, old=old, value=value)
    net.entries.append(entry)
    with open(path, "w") as f:
        f.write(value)
    return entry


def names(tag: str) -> tuple[str, str, str, str]:
    """(netns, bridge, host veth, container veth) for a network's short tag."""
    if not _TAG.match(tag):
        raise LabError(f"bad network name {tag!r}: 1–8 lowercase letters or digits")
    return f"shk-{tag}", f"shk{tag}-br", f"shk{tag}-h", f"shk{tag}-c"


# -- creating -----------------------------------------------------------------------------


def create(j: Journal, tag: str, mode: str = "bridge", nat: bool = True) -> Network:
    """A network for one container: "bridge" (netns + veth + bridge + NAT), "none" or "host"."""
    netns, bridge, host_veth, peer = names(tag)
    if mode == "host":
        return Network(tag, "host")
    if mode not in ("bridge", "none"):
        raise LabError(f"unknown network mode {mode!r} (bridge, none or host)")
    net = Network(tag, mode, netns=netns)
    if os.path.exists(net.netns_path):
        raise LabError(f"the network namespace {netns} exists already", "run `shikumi cleanup`")
    net.commands.append(f"ip netns add {netns}")
    net.entries.append(resources.netns_add(j, netns))
    _run(net, ["ip", "-n", netns, "link", "set", "lo", "up"])
    if mode == "none":
        return net
    subnet = pick_subnet()
    hosts = list(subnet.hosts())
    net.subnet, net.gateway, net.address = str(subnet), str(hosts[0]), str(hosts[1])
    net.bridge, net.host_veth, net.container_veth = bridge, host_veth, "eth0"
    net.commands.append(f"ip link add {bridge} type bridge")
    net.entries.append(resources.link_add(j, bridge, ["type", "bridge"]))
    _run(net, ["ip", "addr", "add", f"{net.gateway}/{subnet.prefixlen}", "dev", bridge])
    _run(net, ["ip", "link", "set", bridge, "up"])
    # the pair: one end stays on the host (journaled; deleting it deletes both)
    net.commands.append(f"ip link add {host_veth} type veth peer name {peer}")
    net.entries.append(resources.link_add(j, host_veth, ["type", "veth", "peer", "name", peer]))
    _run(net, ["ip", "link", "set", host_veth, "master", bridge])
    _run(net, ["ip", "link", "set", host_veth, "up"])
    _run(net, ["ip", "link", "set", peer, "netns", netns])
    _run(net, ["ip", "-n", netns, "link", "set", peer, "name", "eth0"])
    _run(
        net, ["ip", "-n", netns, "addr", "add", f"{net.address}/{subnet.prefixlen}", "dev", "eth0"]
    )
    _run(net, ["ip", "-n", netns, "link", "set", "eth0", "up"])
    _run(net, ["ip", "-n", netns, "route", "add", "default", "via", net.gateway])
    if nat:
        set_sysctl(j, net, "net.ipv4.ip_forward", "1")
        _iptables(
            j,
            net,
            "nat",
            "POSTROUTING",
            ["-s", net.subnet, "!", "-o", bridge, "-j", "MASQUERADE"],
            "nat",
        )
    return net


def _iptables(j: Journal, net: Network, table: str, chain: str, rule: list[str], tag: str) -> None:
    net.commands.append(
        f"iptables -t {table} -A {chain} {' '.join(rule)} -m comment --comment shikumi…"
    )
    net.entries.append(resources.iptables_add(j, table, chain, rule, tag=f"{net.name}:{tag}"))


def forward(
    j: Journal,
    net: Network,
    port: int,
    container_port: int | None = None,
    host_addr: str = "127.0.0.1",
) -> Forward:
    """Publish container_port as host_addr:port (127.0.0.1 or the bridge's address) via DNAT."""
    if net.mode != "bridge":
        raise LabError(f"a port forward needs a bridge network (this one is {net.mode})")
    cport = container_port or port
    if host_addr not in ("127.0.0.1", net.gateway):
        raise LabError(
            f"the lab publishes ports on 127.0.0.1 or {net.gateway} only, not {host_addr}"
        )
    dest = f"{net.address}:{cport}"
    if host_addr == "127.0.0.1":  # loopback → a bridge: allowed only with route_localnet
        set_sysctl(j, net, f"net.ipv4.conf.{net.bridge}.route_localnet", "1")
        _iptables(
            j,
            net,
            "nat",
            "POSTROUTING",
            ["-s", "127.0.0.0/8", "-o", net.bridge, "-j", "MASQUERADE"],
            f"lo{port}",
        )
    _iptables(
        j,
        net,
        "nat",
        "OUTPUT",
        [
            "-d",
            host_addr,
            "-p",
            "tcp",
            "--dport",
            str(port),
            "-j",
            "DNAT",
            "--to-destination",
            dest,
        ],
        f"fwd{port}",
    )
    f = Forward(host_addr, port, net.address, cport)
    net.forwards.append(f)
    return f


def remove(j: Journal, net: Network) -> None:
    for entry in reversed(net.entries):
        r = j.undo(entry)
        if not r.ok:
            raise LabError(f"could not undo {entry.kind} {entry.target}: {r.action}")
    net.entries.clear()


# -- describing ---------------------------------------------------------------------------


def _interfaces(ns: str) -> list[Interface]:
    pre = ["-n", ns] if ns else []
    out = []
    for link in _ip_json([*pre, "-d", "addr", "show"]):
        info = link.get("linkinfo", {}) or {}
        kind = info.get(
            "info_kind", "loopback" if link.get("link_type") == "loopback" else "device"
        )
        out.append(
            Interface(
                name=link.get("ifname", ""),
                ns=ns,
                kind=kind,
                state=link.get("operstate", ""),
                addresses=[
                    f"{a['local']}/{a['prefixlen']}"
                    for a in link.get("addr_info", [])
                    if a.get("family") == "inet"
                ],
                master=link.get("master", ""),
                peer=str(link.get("link", "") or link.get("link_index", "") or ""),
            )
        )
    return out


def _routes(ns: str) -> list[Route]:
    pre = ["-n", ns] if ns else []
    return [
        Route(ns, r.get("dst", ""), r.get("gateway", ""), r.get("dev", ""))
        for r in _ip_json([*pre, "-4", "route", "show"])
    ]


@dataclass
class Description:
    """What the kernel has for a network, read back (for the diagram)."""

    network: Network
    host: list[Interface]  # the lab's own host-side interfaces (bridge, veth end)
    container: list[Interface]  # everything inside the netns
    routes: list[Route]  # the container's routes
    rules: list[str]  # the lab's iptables rules for this network, as `iptables -S` prints them


def lab_rules(table: str = "nat", needle: str = "shikumi") -> list[str]:
    r = subprocess.run(
        ["iptables", "-w", "5", "-t", table, "-S"], capture_output=True, text=True, timeout=15
    )
    return [ln for ln in r.stdout.splitlines() if needle in ln]


def describe(net: Network) -> Description:
    host = (
        [i for i in _interfaces("") if i.name in (net.bridge, net.host_veth)] if net.bridge else []
    )
    if net.mode == "host":
        host = _interfaces("")
    inside = _interfaces(net.netns) if net.netns else []
    routes = _routes(net.netns) if net.netns else _routes("")
    rules = lab_rules("nat", "shikumi:") if net.mode == "bridge" else []
    rules = [r for r in rules if f":{net.name}:" in r]
    return Description(net, host, inside, routes, rules)


def lab_links() -> list[str]:
    return sorted(n for n in os.listdir("/sys/class/net") if n.startswith("shk"))


def lab_netns() -> list[str]:
    try:
        return sorted(n for n in os.listdir("/run/netns") if n.startswith("shk"))
    except FileNotFoundError:
        return []
