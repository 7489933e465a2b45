"""Snapshot tests (pytest-textual-snapshot) of the lesson-specific views — nsinodes, lddtree,
fstypes, rootfs, statuscompare; overlay, layers, savexport (lessons 10–13); netdiagram,
cgusage, speedbars, escape (lessons 15–18) — framed as the app frames them, with data built by hand
(nothing read from this machine). Each is drawn at the width a view panel really gets:
~56 cells (a 120-column terminal, outline shown, transcript beside the view) and, in
Japanese, the same width, since Japanese text takes two cells a character.

Update with: pytest tests/test_view_snapshots.py --snapshot-update — then look at the SVGs.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from textual.app import App, ComposeResult

from lab.host.ldd import Lib, Linked
from lab.lesson.model import ViewResult
from lab.ops import network
from lab.tui.widgets.view_panel import ViewPanel
from lab.views import (
    cgusage,
    escape,
    fstypes,
    layers,
    lddtree,
    netdiagram,
    nsinodes,
    overlay,
    rootfs,
    savexport,
    speedbars,
    statuscompare,
)

TCSS = Path(__file__).resolve().parent.parent / "lab" / "tui" / "app.tcss"
PANEL = (56, 24)  # a view panel in the app at 120×36 (outline shown, transcript beside it)


def _ns(extra: dict[str, int] | None = None) -> dict[str, int]:
    base = {
        "cgroup": 4026531835,
        "ipc": 4026531839,
        "mnt": 4026531841,
        "net": 4026531840,
        "pid": 4026531836,
        "time": 4026531834,
        "user": 4026531837,
        "uts": 4026531838,
    }
    return {**base, **(extra or {})}


def nsinodes_data() -> nsinodes.NsData:
    box = _ns(
        {
            "ipc": 4026532209,
            "mnt": 4026532207,
            "net": 4026532212,
            "pid": 4026532210,
            "uts": 4026532208,
        }
    )
    return nsinodes.NsData(
        "namespace inodes, side by side",
        sorted(box),
        [
            nsinodes.NsColumn(
                "the lab (like your shell)", 4242, _ns(), [4242], "ラボ（シェルと同じ）"
            ),
            nsinodes.NsColumn("host", 1, _ns(), [1], "ホスト"),
            nsinodes.NsColumn("hello.sh", 5150, box, [5150, 1]),
        ],
        title_ja="名前空間の inode を並べて",
    )


def lddtree_data() -> lddtree.LddData:
    libs = [
        Lib("linux-vdso.so.1", "", "vdso"),
        Lib("libselinux.so.1", "/lib/x86_64-linux-gnu/libselinux.so.1", "library"),
        Lib("libc.so.6", "/lib/x86_64-linux-gnu/libc.so.6", "library"),
        Lib("libpcre2-8.so.0", None, "missing"),
        Lib("/lib64/ld-linux-x86-64.so.2", "/lib64/ld-linux-x86-64.so.2", "loader"),
    ]
    return lddtree.LddData(
        "ls, with one library hidden",
        [
            Linked("/usr/bin/ls", "/usr/bin/ls", libs),
            Linked("/bin/sh", "/usr/bin/dash", [libs[0], libs[2], libs[4]]),
            Linked("/bin/busybox", "/usr/bin/busybox", [], static=True),
        ],
        title_ja="ls（ライブラリを一つ隠して）",
    )


def fstypes_data() -> fstypes.FsData:
    G = fstypes.FsGroup
    return fstypes.FsData(
        "",
        [
            G(
                "ext4",
                "disk",
                [("/", "/dev/sda1", 31_000_000_000), ("/boot", "/dev/sda2", 500_000_000)],
            ),
            G(
                "overlay",
                "disk",
                [("/var/lib/docker/overlay2/3f2a…/merged", "overlay", 31_000_000_000)],
            ),
            G("devtmpfs", "memory", [("/dev", "udev", 2_000_000_000)]),
            G(
                "tmpfs",
                "memory",
                [
                    ("/run", "tmpfs", 400_000_000),
                    ("/dev/shm", "tmpfs", 2_000_000_000),
                    ("/run/lock", "tmpfs", 5_242_880),
                    ("/run/user/0", "tmpfs", 400_000_000),
                    ("/tmp", "tmpfs", 2_000_000_000),
                    ("/run/credentials/systemd-journald.service", "tmpfs", 1_048_576),
                    ("/run/credentials/getty@tty1.service", "tmpfs", 1_048_576),
                ],
            ),
            G("cgroup2", "virtual", [("/sys/fs/cgroup", "cgroup2", 0)]),
            G("proc", "virtual", [("/proc", "proc", 0)]),
            G("sysfs", "virtual", [("/sys", "sysfs", 0)]),
        ],
    )


def rootfs_data(files: bool = False) -> rootfs.RootfsView:
    listing = [
        ("/usr/bin/sh", "program", 125_640),
        ("/usr/bin/ls", "program", 151_344),
        ("/lib/x86_64-linux-gnu/libc.so.6", "library", 1_922_136),
        ("/lib64/ld-linux-x86-64.so.2", "loader", 210_968),
        ("/opt/bin/hello.sh", "script", 182),
        ("/bin", "symlink", 0),
    ]
    return rootfs.RootfsView(
        root="/var/lib/shikumi/lessons/06-rootfs-tar/work/rootfs",
        method="ldd",
        seconds=0.184,
        total=6_412_288,
        kinds={
            "program": (9, 1_640_000),
            "library": (9, 4_310_000),
            "loader": (1, 210_968),
            "script": (1, 182),
            "symlink": (4, 0),
        },
        files=listing if files else [],
        estimate_bytes=1_870_000_000,
        estimate_files=61_432,
        tar="/var/lib/shikumi/lessons/06-rootfs-tar/work/test.tar",
        tar_bytes=6_502_400,
    )


def statuscompare_data() -> statuscompare.StatusCompareData:
    S = statuscompare
    procs = [
        S.Proc(
            "the daemon",
            612,
            {
                "Name": "containerd",
                "State": "S (sleeping)",
                "PPid": "1",
                "Uid": "0\t0\t0\t0",
                "VmRSS": "48212 kB",
                "Threads": "11",
                "NSpid": "612",
                "CapEff": "000001ffffffffff",
            },
            label_ja="デーモン",
        ),
        S.Proc(
            "a waiting bash",
            4301,
            {
                "Name": "bash",
                "State": "S (sleeping)",
                "PPid": "4242",
                "Uid": "0\t0\t0\t0",
                "VmRSS": "3584 kB",
                "Threads": "1",
                "NSpid": "4301",
                "CapEff": "000001ffffffffff",
            },
            label_ja="入力待ちの bash",
        ),
    ]
    keys = ["Name", "State", "PPid", "Uid", "VmRSS", "Threads", "NSpid", "CapEff"]
    rows = []
    for k in keys:
        values = [p.fields.get(k, "") for p in procs]
        rows.append(
            S.Row(k, values, len(set(values)) > 1, S.EXPLAIN.get(k, ""), S.EXPLAIN_JA.get(k, ""))
        )
    return S.StatusCompareData("", procs, rows)


HOME = "/var/lib/shikumi"


def overlay_data() -> overlay.OverlayView:
    """Lesson 10's container web after the learner wrote, changed and deleted files."""
    R = overlay.Row
    rows = [
        R("/etc/hostname", "modified", "9 B", "4 B", "4 B", 0),
        R("/usr/bin/id", "deleted", "48024 B", "c 0/0", "", 0),
        R("/root/notes-about-the-overlay.txt", "added", "", "27 B", "27 B"),
        R("/opt", "opaque", "dir", "dir", "dir", 0),
        R("/etc/passwd", "unchanged", "1268 B", "", "1268 B", 0),
    ]
    return overlay.OverlayView(
        "web: lower | upper | merged",
        [f"{HOME}/layers/3f2a9c1b0d4e/fs"],
        f"{HOME}/containers/web/upper",
        f"{HOME}/containers/web/merged",
        True,
        f"overlay on {HOME}/containers/web/merged type overlay",
        rows,
        0,
        {"added": 1, "modified": 1, "deleted": 1, "opaque": 1, "unchanged": 1},
        title_ja="web：lower | upper | merged",
    )


def layers_data() -> layers.LayersView:
    """Lesson 11's image built with one RUN a line: a layer that copies, one that deletes."""
    F, L = layers.FileRow, layers.LayerRow
    return layers.LayersView(
        "many",
        "5d41402abc4b",
        ["/bin/sh", "/opt/bin/hello.sh"],
        [
            L(
                0,
                "a3f1c9e2b7d0",
                6_412_288,
                "shikumi import rootfs.tar",
                41,
                0,
                0,
                [F("A", "usr/bin/sh", 125_640), F("A", "usr/bin/ls", 151_344)],
                39,
            ),
            L(1, "0b7c22d9e4a1", 10_240, "RUN mkdir -p /opt/bin /var/cache/app", 0, 0, 0),
            L(
                2,
                "77e0a4b5c6d8",
                2_140_160,
                "RUN cp -r /usr/lib/x86_64-linux-gnu /var/cache/app/lib",
                9,
                0,
                0,
                [F("A", "var/cache/app/lib/libc.so.6", 1_922_136)],
                8,
            ),
            L(
                3,
                "c4d5e6f7a8b9",
                3_072,
                "RUN rm -r /var/cache/app/lib && echo hi > /etc/motd",
                0,
                1,
                1,
                [F("D", "var/cache/app/lib", 0), F("M", "etc/motd", 3)],
            ),
            L(
                4,
                "9e8d7c6b5a43",
                2_560,
                "COPY hello.sh /opt/bin/hello.sh",
                1,
                0,
                0,
                [F("A", "opt/bin/hello.sh", 182)],
            ),
        ],
        8_568_320,
        2_122_000,
        51,
        ['CMD ["/bin/sh", "/opt/bin/hello.sh"]', "ENV GREETING=hello"],
        title_ja="many（RUN を 1 行ずつ）",
    )


def savexport_data() -> savexport.SaveExportView:
    """Lesson 12: hello:v2 saved (two layers) and exported (one flat tree)."""
    E, N = savexport.SaveEntry, savexport.Node
    blobs = "blobs/sha256/"
    l0, l1 = "a3f1c9e2b7d0" + "1" * 52, "e5b6a7c8d9f0" + "2" * 52
    cfg, man = "4c5d6e7f8a9b" + "3" * 52, "9f8e7d6c5b4a" + "4" * 52
    save = [
        E("blobs/", 0, "dir"),
        E("blobs/sha256/", 0, "dir"),
        E(blobs + l0, 6_420_480, "layer", "layer 0: 41 files"),
        E(blobs + l1, 10_240, "layer", "layer 1: 2 files"),
        E(blobs + cfg, 1_214, "config", "config of hello:v2"),
        E(blobs + man, 643, "manifest"),
        E("index.json", 372, "meta"),
        E("manifest.json", 402, "meta"),
        E("oci-layout", 31, "meta"),
        E("repositories", 86, "meta"),
    ]
    usr = N(
        "usr",
        "dir",
        children=[N("bin", "dir", files=14, more=14), N("lib", "dir", files=12, more=3)],
        files=26,
    )
    root = N(
        "/",
        "dir",
        children=[
            N(
                "etc",
                "dir",
                children=[N("hostname", "file", 4), N("motd", "file", 12)],
                files=4,
                more=2,
            ),
            N("opt", "dir", children=[N("bin", "dir", files=1, more=1)], files=1),
            usr,
            N("bin", "symlink", link="usr/bin"),
            N("lib", "symlink", link="usr/lib"),
        ],
        files=31,
    )
    return savexport.SaveExportView(
        f"{HOME}/work/12-commit-save-export/hello-save.tar",
        6_445_056,
        save,
        f"{HOME}/work/12-commit-save-export/hello-export.tar",
        6_430_720,
        52,
        root,
    )


def _iface(name: str, kind: str, state: str, addrs: list[str], master: str = "") -> Any:
    return network.Interface(name, "", kind, state, addrs, master)


def netdiagram_data() -> netdiagram.NetDiagram:
    """Lesson 15's web network, with the learner's own extra veth (shk-mine) on the bridge."""
    return netdiagram.NetDiagram(
        name="web",
        mode="bridge",
        netns="shk-web",
        subnet="10.213.0.0/24",
        host=[
            _iface("shkweb-br", "bridge", "UP", ["10.213.0.1/24"]),
            _iface("shkweb-h", "veth", "UP", [], "shkweb-br"),
            _iface("shkmine-h", "veth", "UP", [], "shkweb-br"),
        ],
        container=[
            _iface("lo", "loopback", "UNKNOWN", ["127.0.0.1/8"]),
            _iface("eth0", "veth", "UP", ["10.213.0.2/24"]),
        ],
        routes=[
            network.Route("shk-web", "default", "10.213.0.1", "eth0"),
            network.Route("shk-web", "10.213.0.0/24", "", "eth0"),
        ],
        rules=[
            "FORWARD -i shkweb-br -o shkweb-br -j ACCEPT",
            "-t nat POSTROUTING -s 10.213.0.0/24 ! -o shkweb-br -j MASQUERADE",
            "-t nat OUTPUT -d 127.0.0.1/32 -p tcp -m tcp --dport 8080 "
            "-j DNAT --to-destination 10.213.0.2:80",
            "-t nat POSTROUTING -s 127.0.0.0/8 -d 10.213.0.2/32 -j MASQUERADE",
        ],
        forwards=[network.Forward("127.0.0.1", 8080, "10.213.0.2", 80)],
        bridge="shkweb-br",
        host_veth="shkweb-h",
    )


def netdiagram_none_data() -> netdiagram.NetDiagram:
    return netdiagram.NetDiagram(
        name="quiet",
        mode="none",
        netns="shk-quiet",
        subnet="",
        host=[],
        container=[_iface("lo", "loopback", "UNKNOWN", ["127.0.0.1/8"])],
        routes=[],
        rules=[],
    )


def cgusage_data() -> cgusage.Usage:
    """Lesson 16: a process filling memory under a 64 MiB limit until the OOM killer comes."""
    mib = 1 << 20
    values = [2, 9, 17, 26, 34, 43, 51, 58, 63.5, 63.9, 63.9, 1]
    return cgusage.Usage(
        "memory",
        "/sys/fs/cgroup/memory/shikumi/hog",
        "v1",
        [cgusage.Point(i * 0.23, v * mib) for i, v in enumerate(values)],
        64 * mib,
        {
            "oom_kills": 1,
            "oom_kills_during": 1,
            "memory_failcnt": 2_314,
            "memory_failcnt_during": 2_314,
        },
        "memory in use, 64 MiB limit",
        "使用中のメモリ（上限 64 MiB）",
    )


def cgusage_cpu_data() -> cgusage.Usage:
    values = [0.21, 0.2, 0.19, 0.2, 0.2, 0.21, 0.2, 0.19, 0.2, 0.2, 0.2]
    return cgusage.Usage(
        "cpu",
        "/sys/fs/cgroup/cpu,cpuacct/shikumi/spin",
        "v1",
        [cgusage.Point((i + 1) * 0.23, v) for i, v in enumerate(values)],
        0.2,
        {
            "nr_periods": 1_204,
            "nr_throttled": 1_187,
            "throttled_usec": 95_812_334,
            "nr_periods_during": 25,
            "nr_throttled_during": 25,
            "throttled_usec_during": 2_004_118,
        },
    )


def speedbars_data() -> speedbars.SpeedBars:
    """Lesson 18: by hand vs docker run --rm, measured on one machine."""
    B = speedbars.Bar
    return speedbars.SpeedBars(
        [
            B(
                "by hand",
                "unshare --uts --ipc --pid --net --mount --fork --propagation private "
                f"--root {HOME}/rootfs/l18 --mount-proc /bin/true",
                0.0042,
                [0.0041, 0.0042, 0.0043, 0.0042, 0.0040],
            ),
            B(
                "docker run --rm",
                "docker run --rm --network none shikumi-l18:rootfs /bin/true",
                0.412,
                [0.398, 0.412, 0.431],
            ),
        ]
    )


def escape_data() -> escape.EscapeView:
    """Lesson 17: the same escape under chroot (it gets out) and pivot_root (it is held)."""
    marker = f"{HOME}/work/17-runtime/host-only.txt"
    return escape.EscapeView(
        [
            escape.Side(
                "chroot",
                True,
                f"ESCAPED: {marker} is visible",
                ["exec chroot ROOT perl -e …"],
                f"{HOME}/containers/esc4242-chroot/merged",
            ),
            escape.Side(
                "pivot_root",
                False,
                f"HELD: {marker} is not visible",
                ["mount --bind ROOT ROOT", "pivot_root . .oldroot", "umount -l /.oldroot"],
                f"{HOME}/containers/esc4242-pivot/merged",
            ),
        ]
    )


DATA = {
    "nsinodes": nsinodes_data,
    "lddtree": lddtree_data,
    "fstypes": fstypes_data,
    "rootfs": lambda: rootfs_data(files=False),
    "rootfs-files": lambda: rootfs_data(files=True),
    "statuscompare": statuscompare_data,
    "overlay": overlay_data,
    "layers": layers_data,
    "savexport": savexport_data,
    "netdiagram": netdiagram_data,
    "netdiagram-none": netdiagram_none_data,
    "cgusage": cgusage_data,
    "cgusage-cpu": cgusage_cpu_data,
    "speedbars": speedbars_data,
    "escape": escape_data,
}
WIDE = ["nsinodes", "statuscompare", *list(DATA)[6:]]


class ViewApp(App):
    """One view widget, framed as the bench frames it, with fixed data."""

    CSS_PATH = TCSS

    def __init__(self, name: str, data: Any, lang: str = "en") -> None:
        super().__init__()
        self.view_name, self.data, self.lang = name, data, lang

    def compose(self) -> ComposeResult:
        yield ViewPanel(self.view_name, classes="view")

    def on_mount(self) -> None:
        self.query_one(ViewPanel).show(ViewResult(self.view_name, {}, self.data), self.lang)


@pytest.mark.parametrize("key", list(DATA))
@pytest.mark.parametrize("lang", ["en", "ja"])
def test_view(snap_compare, key, lang):
    name = key.split("-")[0]
    assert snap_compare(ViewApp(name, DATA[key](), lang), terminal_size=PANEL)


@pytest.mark.parametrize("key", WIDE)
def test_view_wide(snap_compare, key):
    """The same at a big screen's width (b, or a 160-column terminal)."""
    name = key.split("-")[0]
    assert snap_compare(ViewApp(name, DATA[key]()), terminal_size=(100, 24))


@pytest.mark.parametrize("key", list(DATA)[6:])
def test_view_wide_ja(snap_compare, key):
    name = key.split("-")[0]
    assert snap_compare(ViewApp(name, DATA[key](), "ja"), terminal_size=(100, 24))


def test_fixed_data_differences():
    """The fixed data exercises the highlighting: differing inodes and status values."""
    ns = nsinodes_data()
    assert ns.differing_types == ["ipc", "mnt", "net", "pid", "uts"]
    rows = {r.key: r.differ for r in statuscompare_data().rows}
    assert rows["Name"] and not rows["CapEff"]
