"""The kernel state snapshot and its diff (lab/host/snapshot.py, lab/ops/changes.py).

Reads only: these tests change files in a temporary folder and start a `sleep` of
their own, nothing machine-wide (no kernel lock needed)."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from lab.host import cgroupview, snapshot
from lab.ops import changes


def _scope(tmp: Path, roots: tuple[int, ...] = ()) -> changes.Scope:
    return changes.Scope(pid=os.getpid(), roots=roots, dirs=(str(tmp),))


def test_files_added_changed_removed(tmp_path: Path) -> None:
    (tmp_path / "keep").write_text("a")
    a = changes.take(_scope(tmp_path))
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "new.txt").write_text("hello\n")
    (tmp_path / "keep").write_text("abc")
    b = changes.take(_scope(tmp_path))
    got = changes.lines(changes.diff(a, b))
    assert got == [
        f"- files: {tmp_path}/keep (1 B)",
        f"+ files: {tmp_path}/d/",
        f"+ files: {tmp_path}/d/new.txt (6 B)",
        f"+ files: {tmp_path}/keep (3 B)",
    ]
    assert changes.diff(b, b) == []


def test_files_bounded_and_never_followed(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "link").symlink_to("/")  # a symlink to / is listed, never walked
    deep = tmp_path / "1" / "2" / "3" / "4" / "5"
    deep.mkdir(parents=True)
    found = snapshot.read_files([str(tmp_path)])
    assert f"{tmp_path}/link -> /" in found
    assert not any(x.startswith(f"{tmp_path}/link/") for x in found)
    assert f"{tmp_path}/1/2/3/4/" in found and f"{tmp_path}/1/2/3/4/5/" not in found
    monkeypatch.setattr(snapshot, "MAX_FILES", 3)
    for i in range(10):
        (tmp_path / f"f{i}").write_text("x")
    assert f"{tmp_path}/… (more than 3 entries)" in snapshot.read_files([str(tmp_path)])


def test_processes_of_the_tree(tmp_path: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "30"])
    try:
        scope = _scope(tmp_path, roots=(os.getpid(),))
        a = changes.take(changes.Scope(**{**scope.__dict__, "roots": ()}))
        b = changes.take(scope)
        added = [c for c in changes.diff(a, b) if c.kind == "processes"]
        assert changes.Change("processes", "+", "sleep 30") in added
    finally:
        sleeper.kill()
        sleeper.wait(5)
    c = changes.take(scope)
    assert changes.Change("processes", "-", "sleep 30") in changes.diff(b, c)
    table = {1: (0, "a"), 2: (1, "sleep"), 3: (1, "sleep"), 4: (9, "other")}
    two = snapshot.tree_of([1], table)
    assert sorted(two) == [1, 2, 3]  # the tree under the root, not pid 4


def test_mounts_namespaces_net_read_from_the_context() -> None:
    snap = changes.take(changes.Scope(pid=os.getpid()))
    assert any(line.startswith("/ (") for line in snap.get("mounts"))
    assert any(line.startswith("mnt:[") for line in snap.get("namespaces"))
    if "links" in snap.kinds:  # `ip` is installed (provision.sh puts it there)
        assert any(line.startswith("lo ") for line in snap.get("links"))
        assert any(line.startswith("lo 127.0.0.1/8") for line in snap.get("addresses"))


def test_a_user_namespaces_maps_written_are_a_change(tmp_path: Path) -> None:
    """uid_map written by hand (lesson 21): `- … uid_map empty`, `+ … uid_map 0 N 1`."""
    if os.geteuid() != 0:
        import pytest

        pytest.skip("needs root (writing another process's uid_map)")
    bare = subprocess.Popen(["unshare", "--user", "sleep", "30"])
    try:
        scope = _scope(tmp_path, roots=(bare.pid,))
        for _ in range(100):  # until unshare has made the namespace
            user = os.readlink(f"/proc/{bare.pid}/ns/user")
            if user != os.readlink("/proc/self/ns/user"):
                break
            time.sleep(0.02)
        a = changes.take(scope)
        assert f"{user} uid_map empty" in a.get("namespaces")
        Path(f"/proc/{bare.pid}/uid_map").write_text("0 0 1\n")
        got = [str(c) for c in changes.diff(a, changes.take(scope)) if c.kind == "namespaces"]
        assert got == [f"- namespaces: {user} uid_map empty", f"+ namespaces: {user} uid_map 0 0 1"]
    finally:
        bare.kill()
        bare.wait(5)


def test_cgroups_named_shikumi_with_their_limits(tmp_path: Path) -> None:
    box = tmp_path / "memory" / "shikumi" / "box"
    box.mkdir(parents=True)
    (box / "memory.limit_in_bytes").write_text("8388608\n")
    (tmp_path / "memory" / "other").mkdir()
    assert cgroupview.read_cgroups(str(tmp_path)) == {
        "memory:shikumi",
        "memory:shikumi/box memory.limit_in_bytes=8388608",
    }
    v2 = tmp_path / "v2"  # cgroup v2: the root and each cgroup have cgroup.subtree_control
    (v2 / "shikumi" / "web").mkdir(parents=True)
    (v2 / "user.slice").mkdir()
    for d in (v2, v2 / "shikumi", v2 / "shikumi" / "web", v2 / "user.slice"):
        (d / "cgroup.subtree_control").write_text("")
    (v2 / "shikumi" / "web" / "pids.max").write_text("20\n")
    assert cgroupview.read_cgroups(str(v2)) == {
        "unified:shikumi",
        "unified:shikumi/web pids.max=20",
    }


def test_a_frozen_docker_container_and_a_frozen_lab_cgroup(tmp_path: Path) -> None:
    """docker pause freezes the container's cgroup, where Docker's driver put it:
    v1 cgroupfs `freezer/docker/ID`, v2 systemd `system.slice/docker-ID.scope`. A
    file tree in the kernel's layouts (the real pause is in the practice walk, 23)."""
    cid, other = "a" * 64, "b" * 64
    v1 = tmp_path / "v1"
    for c, state in ((cid, "FROZEN"), (other, "THAWED")):
        (v1 / "freezer" / "docker" / c).mkdir(parents=True)
        (v1 / "freezer" / "docker" / c / "freezer.state").write_text(state + "\n")
    (v1 / "freezer" / "shikumi").mkdir()
    (v1 / "freezer" / "shikumi" / "freezer.state").write_text("FROZEN\n")
    assert cgroupview.read_cgroups(str(v1)) == {
        "freezer:docker/aaaaaaaaaaaa freezer.state=FROZEN",  # the thawed one: not listed
        "freezer:shikumi freezer.state=FROZEN",
    }
    v2 = tmp_path / "v2"
    scope = v2 / "system.slice" / f"docker-{cid}.scope"
    scope.mkdir(parents=True)
    (v2 / "system.slice" / "docker-short.scope").mkdir()  # not a container id
    for d in (v2, v2 / "system.slice", scope):
        (d / "cgroup.subtree_control").write_text("")
    (scope / "cgroup.freeze").write_text("0\n")
    assert cgroupview.read_cgroups(str(v2)) == set()
    (scope / "cgroup.freeze").write_text("1\n")
    assert cgroupview.read_cgroups(str(v2)) == {"unified:docker/aaaaaaaaaaaa cgroup.freeze=1"}


def test_a_kind_not_read_is_not_compared() -> None:
    a = changes.Snapshot({"files": frozenset({"x"})})
    b = changes.Snapshot({"mounts": frozenset({"/m (tmpfs t)"})}, errors={"files": "gone"})
    assert changes.diff(a, b) == []
    many = changes.Snapshot({"files": frozenset(f"f{i}" for i in range(300))})
    out = changes.diff(changes.Snapshot({"files": frozenset()}), many, limit=10)
    assert len(out) == 11 and out[-1].text == "… and 290 more changes"


def test_a_file_in_a_containers_own_tmpfs_is_a_change(tmp_path: Path) -> None:
    """`docker run --read-only --tmpfs /tmp` (lesson 14): the tmpfs exists only in
    the container's mount namespace, so the host's path to its root shows an empty
    /tmp. The snapshot walks the container's own writable mounts through
    /proc/PID/root and shows them as `NAME:/tmp/…`. A real chroot in a real mount
    namespace (busybox: static, so the root needs nothing else)."""
    import shutil

    import pytest

    if os.geteuid() != 0 or shutil.which("busybox") is None:
        pytest.skip("needs root (a mount namespace, a tmpfs) and busybox")
    from lab.host.nsview import inner_mounts

    root = tmp_path / "root"
    for d in ("bin", "tmp", "proc"):
        (root / d).mkdir(parents=True)
    shutil.copy(shutil.which("busybox"), root / "bin" / "busybox")
    box = subprocess.Popen(
        ["unshare", "--mount", "--propagation", "private", "--fork", "sh", "-c",
         'mount -t tmpfs -o size=1m tmpfs "$0/tmp" && mount -t proc proc "$0/proc" '
         '&& exec chroot "$0" /bin/busybox sleep 30', str(root)],
    )  # fmt: skip
    try:
        pid = 0
        for _ in range(250):  # until the chroot has happened (the forked child's root)
            kids = Path(f"/proc/{box.pid}/task/{box.pid}/children").read_text().split()
            if kids and os.readlink(f"/proc/{kids[0]}/root") == str(root):
                pid = int(kids[0])
                break
            time.sleep(0.02)
        assert pid, "the container never reached its chroot"
        assert inner_mounts(pid) == ["/tmp"]  # not /proc, not its root
        assert inner_mounts(os.getpid()) == []  # the lab's own namespace: nothing extra
        scope = changes.Scope(
            pid=pid, dirs=(str(root),), inside=tuple((f"/proc/{pid}/root{m}", f"box:{m}") for m in inner_mounts(pid))
        )  # fmt: skip
        a = changes.take(scope)
        Path(f"/proc/{pid}/root/tmp/ok.txt").write_text("scratch\n")
        assert not (root / "tmp" / "ok.txt").exists()  # the host's path: nothing there
        got = [str(c) for c in changes.diff(a, changes.take(scope)) if c.kind == "files"]
        assert got == ["+ files: box:/tmp/ok.txt (8 B)"]
    finally:
        if pid:  # the chrooted sleep: unshare's child, not ended by ending unshare
            os.kill(pid, 9)
        box.kill()
        box.wait(5)


def test_dockers_lines_name_an_image_by_tag_else_by_digest_else_by_id() -> None:
    """The Engine API's answers as Docker 20.10 gives them for: an image with a tag,
    one pulled by digest (lesson 22: no tag, `<none>:<none>` on 20.10), a dangling one;
    a paused container (its Status, "Up 3 seconds (Paused)", would change at every look)."""
    from lab.host import dockerview

    d = "sha256:" + "0123456789abcdef" * 4
    lines = dockerview.image_lines(
        [
            {"Id": "sha256:" + "a" * 64, "RepoTags": ["web:1", "web:latest"], "RepoDigests": []},
            {"Id": "sha256:" + "b" * 64, "RepoTags": ["<none>:<none>"],
             "RepoDigests": [f"127.0.0.1:5022/shikumi/hello@{d}"]},
            {"Id": "sha256:" + "c" * 64, "RepoTags": None, "RepoDigests": None},
        ]
    )  # fmt: skip
    assert lines == {
        "image web:1",
        "image web:latest",
        "image 127.0.0.1:5022/shikumi/hello@sha256:0123456789ab",
        "image sha256:cccccccccccc (no name)",
    }
    paused = {"Names": ["/shikumi-l23-web"], "Image": "web:1", "State": "paused",
              "Status": "Up 3 seconds (Paused)"}  # fmt: skip
    assert dockerview.container_lines([paused]) == {"container shikumi-l23-web (web:1) paused"}
