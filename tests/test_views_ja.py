"""Every view drawn in Japanese shows no English title, label or note of its own.

Each view is rendered (Rich, to plain text) from fixed data in ``--lang ja``: the data
of the snapshot tests for the lesson-specific views, and data made here for the generic
ones (output, table, tree, trees, diff, proctree, compare). A word in Latin letters is
allowed only when it comes from the data itself (a path, a command's output, a process
name: what the machine says is never translated) or is a proper noun, a command, a
kernel term or a unit (ALLOW). Anything else is an English word the view wrote itself.
"""

from __future__ import annotations

import dataclasses
import re
from typing import Any

import pytest
from rich.console import Console
from test_view_snapshots import DATA

from lab import views
from lab.views import compare, diff, output, proctree, table, tree, trees
from lab.views.words import NAMES_JA, WORDS

# the lesson's English source texts: their Japanese is the *_ja field next to them
ENGLISH_SOURCES = {"title", "label", "labels", "explain", "left_title", "right_title"}
# proper nouns, commands, kernel terms, units and abbreviations kept as they are
ALLOW = {
    *[
        "pid",
        "ppid",
        "PID",
        "PPID",
        "NSpid",
        "OOM",
        "CPU",
        "CPUs",
        "cgroup",
        "cgroups",
        "memory",
        "cpu",
        "pids",
        "max",
    ],
    *[
        "overlay",
        "overlayfs",
        "lower",
        "upper",
        "merged",
        "work",
        "whiteout",
        "Docker",
        "docker",
        "save",
        "export",
    ],
    *[
        "inode",
        "inodes",
        "veth",
        "bridge",
        "eth",
        "NAT",
        "DNAT",
        "MASQUERADE",
        "FORWARD",
        "POSTROUTING",
        "OUTPUT",
    ],
    *[
        "chroot",
        "pivot_root",
        "ESCAPED",
        "HELD",
        "root",
        "ldd",
        "libc",
        "vdso",
        "tmpfs",
        "proc",
        "sysfs",
        "ext",
        "xfs",
    ],
    *[
        "uts",
        "ipc",
        "mnt",
        "net",
        "user",
        "time",
        "kB",
        "MB",
        "GB",
        "KiB",
        "MiB",
        "ms",
        "usec",
        "sec",
        "failcnt",
        "nr_periods",
    ],
    *[
        "nr_throttled",
        "throttled_usec",
        "oom_kills",
        "memory_failcnt",
        "tar",
        "blobs",
        "manifest",
        "json",
    ],
    *[
        "sha",
        "OCI",
        "config",
        "layer",
        "layers",
        "diff",
        "IPv",
        "host",
        "none",
        "bridge",
        "lo",
        "UP",
        "DOWN",
        "UNKNOWN",
    ],
    *[
        "bin",
        "usr",
        "etc",
        "opt",
        "var",
        "lib",
        "sys",
        "dev",
        "tmp",
        "run",
        "netns",
        "iptables",
        "via",
        "dev",
        "default",
    ],
    *[
        "mount",
        "load",
        "import",
        "CMD",
        "status",
        "hello",
        "kill",
        "uname",
    ],  # commands, a program, a term
}


def _text(renderable: Any, width: int = 100) -> str:
    console = Console(width=width, record=True, color_system=None, soft_wrap=True)
    console.print(renderable)
    return console.export_text()


def _words(text: str) -> set[str]:
    return set(re.findall(r"[A-Za-z][A-Za-z_']{2,}", text))


def _data_words(obj: Any, seen: set[int] | None = None) -> set[str]:
    """Every word inside the data, except the English sources of translated texts."""
    seen = seen if seen is not None else set()
    if id(obj) in seen:
        return set()
    seen.add(id(obj))
    if isinstance(obj, str):
        return _words(obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        out: set[str] = set()
        for f in dataclasses.fields(obj):
            if f.name in ENGLISH_SOURCES:
                continue
            out |= _data_words(getattr(obj, f.name), seen)
        return out
    if isinstance(obj, dict):
        return set().union(*(_data_words(k, seen) | _data_words(v, seen) for k, v in obj.items()))
    if isinstance(obj, list | tuple | set | frozenset):
        return set().union(*(_data_words(x, seen) for x in obj))
    return set()


def _generic() -> dict[str, Any]:
    node = tree.Node
    root = node(
        "/srv/rootfs",
        "dir",
        children=[
            node("bin", "dir"),
            node("hello.sh", "file", 120),
            node("lib64", "symlink", target="lib"),
        ],
        more=3,
    )
    t = tree.TreeData("the unpacked runtime environment", root, True, title_ja="展開した実行環境")
    left = tree.TreeData(
        "the host's /",
        node("/", "dir", children=[node("boot", "dir")]),
        False,
        {"boot"},
        "ホストの /",
    )
    right = tree.TreeData(
        "/ after chroot",
        node("/srv/x", "dir", children=[node("opt", "dir")]),
        False,
        {"opt"},
        "chroot したあとの /",
    )
    cols = [
        compare.Column("inside", "ls", "/srv/a.txt\n", label_ja="中", key=r"([\w-]+\.txt)"),
        compare.Column(
            "the host has",
            "ls",
            "~lab/a.txt\nls: odd\n",
            label_ja="ホストにあるもの",
            key=r"([\w-]+\.txt)",
        ),
    ]
    keyed = compare.CompareData("where each file lives", cols, "それぞれのファイルの置き場所")
    keyed.rows = compare.align(cols)
    plain = compare.CompareData(
        "hostname on each side",
        [
            compare.Column("host", "hostname", "myhost\n", label_ja="ホスト"),
            compare.Column("container", "hostname", "inside\n", exit=1, label_ja="コンテナ"),
        ],
        "それぞれのホスト名",
    )
    pt_root = proctree.Proc(1, 0, "systemd", "/sbin/init", [proctree.Proc(812, 1, "bash", "bash")])
    return {
        "output": output.OutputData("", "", 2, "", "find-lib"),
        "output-titled": output.OutputData("$ uname -r", "6.1.0\n", 0, ""),
        "table": table.TableData(
            "hello.sh in /proc/PID/status",
            [table.Row("Name", "hello.sh", "the command", "コマンド名")],
            ["NSpid"],
            "/proc/PID/status に見る hello.sh",
        ),
        "tree": t,
        "trees": trees.TreesData(left, right),
        "diff": diff.DiffData(
            "parent",
            "child",
            [diff.Row("replace", "Pid: 1", "Pid: 2"), diff.Row("equal", "x", "x")],
            "親",
            "子",
        ),
        "proctree": proctree.ProcTreeData(
            "parent bash and its child", pt_root, 812, 812, "親の bash とその子"
        ),
        "compare": plain,
        "compare-keyed": keyed,
    }


ALL = {**{k: v for k, v in DATA.items()}, **{k: (lambda v=v: v) for k, v in _generic().items()}}


def test_every_view_is_walked() -> None:
    assert {k.split("-")[0] for k in ALL} == views.names()


@pytest.mark.parametrize("key", sorted(ALL))
def test_a_view_in_japanese_writes_no_english_of_its_own(key: str) -> None:
    name = key.split("-")[0]
    data = ALL[key]()
    shown = _text(views.get(name).render(data, "ja"))
    english = sorted(_words(shown) - _data_words(data) - ALLOW)
    assert not english, f"{key} in Japanese shows English: {english}\n{shown}"
    if key != "output-titled":  # a command's output under its command: nothing to say
        assert re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", shown), f"{key}: no Japanese at all"


def test_every_panel_name_and_word_has_japanese() -> None:
    assert set(NAMES_JA) == views.names()
    assert set(WORDS["en"]) == set(WORDS["ja"])
