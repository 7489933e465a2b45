"""Snapshot tests (pytest-textual-snapshot) of the lesson-specific views — nsinodes, lddtree,
fstypes, rootfs, statuscompare — framed as the app frames them, with data built by hand
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

from lab.lesson.model import ViewResult
from lab.ops.ldd import Lib, Linked
from lab.tui.widgets.view_panel import ViewPanel
from lab.views import fstypes, lddtree, nsinodes, rootfs, statuscompare

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


DATA = {
    "nsinodes": nsinodes_data,
    "lddtree": lddtree_data,
    "fstypes": fstypes_data,
    "rootfs": lambda: rootfs_data(files=False),
    "rootfs-files": lambda: rootfs_data(files=True),
    "statuscompare": statuscompare_data,
}


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


@pytest.mark.parametrize("key", ["nsinodes", "statuscompare"])
def test_view_wide(snap_compare, key):
    """The same at a big screen's width (b, or a 160-column terminal)."""
    assert snap_compare(ViewApp(key, DATA[key]()), terminal_size=(100, 24))


def test_fixed_data_differences():
    """The fixed data exercises the highlighting: differing inodes and status values."""
    ns = nsinodes_data()
    assert ns.differing_types == ["ipc", "mnt", "net", "pid", "uts"]
    rows = {r.key: r.differ for r in statuscompare_data().rows}
    assert rows["Name"] and not rows["CapEff"]
