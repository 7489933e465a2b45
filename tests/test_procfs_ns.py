"""/proc status and namespace inodes, read from real processes."""

from __future__ import annotations

import os
import subprocess
import time

from lab.host import namespaces, procfs
from tests.support import need_root, need_tool


def test_status_of_self_and_init() -> None:
    me = procfs.status("self")
    assert me.pid == os.getpid()
    assert me.ppid == os.getppid()
    assert me.get("State")
    assert procfs.status(1).pid == 1


def test_children_and_find_by_name() -> None:
    p = subprocess.Popen(["sleep", "30"])
    try:
        deadline = time.monotonic() + 3  # until the child has exec'd sleep
        while procfs.cmdline(p.pid) != ["sleep", "30"] and time.monotonic() < deadline:
            time.sleep(0.005)
        assert p.pid in procfs.children(os.getpid())
        assert p.pid in procfs.find_by_name("sleep")
        assert procfs.cmdline(p.pid) == ["sleep", "30"]
    finally:
        p.kill()
        p.wait()


def test_namespaces_same_on_host_differ_in_a_container() -> None:
    need_root()
    need_tool("unshare")
    host = namespaces.of("self")
    assert {"mnt", "net", "pid", "uts", "ipc"} <= set(host.inodes)
    p = subprocess.Popen(["unshare", "--uts", "--net", "--pid", "--fork", "sleep", "30"])
    try:
        deadline = time.monotonic() + 3
        kids: list[int] = []
        while not kids and time.monotonic() < deadline:
            kids = procfs.children(p.pid)
            time.sleep(0.01)
        inner = namespaces.of(kids[0])
        assert set(inner.differs_from(host)) >= {"net", "pid", "uts"}
        assert "mnt" not in inner.differs_from(host)
        assert namespaces.nspid(kids[0])[-1] == 1
    finally:
        p.kill()
        p.wait()
