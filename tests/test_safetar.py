"""The one tar extractor (lab.safety.safetar), against hostile tars.

Each case: a sentinel directory beside the destination (files, a subdirectory, a
file a hard link could aim at) is fingerprinted before and after; whatever the tar
holds, nothing outside the destination changes, no extracted file shares an inode
with anything outside, no device node is made, and a refusal is a LabError with a
message naming the tar and the entry. Plain files only: no root needed for most,
no kernel state (device members are only ever skipped or refused).
"""

from __future__ import annotations

import io
import os
import shutil
import stat
import tarfile
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from lab.errors import LabError
from lab.ops import rootfs
from lab.ops.image import layers
from lab.safety import safetar

SENTINEL_FILES = {"keep.txt": b"outside", "sub/deep.txt": b"deeper"}


def _fingerprint(d: Path) -> dict[str, tuple]:
    out: dict[str, tuple] = {}
    for dirpath, dirs, files in os.walk(d):
        for n in dirs + files:
            p = os.path.join(dirpath, n)
            s = os.lstat(p)
            data = Path(p).read_bytes() if stat.S_ISREG(s.st_mode) else b""
            out[os.path.relpath(p, d)] = (s.st_mode, s.st_nlink, s.st_mtime_ns, data)
    return out


def _world(base: Path) -> tuple[Path, Path]:
    """base/dest (empty) and base/sentinel (full)."""
    dest, sentinel = base / "dest", base / "sentinel"
    dest.mkdir()
    for rel, data in SENTINEL_FILES.items():
        (sentinel / rel).parent.mkdir(parents=True, exist_ok=True)
        (sentinel / rel).write_bytes(data)
    return dest, sentinel


def _make_tar(path: Path, members: list[tuple[str, str, str, bytes]]) -> Path:
    """members: (kind, name, linkname, data); kind in file dir sym hard chr blk fifo."""
    types = {
        "file": tarfile.REGTYPE,
        "dir": tarfile.DIRTYPE,
        "sym": tarfile.SYMTYPE,
        "hard": tarfile.LNKTYPE,
        "chr": tarfile.CHRTYPE,
        "blk": tarfile.BLKTYPE,
        "fifo": tarfile.FIFOTYPE,
    }
    with tarfile.open(path, "w", format=tarfile.GNU_FORMAT) as tf:
        for kind, name, link, data in members:
            ti = tarfile.TarInfo(name)
            ti.type, ti.linkname, ti.mode = types[kind], link, 0o755 if kind == "dir" else 0o644
            if kind in ("chr", "blk"):
                ti.devmajor, ti.devminor = (1, 3) if data else (0, 0)  # /dev/null, or a whiteout
            ti.size = len(data) if kind == "file" else 0
            tf.addfile(ti, io.BytesIO(data) if kind == "file" else None)
    return path


def _check_after(base: Path, dest: Path, sentinel: Path, before: dict, before_base: set) -> None:
    assert _fingerprint(sentinel) == before, "something outside the destination changed"
    assert set(os.listdir(base)) == before_base, "something was made beside the destination"
    outside = {(s.st_dev, s.st_ino) for p in sentinel.rglob("*") for s in [os.lstat(p)]}
    below = [Path(d, n) for d, dirs, files in os.walk(dest) for n in dirs + files]  # no following
    for p in [dest, *below]:
        s = os.lstat(p)
        assert (s.st_dev, s.st_ino) not in outside, f"{p} is a hard link to outside"
        if stat.S_ISBLK(s.st_mode) or (stat.S_ISCHR(s.st_mode) and s.st_rdev != 0):
            raise AssertionError(f"{p}: a device node was made")
        if stat.S_ISLNK(s.st_mode):
            target = os.readlink(p)
            if not target.startswith("/"):
                resolved = os.path.normpath(os.path.join(os.path.dirname(p), target))
                assert resolved == str(dest) or resolved.startswith(f"{dest}/"), (
                    f"{p} -> {target} leads outside"
                )


def _run(base: Path, members: list, mode: str, lower_link: bool = False) -> str:
    """Extract; '' on success, the LabError message on refusal."""
    dest, sentinel = _world(base)
    if lower_link:  # a lower layer left a symlink to outside
        os.symlink(str(sentinel), dest / "lower")
    before, before_base = _fingerprint(sentinel), set(os.listdir(base))
    tar = _make_tar(base.parent / f"{base.name}.tar", members)
    msg = ""
    try:
        if mode == "rootfs":
            rootfs.from_tar(tar, dest)
        else:
            layers.unpack(tar, dest, whiteouts=mode)
    except LabError as ex:
        msg = str(ex)
        assert msg.startswith(f"{tar}: "), msg
        assert "\n" not in msg
    _check_after(base, dest, sentinel, before, before_base)
    return msg


# -- named cases ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("members", "why"),
    [
        ([("file", "/etc/pwned", "", b"x")], "absolute"),
        ([("file", "../pwned", "", b"x")], "'..'"),
        ([("file", "a/../../pwned", "", b"x")], "'..'"),
        ([("sym", "up", "../sentinel", b""), ("file", "up/keep.txt", "", b"x")], "leads|outside"),
        ([("sym", "abs", "/", b""), ("file", "abs/pwned", "", b"x")], "goes through 'abs'"),
        ([("sym", "a", "b", b""), ("dir", "b", "", b""), ("file", "a/x", "", b"x")], "through"),
        ([("hard", "h", "../sentinel/keep.txt", b"")], "hard link"),
        ([("hard", "h", "/SENTINEL/keep.txt", b"")], "hard link"),
        ([("hard", "h", "later", b""), ("file", "later", "", b"x")], "missing member"),
        ([("sym", "s", "x", b""), ("hard", "h", "s", b"")], "hard link"),
        ([("file", "x" * 300, "", b"x")], "longer than 255"),
        ([("file", "/".join(["d" * 200] * 25), "", b"x")], "longer than 4096"),
        ([("chr", "dev/null", "", b"1")], "device"),
        ([("blk", "dev/sda", "", b"1")], "device"),
    ],
)
def test_hostile_tars_are_refused(tmp_path: Path, members: list, why: str) -> None:
    members = [
        (k, n, link.replace("/SENTINEL", str(tmp_path / "w" / "sentinel")), d)
        for k, n, link, d in members
    ]
    base = tmp_path / "w"
    base.mkdir()
    msg = _run(base, members, "rootfs")
    assert msg, "a hostile tar was unpacked"
    assert any(w in msg for w in why.split("|")), msg


def test_a_lower_layers_symlink_is_not_written_through(tmp_path: Path) -> None:
    base = tmp_path / "w"
    base.mkdir()
    msg = _run(base, [("file", "lower/keep.txt", "", b"x")], "apply", lower_link=True)
    assert "goes through 'lower', which is a symlink" in msg


def test_devices_and_fifos_are_skipped_with_a_note_in_layers(tmp_path: Path) -> None:
    dest, _ = _world(tmp_path)
    tar = _make_tar(
        tmp_path / "l.tar",
        [("chr", "dev/null", "", b"1"), ("fifo", "run/p", "", b""), ("file", "f", "", b"x")],
    )
    out = safetar.extract(tar, dest, whiteouts="apply", devices="skip")
    assert [n for n, _ in out.skipped] == ["dev/null", "run/p"]
    assert (dest / "f").read_bytes() == b"x" and not (dest / "dev" / "null").exists()


def test_a_rootfs_tar_roundtrips(tmp_path: Path) -> None:
    """What a rootfs really holds: absolute symlinks, relative ones, hard links, modes."""
    dest, sentinel = _world(tmp_path)
    tar = _make_tar(
        tmp_path / "r.tar",
        [
            ("dir", ".", "", b""),
            ("dir", "./usr/bin", "", b""),
            ("file", "./usr/bin/busybox", "", b"\x7fELF"),
            ("sym", "./bin", "usr/bin", b""),
            ("sym", "./usr/bin/sh", "/usr/bin/busybox", b""),  # absolute: the rootfs's own root
            ("sym", "./usr/bin/ls", "busybox", b""),
            ("hard", "./usr/bin/ash", "usr/bin/busybox", b""),
            ("sym", "./lib/ld", "../usr/lib/ld.so", b""),
            ("file", "./etc/motd", "", b"hi"),
            ("file", "./etc/motd", "", b"hello"),  # a later duplicate replaces
        ],
    )
    before = _fingerprint(sentinel)
    rootfs.from_tar(tar, dest)
    assert os.readlink(dest / "usr/bin/sh") == "/usr/bin/busybox"
    assert os.readlink(dest / "bin") == "usr/bin"
    assert os.stat(dest / "usr/bin/ash").st_ino == os.stat(dest / "usr/bin/busybox").st_ino
    assert (dest / "etc/motd").read_bytes() == b"hello"
    assert _fingerprint(sentinel) == before


def test_layer_whiteouts_apply_and_overlay(tmp_path: Path) -> None:
    dest, _ = _world(tmp_path)
    (dest / "etc").mkdir()
    (dest / "etc" / "gone").write_text("x")
    (dest / "data").mkdir()
    (dest / "data" / "old").write_text("x")
    tar = _make_tar(
        tmp_path / "l.tar",
        [
            ("file", "etc/.wh.gone", "", b""),
            ("dir", "data", "", b""),
            ("file", "data/.wh..wh..opq", "", b""),
            ("file", "data/new", "", b"n"),
        ],
    )
    got = layers.unpack(tar, dest, whiteouts="apply")
    assert not (dest / "etc" / "gone").exists()
    assert sorted(os.listdir(dest / "data")) == ["new"]
    assert {(e.path, e.kind) for e in got} >= {("etc/gone", "whiteout"), ("data", "opaque")}
    if os.geteuid() == 0:  # a char device and a trusted.* xattr need root
        low = tmp_path / "low"
        low.mkdir()
        layers.unpack(tar, low, whiteouts="overlay")
        assert os.lstat(low / "etc" / "gone").st_rdev == 0
        assert stat.S_ISCHR(os.lstat(low / "etc" / "gone").st_mode)
        assert layers.is_opaque(low / "data")
    for bad in (".wh..", ".wh.", "a/.wh..."):
        base = tmp_path / f"b{len(bad)}"
        base.mkdir()
        assert "whiteout of nothing" in _run(base, [("file", bad, "", b"")], "apply")


# -- fuzzing -----------------------------------------------------------------------------

_PLAIN = ["a", "b", "etc", "a", "b", "lower", "a", "b"]
_ODD = ["..", ".", "", ".wh.a", ".wh..wh..opq", ".wh..", "y" * 256]
_COMPONENTS = st.sampled_from([*_PLAIN, *_ODD])
_RELATIVE = st.lists(_COMPONENTS, min_size=1, max_size=4).map("/".join)
_LONG = st.sampled_from(["a" * 60 + "/" + "b" * 60, "/".join(["c" * 250] * 18)])
_NAMES = st.integers(0, 39).flatmap(  # mostly relative names of a few components: paths collide
    lambda i: _RELATIVE if i < 36 else _RELATIVE.map(lambda p: "/" + p) if i < 38 else _LONG
)
_LINKS = st.one_of(
    _NAMES,
    st.sampled_from(
        ["/", "/etc", "/SENTINEL", "/SENTINEL/keep.txt", "../sentinel", "../../..", "a", "a/b"]
    ),
)
_MEMBER = st.tuples(
    st.sampled_from(["file", "file", "dir", "sym", "sym", "hard", "chr", "blk", "fifo"]),
    _NAMES,
    _LINKS,
    st.binary(max_size=16),
)


@settings(
    max_examples=1000,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    members=st.lists(_MEMBER, min_size=1, max_size=8),
    mode=st.sampled_from(["rootfs", "apply", "overlay"]),
    lower_link=st.booleans(),
)
def test_fuzz_nothing_is_ever_written_outside(members: list, mode: str, lower_link: bool) -> None:
    with tempfile.TemporaryDirectory(prefix="shk-safetar-") as tmp:
        base = Path(tmp) / "w"
        base.mkdir()
        sentinel = str(base / "sentinel")
        members = [(k, n, link.replace("/SENTINEL", sentinel), d) for k, n, link, d in members]
        if mode == "overlay" and os.geteuid() != 0:
            mode = "apply"  # whiteout devices need root
        _run(base, members, mode, lower_link=lower_link)
        shutil.rmtree(base)


def test_every_extraction_goes_through_safetar() -> None:
    """No other module of the lab extracts a tar itself (reading members is fine)."""
    import re

    lab_dir = Path(safetar.__file__).resolve().parent.parent
    found = []
    for py in lab_dir.rglob("*.py"):
        if py.name == "safetar.py":
            continue
        for n, line in enumerate(py.read_text(encoding="utf-8").splitlines(), 1):
            if re.search(
                r"\.extractall\(|(?<!safetar)\.extract\(|_extract_member\(|unpack_archive", line
            ):
                found.append(f"{py.relative_to(lab_dir)}:{n}: {line.strip()}")
    assert found == [], found
