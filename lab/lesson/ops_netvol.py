"""Lab operations for lessons 14–15: a named volume, a container network, a port forward.

Host-level state (a volume directory, a netns, links, iptables rules, sysctls)
goes through the journal here, so it is undone when the lesson ends even if
the learner's own commands never clean it up. Registered in
``lab.lesson.operations`` as ``volume``, ``net`` and ``forward``.
"""

from __future__ import annotations

from typing import Any, ClassVar

from lab.errors import LabError
from lab.lesson.op_result import result as _result
from lab.ops import network, volumes
from lab.safety import resources
from lab.safety.journal import Journal


class Volume:
    """A named volume: a directory the lab manages, outliving the containers that mount it."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"name": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        name = p["name"]
        return "\n".join(
            [
                f"# docker volume create {name} makes /var/lib/docker/volumes/{name}/_data;",
                "# the lab keeps its volumes in its own home:",
                f"mkdir -p $SHIKUMI_HOME/volumes/{name}",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        v = volumes.volume(journal, str(p["name"]))
        if getattr(ctx, "lang", "en") == "ja":
            return _result(f"ボリューム {v.name}: {v.path}（レッスンの終わりに削除）", v)
        return _result(f"volume {v.name}: {v.path} (removed when the lesson ends)", v)


def find_network(ctx: Any, name: str) -> network.Network:
    """The network an earlier ``op net`` of this lesson made, by name (the newest)."""
    for data in reversed(list(ctx.op_results.values())):
        if isinstance(data, network.Network) and data.name == name:
            return data
    raise LabError(f"no network named {name!r} was made (an ```op net comes first)")


class Net:
    """A network for one container: bridge (netns, veth, bridge, NAT), none, or host."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "name": (str, True),  # 1–8 lowercase letters/digits: netns shk-NAME, links shkNAME-…
        "mode": (str, False),  # bridge (default) | none | host
        "nat": (bool, False),  # bridge mode: MASQUERADE out of the subnet (default true)
    }

    def describe(self, p: dict[str, Any]) -> str:
        name, mode = str(p["name"]), str(p.get("mode") or "bridge")
        if mode == "host":
            return "# --network host: no network namespace at all; the container uses the host's interfaces"
        ns, br, h, c = network.names(name)
        lines = [f"ip netns add {ns}", f"ip -n {ns} link set lo up"]
        if mode == "none":
            return "\n".join(["# --network none: a namespace with only lo", *lines])
        x = "10.213.X"  # the first 10.213.X.0/24 the host does not route yet
        lines += [
            f"ip link add {br} type bridge",
            f"ip addr add {x}.1/24 dev {br}        # X: the first free 10.213.X.0/24",
            f"ip link set {br} up",
            f"ip link add {h} type veth peer name {c}",
            f"ip link set {h} master {br}",
            f"ip link set {h} up",
            f"ip link set {c} netns {ns}",
            f"ip -n {ns} link set {c} name eth0",
            f"ip -n {ns} addr add {x}.2/24 dev eth0",
            f"ip -n {ns} link set eth0 up",
            f"ip -n {ns} route add default via {x}.1",
            f"iptables -A FORWARD -i {br} -o {br} -j ACCEPT   # containers on it may talk",
        ]
        if p.get("nat", True):
            lines += [
                "sysctl -w net.ipv4.ip_forward=1",
                f"iptables -t nat -A POSTROUTING -s {x}.0/24 ! -o {br} -j MASQUERADE",
            ]
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        mode = str(p.get("mode") or "bridge")
        net = network.create(journal, str(p["name"]), mode, nat=bool(p.get("nat", True)))
        if net.mode == "bridge":
            # Docker's `-A FORWARD -i docker0 -o docker0 -j ACCEPT`: with br_netfilter and a
            # FORWARD policy of DROP (as Docker sets it), two containers on the bridge could not talk
            rule = ["-i", net.bridge, "-o", net.bridge, "-j", "ACCEPT"]
            net.commands.append(
                f"iptables -A FORWARD {' '.join(rule)} -m comment --comment shikumi…"
            )
            net.entries.append(
                resources.iptables_add(journal, "filter", "FORWARD", rule, tag=f"{net.name}:bridge")
            )
        if mode == "host":
            summary = (
                "host モード：名前空間は作らない（コンテナはホストのネットワークを共有する）"
                if getattr(ctx, "lang", "en") == "ja"
                else "host mode: no namespace made; the container will share the host's network"
            )
        else:
            summary = "\n".join(net.commands)
            if net.subnet:
                summary += (
                    f"\n# {net.netns}: eth0 {net.address}, gateway {net.gateway} ({net.subnet})"
                )
        return _result(summary, net)


class Forward:
    """Publish a container's port on the host's loopback (or the bridge's address) via DNAT."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "net": (str, True),  # the name given to an earlier ```op net
        "port": (int, True),  # on the host
        "to_port": (int, False),  # in the container (default: the same)
        "host": (str, False),  # "127.0.0.1" (default) or "bridge" (the bridge's own address)
    }

    def describe(self, p: dict[str, Any]) -> str:
        _, br, _, _ = network.names(str(p["net"]))
        port, to = int(p["port"]), int(p.get("to_port") or p["port"])
        addr = "10.213.X.1" if p.get("host") == "bridge" else "127.0.0.1"
        lines = [f"# docker run -p {addr}:{port}:{to} …, by hand:"]
        if addr == "127.0.0.1":
            lines += [
                f"sysctl -w net.ipv4.conf.{br}.route_localnet=1",
                f"iptables -t nat -A POSTROUTING -s 127.0.0.0/8 -o {br} -j MASQUERADE",
            ]
        lines.append(
            f"iptables -t nat -A OUTPUT -d {addr} -p tcp --dport {port} -j DNAT --to-destination 10.213.X.2:{to}"
        )
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        net = find_network(ctx, str(p["net"]))
        host = str(p.get("host") or "127.0.0.1")
        addr = net.gateway if host == "bridge" else host
        before = len(net.commands)
        f = network.forward(journal, net, int(p["port"]), int(p.get("to_port") or 0) or None, addr)
        summary = "\n".join(net.commands[before:])
        summary += f"\n# {f.host_addr}:{f.host_port} → {f.container_addr}:{f.container_port}"
        return _result(summary, net)


OPS: dict[str, Any] = {"volume": Volume(), "net": Net(), "forward": Forward()}
