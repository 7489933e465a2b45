"""Containers on overlayfs, for real: copy-up, whiteouts, opaque dirs, layer tars."""

from __future__ import annotations

import os
import stat
import tarfile
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.host import mounts
from lab.ops import overlay
from lab.ops.image import layers
from lab.safety.journal import Journal
from tests.support import need_root, need_tool


@pytest.fixture()
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "home") as j:
        yield j
    assert not mounts.under(str(tmp_path / "home")), "mounts left under the home"


def _lower(root: Path, files: dict[str, str]) -> Path:
    for rel, text in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    return root


def _tree(root: Path) -> dict[str, tuple[str, bytes]]:
    out = {}
    for rel, st in layers.walk(root):
        if stat.S_ISDIR(st.st_mode):
            out[rel] = ("dir", b"")
        elif stat.S_ISLNK(st.st_mode):
            out[rel] = ("link", os.readlink(root / rel).encode())
        else:
            out[rel] = ("file", (root / rel).read_bytes())
    return out


def test_copy_up_whiteouts_opaque_and_layer_tars(journal: Journal, tmp_path: Path) -> None:
    need_root()
    home = journal.home
    base = _lower(
        home / "l0",
        {"etc/greeting": "hello\n", "etc/motd": "motd\n", "data/a": "a\n", "data/b": "b\n"},
    )
    top = _lower(home / "l1", {"keep/x": "x\n", "etc/extra": "extra\n"})
    c = overlay.create(journal, [base, top], image="test")
    overlay.mount(journal, c)
    assert c.mounted() and "lowerdir=" in c.mount_line().super_options + c.mount_line().options
    m = c.merged
    assert (m / "etc" / "greeting").read_text() == "hello\n"  # from the bottom layer
    assert (m / "keep" / "x").exists()  # from the top one
    (m / "new.txt").write_text("new\n")  # added
    (m / "etc" / "greeting").write_text("bonjour\n")  # modified: copied up
    os.unlink(m / "etc" / "motd")  # deleted: a whiteout
    for name in os.listdir(m / "data"):  # rm -rf data && mkdir data: an opaque dir
        os.unlink(m / "data" / name)
    os.rmdir(m / "data")
    os.mkdir(m / "data")
    (m / "data" / "c").write_text("c\n")

    up = c.upper
    assert (up / "etc" / "greeting").read_text() == "bonjour\n"
    assert (base / "etc" / "greeting").read_text() == "hello\n"  # the lower is untouched
    st = os.lstat(up / "etc" / "motd")
    assert stat.S_ISCHR(st.st_mode) and st.st_rdev == 0
    assert layers.is_opaque(up / "data")
    assert (base / "etc" / "motd").exists()

    ch = {x.path: x for x in overlay.changes(c)}
    assert ch["/new.txt"].kind == "added"
    assert ch["/etc/greeting"].kind == "modified" and ch["/etc/greeting"].lower == 0
    assert ch["/etc/motd"].kind == "deleted"
    assert ch["/data"].kind == "opaque"
    assert ch["/data/c"].kind == "added"

    # the upper as a layer tar: whiteouts become .wh. entries
    t0 = layers.from_dir(base, tmp_path / "l0.tar", overlay=False)
    t1 = layers.from_dir(top, tmp_path / "l1.tar", overlay=False)
    t2 = layers.from_dir(up, tmp_path / "l2.tar", overlay=True)
    with tarfile.open(t2.path) as tf:
        names = tf.getnames()
    assert "etc/.wh.motd" in names and "data/.wh..wh..opq" in names
    assert not any(n.startswith("work") for n in names)
    assert t2.digest.startswith("sha256:") and len(t2.digest) == 71
    kinds = {(e.path, e.kind) for e in t2.entries}
    assert ("etc/motd", "whiteout") in kinds and ("data", "opaque") in kinds

    # applying the layer tars in order reproduces merged
    flat = home / "flat"
    flat.mkdir()
    for t in (t0, t1, t2):
        layers.unpack(t.path, flat, whiteouts="apply")
    assert _tree(flat) == _tree(m)
    # and so does flattening them into one tar, without unpacking
    n = layers.flatten([t0.path, t1.path, t2.path], tmp_path / "flat.tar")
    with tarfile.open(tmp_path / "flat.tar") as tf:
        assert {layers.norm(x) for x in tf.getnames()} == set(_tree(m))
    assert n == len(_tree(m))

    # unpacked the overlay way, the layers stack again into the same merged view
    lowers = []
    for i, t in enumerate((t0, t1, t2)):
        d = home / f"u{i}"
        d.mkdir()
        layers.unpack(t.path, d, whiteouts="overlay")
        lowers.append(d)
    assert layers.is_opaque(lowers[2] / "data")
    assert os.lstat(lowers[2] / "etc" / "motd").st_rdev == 0
    c2 = overlay.create(journal, lowers)
    overlay.mount(journal, c2)
    assert _tree(c2.merged) == _tree(m)

    # analysis: what each layer adds / modifies / deletes
    d = layers.analyze([t0.path, t1.path, t2.path])
    last = d.layers[2]
    assert {f.path for f in last.added} >= {"new.txt", "data/c"}
    assert {f.path for f in last.modified} == {"etc/greeting"}
    assert {(f.path, f.kind) for f in last.deleted} == {
        ("etc/motd", "whiteout"),
        ("data", "opaque"),
    }
    assert d.wasted == len("hello\n") + len("motd\n") + len("a\n") + len("b\n")

    for x in (c, c2):
        overlay.remove(journal, x)
    assert not c.dir.exists() and not mounts.under(str(home / "containers"))


def test_containers_stay_until_removed(journal: Journal) -> None:
    need_root()
    need_tool("unshare", "ldd")
    from lab.ops import rootfs

    r = rootfs.build(journal, journal.home / "rootfs", programs=[*rootfs.DEFAULT_PROGRAMS, "rm"])
    made = []
    for i in range(2):
        c = overlay.create(journal, [r.root])
        overlay.mount(journal, c)
        res = overlay.run(
            journal, c, ["/bin/sh", "-c", f"echo run{i} > /tmp/out; rm /etc/hostname; hostname"]
        )
        assert res.returncode == 0, res.output
        assert "--root" in res.argv and str(c.merged) in res.argv
        overlay.unmount(journal, c)  # the process is gone; the container stays
        made.append(c)
    listed = overlay.list_containers(journal.home)
    assert [x.id for x in listed] == sorted(x.id for x in made)
    again = overlay.open_container(journal, made[0].id)
    assert (again.upper / "tmp" / "out").read_text() == "run0\n"
    assert {(x.path, x.kind) for x in overlay.changes(again)} >= {
        ("/tmp/out", "added"),
        ("/etc/hostname", "deleted"),
    }
    assert (r.root / "etc" / "hostname").exists()  # the lower (the rootfs) is untouched
    with pytest.raises(LabError):
        overlay.run(journal, again, ["true"])  # not mounted
    for x in made:
        overlay.remove(journal, x)
    assert overlay.list_containers(journal.home) == []


def test_cleanup_after_a_crash_leaves_no_overlay(tmp_path: Path) -> None:
    need_root()
    home = tmp_path / "home"
    j = Journal.open(home)
    low = _lower(home / "low", {"f": "1"})
    c = overlay.create(j, [low])
    overlay.mount(j, c)
    assert mounts.under(str(home))
    j.close(undo=False)  # as if the session died
    from lab.safety.journal import recover

    report = recover(home)
    assert report.ok, report.to_json()
    assert not mounts.under(str(home)) and not c.dir.exists()
