"""``netdiagram``: a container's network drawn from what the kernel has now.

The host side (the bridge, the veth ends plugged into it, their addresses),
the wire, the container side (eth0, lo, addresses, routes), and the lab's
iptables rules for it (NAT out, port forwards in) — every name and address
read back with ``ip`` and ``iptables``, for the network an ```op net`` made
(``of`` = that step, or a later ```op forward`` step).
"""

from __future__ import annotations

import json
import re
import subprocess
from dataclasses import dataclass, field
from typing import Any

from rich.console import Group
from rich.table import Table
from rich.text import Text

from lab.ops import network

PARAMS: dict[str, tuple[Any, bool]] = {
    "of": (str, False),  # the step whose ```op net / ```op forward made the network
    "title": (str, False),
    "title_ja": (str, False),
}


@dataclass
class NetDiagram:
    name: str
    mode: str  # bridge | none | host
    netns: str
    subnet: str
    host: list[network.Interface]  # the bridge first, then the veth ends plugged into it
    container: list[network.Interface]
    routes: list[network.Route]
    rules: list[str]  # the lab's iptables rules for this network (-S form, comment dropped)
    forwards: list[network.Forward] = field(default_factory=list)
    bridge: str = ""
    host_veth: str = ""
    title: str = ""
    title_ja: str = ""


def _ports(bridge: str) -> list[network.Interface]:
    """Every interface plugged into *bridge* (the lab's veth end and any the learner added)."""
    r = subprocess.run(
        ["ip", "-j", "-d", "addr", "show", "master", bridge],
        capture_output=True,
        text=True,
        timeout=10,
    )
    try:
        links = json.loads(r.stdout) if r.returncode == 0 and r.stdout.strip() else []
    except ValueError:
        links = []
    return [
        network.Interface(
            name=x.get("ifname", ""),
            ns="",
            kind=(x.get("linkinfo") or {}).get("info_kind", "device"),
            state=x.get("operstate", ""),
            addresses=[
                f"{a['local']}/{a['prefixlen']}"
                for a in x.get("addr_info", [])
                if a.get("family") == "inet"
            ],
            master=bridge,
        )
        for x in links
    ]


_COMMENT = re.compile(r'\s*-m comment --comment ("[^"]*"|\S+)')


def _rules(net: network.Network) -> list[str]:
    found = []
    for table in ("nat", "filter"):
        for line in network.lab_rules(table, "shikumi:"):
            if f":{net.name}:" in line:
                rule = _COMMENT.sub("", line).removeprefix("-A ")
                found.append(rule if table == "filter" else f"-t nat {rule}")
    return found


def collect(ctx: Any, **p: Any) -> NetDiagram:
    step = p.get("of") or ctx.step_id
    net = ctx.op_results.get(step)
    if not isinstance(net, network.Network):
        raise ValueError(
            f"step {step!r} made no network (an ```op net or ```op forward comes first)"
        )
    d = network.describe(net)
    host = d.host
    if net.bridge:
        bridge = [i for i in d.host if i.name == net.bridge]
        host = bridge + _ports(net.bridge)
    return NetDiagram(
        name=net.name,
        mode=net.mode,
        netns=net.netns,
        subnet=net.subnet,
        host=host,
        container=d.container,
        routes=d.routes if net.netns else [],
        rules=_rules(net) if net.mode == "bridge" else [],
        forwards=list(net.forwards),
        bridge=net.bridge,
        host_veth=net.host_veth,
        title=str(p.get("title") or ""),
        title_ja=str(p.get("title_ja") or ""),
    )


# -- drawing ------------------------------------------------------------------------------

_STATE = {"UP": "green", "UNKNOWN": "green", "DOWN": "red"}


def _iface(i: network.Interface, note: str = "") -> Text:
    t = Text()
    t.append(i.name, style="bold cyan")
    t.append(f"\n{i.kind} ", style="dim")  # its own line: a column is ~17 cells in the app
    t.append(i.state or "?", style=_STATE.get(i.state, "yellow"))
    for a in i.addresses or []:
        t.append(f"\n{a}", style="bold")
    if note:
        t.append(f"\n{note}", style="dim")
    return t


def _route(r: network.Route) -> str:
    out = r.dst or "?"
    if r.via:
        out += f" via {r.via}"
    if r.dev:
        out += f" dev {r.dev}"
    return out


def render(data: NetDiagram, lang: str = "en") -> Group:
    ja = lang == "ja"
    host_h = "ホスト（ルートの netns）" if ja else "host (the root netns)"
    ns_h = (
        (f"コンテナ（netns {data.netns}）" if ja else f"container (netns {data.netns})")
        if data.netns
        else ("コンテナ" if ja else "container")
    )
    title = ((data.title_ja or data.title) if ja else data.title) or (
        f"ネットワーク {data.name}（{data.mode} モード）"
        if ja
        else f"network {data.name} ({data.mode} mode)"
    )
    t = Table(title=title, title_justify="left", show_lines=True)
    t.add_column(host_h, vertical="middle")
    t.add_column("", justify="center", vertical="middle")
    t.add_column(ns_h, vertical="middle")
    if data.mode == "host":
        names = ", ".join(i.name for i in data.host) or "?"
        t.add_row(
            Text(names, style="bold cyan"),
            Text("＝" if ja else "=", style="bold"),
            Text(
                "名前空間なし：ホストのインターフェースをそのまま使う"
                if ja
                else "no namespace of its own: the host's interfaces, as they are"
            ),
        )
        return Group(t)
    inside = list(data.container)
    eth = [i for i in inside if i.kind == "veth"]
    others = [i for i in inside if i.kind != "veth"]
    bridge = [i for i in data.host if i.name == data.bridge]
    ports = [i for i in data.host if i.name != data.bridge]
    if bridge:
        note = "仮想スイッチ、コンテナのゲートウェイ" if ja else "a virtual switch, the gateway"
        t.add_row(_iface(bridge[0], note), Text(""), Text(""))
    wire = Text("═veth═", style="bold magenta")
    for port in ports:
        mine = port.name == data.host_veth
        right = _iface(eth[0]) if mine and eth else Text("")
        if not mine:
            right = Text(
                "（もう一方の端は別の名前空間）" if ja else "(its other end: another netns)",
                style="dim",
            )
        label = f"└─ {data.bridge} のポート" if ja else f"└─ a port of {data.bridge}"
        t.add_row(_iface(port, label), wire if mine else Text("═veth═", style="magenta"), right)
    if not ports and eth:
        t.add_row(Text(""), wire, _iface(eth[0]))
    if not data.host and data.mode == "none":
        t.add_row(
            Text("（何もつながっていない）" if ja else "(nothing plugged in)", style="dim"),
            Text("✕", style="bold red"),
            Text(""),
        )
    for i in others:
        t.add_row(Text(""), Text(""), _iface(i))
    parts: list[Any] = [t]
    # below the drawing, full width: a route or a rule squeezed into a column wraps every word
    routes = Text(("コンテナの経路:" if ja else "routes inside:"), style="bold yellow")
    for r in data.routes:
        routes.append(f"\n  {_route(r)}", style="yellow")
    if not data.routes:
        routes.append(
            "（経路なし：どこへも届かない）" if ja else " (no route: nothing can leave)",
            style="yellow",
        )
    parts.append(routes)
    if data.rules or data.forwards:
        r = Text("iptables（ラボの規則）" if ja else "iptables (the lab's rules)", style="bold")
        for rule in data.rules:
            if "MASQUERADE" in rule and "127.0.0.0/8" in rule:
                what = "ループバックから" if ja else "from loopback"
            elif "MASQUERADE" in rule:
                what = "NAT（外向き）" if ja else "NAT (outgoing)"
            elif "DNAT" in rule:
                what = "ポートフォワード" if ja else "port forward"
            elif "FORWARD" in rule:
                what = "ブリッジ内の転送" if ja else "across the bridge"
            else:
                what = ""
            r.append("\n")
            if what:
                r.append(f"{what}: ", style="bold")
            r.append(rule, style="dim")
        for f in data.forwards:
            r.append("\n→ ", style="bold green")
            r.append(
                f"{f.host_addr}:{f.host_port} → {f.container_addr}:{f.container_port} ({f.proto})",
                style="bold green",
            )
        parts.append(r)
    return Group(*parts)
