"""A container by hand: unshare + a new root, started through the journal."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from lab.host import namespaces
from lab.ops import container, rootfs
from lab.safety import procs
from lab.safety.journal import Journal
from tests.support import need_root, need_tool

LOOP = "#!/bin/sh\nwhile true; do sleep 1; done\n"


@pytest.fixture()
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "home") as j:
        yield j


def test_argv_is_what_the_slides_type() -> None:
    a = container.argv(Path("/r"), ["/opt/bin/hello.sh"])
    assert a[:7] == ["unshare", "--uts", "--ipc", "--pid", "--net", "--mount", "--fork"]
    assert "--root" in a and "--mount-proc" in a and a[-1] == "/opt/bin/hello.sh"


def test_container_is_isolated_and_undone(journal: Journal) -> None:
    need_root()
    need_tool("unshare", "nsenter", "ldd")
    r = rootfs.build(journal, journal.home / "rootfs", scripts={"/opt/bin/hello.sh": LOOP})
    c = container.start(journal, "box", r.root, ["/opt/bin/hello.sh"], hostname="box")
    assert procs.comm(c.pid) == "hello.sh"
    assert namespaces.nspid(c.pid)[-1] == 1
    assert set(c.ns().differs_from(namespaces.of("self"))) >= {"uts", "ipc", "pid", "net", "mnt"}
    out = subprocess.run(
        container.exec_argv(c, ["sh", "-c", "hostname; ps -e -o pid=,comm=; ls /"]),
        capture_output=True,
        text=True,
        timeout=10,
    )
    lines = out.stdout.split("\n")
    assert lines[0] == "box", out
    assert "1 hello.sh" in [ln.strip() for ln in lines], out.stdout
    assert "opt" in lines and "home" not in lines  # the rootfs, not the host's /
    subprocess.run(
        ["hostname"], check=True, capture_output=True
    )  # the host's hostname is untouched
    pid = c.pid
    container.stop(journal, c)
    assert not procs.alive(pid)
