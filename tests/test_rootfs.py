"""The ldd closure and the hand-made rootfs, built and run for real."""

from __future__ import annotations

import io
import os
import shutil
import subprocess
import tarfile
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.host import ldd
from lab.ops import rootfs
from lab.safety.journal import Journal
from tests.support import need_root, need_tool

LDD_SAMPLE = """/bin/ls:
\tlinux-vdso.so.1 (0x00007ffd)
\tlibselinux.so.1 => /lib/x86_64-linux-gnu/libselinux.so.1 (0x00007f76003a3000)
\tlibgone.so.9 => not found
\t/lib64/ld-linux-x86-64.so.2 (0x00007f760040a000)
/bin/busybox:
\tnot a dynamic executable
"""


def test_parse_ldd() -> None:
    out = ldd.parse_ldd(LDD_SAMPLE)
    kinds = [(lib.soname, lib.kind) for lib in out["/bin/ls"]]
    assert kinds == [
        ("linux-vdso.so.1", "vdso"),
        ("libselinux.so.1", "library"),
        ("libgone.so.9", "missing"),
        ("/lib64/ld-linux-x86-64.so.2", "loader"),
    ]
    assert out["/bin/busybox"][0].kind == "static"


def test_linked_ls_really_links_libc() -> None:
    need_tool("ldd", "ls")
    (item,) = ldd.linked(["ls"])
    names = {lib.soname for lib in item.libs}
    assert "libc.so.6" in names
    assert any(lib.kind == "loader" for lib in item.libs)
    assert not item.missing


def test_unknown_program_is_a_clear_error() -> None:
    with pytest.raises(LabError, match="no such program"):
        ldd.linked(["no-such-program-xyz"])


@pytest.fixture()
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "home") as j:
        yield j


def test_build_rootfs_runs_hello_in_chroot(journal: Journal) -> None:
    need_root()
    need_tool("ldd", "chroot")
    script = "#!/bin/sh\necho hello from $(hostname)\nls /\n"
    r = rootfs.build(
        journal, journal.home / "work" / "rootfs", scripts={"/opt/bin/hello.sh": script}
    )
    out = subprocess.run(
        ["chroot", str(r.root), "/opt/bin/hello.sh"], capture_output=True, text=True, timeout=10
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("hello from ")
    assert "opt" in out.stdout.split()
    # far smaller than the slides' copy of /bin /lib /usr …
    est = rootfs.estimate_copy_all()
    assert r.bytes * 20 < est.bytes, (r.bytes, est.bytes)
    kinds = {f.kind for f in r.files}
    assert {"program", "library", "loader", "script"} <= kinds


def test_rootfs_never_shares_inodes_with_the_host(journal: Journal) -> None:
    need_tool("ldd")
    r = rootfs.build(journal, journal.home / "rootfs", programs=["cat"])
    host_libc = next(lib.path for lib in r.linked[0].libs if lib.soname == "libc.so.6")
    inside = r.root / os.path.realpath(host_libc).lstrip("/")
    assert inside.is_file() and not inside.is_symlink()
    assert os.stat(inside).st_ino != os.stat(host_libc).st_ino
    before = Path(host_libc).read_bytes()[:4096]
    with open(inside, "r+b") as f:  # a learner scribbling inside the rootfs
        f.write(b"\0" * 16)
    assert Path(host_libc).read_bytes()[:4096] == before


def test_busybox_rootfs(journal: Journal) -> None:
    need_root()
    need_tool("busybox", "chroot")
    r = rootfs.build_busybox(journal, journal.home / "bb")
    out = subprocess.run(
        ["chroot", str(r.root), "/bin/sh", "-c", "echo ok; ls /bin | grep -c ."],
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split()[0] == "ok"
    assert r.bytes < 4_000_000


def test_tar_roundtrip_and_rootfs_is_undone(journal: Journal) -> None:
    need_root()
    need_tool("ldd", "chroot")
    r = rootfs.build(
        journal,
        journal.home / "work" / "test",
        programs=["sh", "sleep"],
        scripts={"/opt/bin/hello.sh": "#!/bin/sh\necho hi\n"},
    )
    tar = journal.home / "work" / "test.tar"
    rootfs.to_tar(r.root, tar)
    with tarfile.open(tar) as tf:
        names = tf.getnames()
    assert "./opt/bin/hello.sh" in names
    dest = journal.home / "containers" / "test"
    dest.mkdir(parents=True)
    rootfs.from_tar(tar, dest)
    out = subprocess.run(
        ["chroot", str(dest), "/opt/bin/hello.sh"], capture_output=True, text=True, timeout=10
    )
    assert out.stdout == "hi\n"
    journal.rollback()
    assert not (journal.home / "work").exists()


def test_from_tar_refuses_escapes(tmp_path: Path) -> None:
    evil = tmp_path / "evil.tar"
    with tarfile.open(evil, "w") as tf:
        link = tarfile.TarInfo("etc")
        link.type, link.linkname = tarfile.SYMTYPE, "/tmp"
        tf.addfile(link)
        data = b"owned"
        f = tarfile.TarInfo("etc/shikumi-escape-test")
        f.size = len(data)
        tf.addfile(f, io.BytesIO(data))
    dest = tmp_path / "dest"
    dest.mkdir()
    with pytest.raises(LabError, match="outside"):
        rootfs.from_tar(evil, dest)
    assert not Path("/tmp/shikumi-escape-test").exists()
    shutil.rmtree(dest)


def test_linked_asks_the_loader_and_agrees_with_ldd() -> None:
    """linked() asks each binary's own loader (`ld.so --list`, what the ldd script
    runs) directly and in parallel: the answer must be ldd's, static binaries included."""
    import shutil
    import subprocess

    need_tool("ldd", "ls", "ps")
    names = [n for n in ("sh", "ls", "ps", "cat", "mount", "busybox") if shutil.which(n)]
    items = ldd.linked(names)
    r = subprocess.run(["ldd", *[i.binary for i in items]], capture_output=True, text=True)
    ref = ldd.parse_ldd(r.stdout + "\n" + r.stderr)  # ldd says "not a dynamic executable" on stderr
    for item in items:
        want = [
            (lib.soname, lib.path, lib.kind) for lib in ref[item.binary] if lib.kind != "static"
        ]
        assert [(lib.soname, lib.path, lib.kind) for lib in item.libs] == want, item.binary
        assert item.static == any(lib.kind == "static" for lib in ref[item.binary])
    assert ldd.interpreter(items[0].real)  # a dynamic binary names its loader
    assert ldd.interpreter("/etc/passwd") is None
