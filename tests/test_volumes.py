"""Volumes, bind mounts, tmpfs, a read-only root — inside a by-hand container, for real."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.host.mounts import mounts
from lab.ops import container, rootfs, runtime, volumes
from lab.safety.journal import Journal
from tests.support import need_root, need_tool

LOOP = "#!/bin/sh\nwhile true; do sleep 1; done\n"


@pytest.fixture()
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "home") as j:
        yield j
    assert not [m for m in mounts() if str(tmp_path) in m.target], "a mount is left"


def test_specs_and_their_docker_flags(tmp_path: Path) -> None:
    b = volumes.bind(tmp_path, "/data", readonly=True)
    assert b.flag == f"-v {tmp_path}:/data:ro"
    assert volumes.tmpfs("/tmp", "8m").flag == "--tmpfs /tmp"
    lines = volumes.commands("/r", [b, volumes.tmpfs("tmp")])
    assert lines == [
        "mkdir -p /r/data",
        f"mount --bind {tmp_path} /r/data",
        "mount -o remount,bind,ro /r/data",
        "mkdir -p /r/tmp",
        "mount -t tmpfs -o size=16m,mode=1777 tmpfs /r/tmp",
    ]
    with pytest.raises(LabError):
        volumes.bind(tmp_path, "/../etc")
    with pytest.raises(LabError):
        volumes.tmpfs("/t", "1; rm")


def test_what_survives_removing_the_container(journal: Journal, tmp_path: Path) -> None:
    need_root()
    need_tool("unshare", "nsenter", "ldd", "pivot_root")
    r = rootfs.build(journal, journal.home / "rootfs", scripts={"/opt/bin/loop.sh": LOOP})
    host_dir = tmp_path / "host"
    host_dir.mkdir()
    vol = volumes.volume(journal, "notes")
    assert vol.path == journal.home / "volumes" / "notes"
    specs = [volumes.bind(host_dir, "/host"), volumes.use(vol, "/notes"), volumes.tmpfs("/scratch")]

    def run_once(name: str, script: str) -> str:
        c = runtime.new(journal, name, [r.root], mounts=specs)
        runtime.prepare_rootfs(journal, c)
        runtime.start(journal, c, ["/opt/bin/loop.sh"])
        try:
            p = subprocess.run(
                runtime.exec_argv(c, ["sh", "-c", script]),
                capture_output=True,
                text=True,
                timeout=10,
            )
            return p.stdout + p.stderr
        finally:
            runtime.remove(journal, c)

    out = run_once(
        "v1",
        "echo a > /host/a; echo b > /notes/b; echo c > /scratch/c; echo d > /root/d; ls /scratch /root",
    )
    assert "c" in out and "d" in out
    # a second container: the bind mount's and the volume's files are there; tmpfs and the writable layer are not
    out = run_once("v2", "cat /host/a /notes/b; ls /scratch; ls /root; echo end")
    assert out.split() == ["a", "b", "end"], out
    assert (host_dir / "a").read_text() == "a\n" and (vol.path / "b").read_text() == "b\n"
    assert not (journal.home / "containers" / "v1").exists()  # the writable layer went with it


def test_attach_to_a_running_unshare_container(journal: Journal, tmp_path: Path) -> None:
    need_root()
    need_tool("unshare", "nsenter", "ldd")
    r = rootfs.build(journal, journal.home / "rootfs", scripts={"/opt/bin/loop.sh": LOOP})
    src = tmp_path / "src"
    src.mkdir()
    (src / "f").write_text("shared\n")
    c = container.start(journal, "box", r.root, ["/opt/bin/loop.sh"])
    try:
        shown = volumes.attach(c.pid, r.root, volumes.bind(src, "/mnt/src"))
        assert "nsenter --target" in shown[0]
        volumes.attach(c.pid, r.root, volumes.tmpfs("/mnt/t"))
        p = subprocess.run(
            container.exec_argv(c, ["cat", "/mnt/src/f"]),
            capture_output=True,
            text=True,
            timeout=10,
        )
        assert p.stdout == "shared\n"
        inside = {m.target: m for m in volumes.inside(c.pid)}
        assert inside["/mnt/t"].fstype == "tmpfs" and "/mnt/src" in inside
        # the host's mount table never saw them
        assert not [m for m in mounts() if m.target.startswith(str(r.root) + "/mnt")]
    finally:
        container.stop(journal, c)
