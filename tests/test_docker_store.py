"""Docker's two image stores, read without a daemon: what `docker info` says of each, and
the overlay options the containerd store's directories are read from (pure: no kernel).

The real daemons: tests/test_containerd_store.py (a temporary dockerd with the containerd
image store) and tests/test_docker_roundtrip.py (the lab's daemon, either store)."""

from __future__ import annotations

from lab.host import mounts
from lab.ops import docker

# `docker info --format '{{json .DriverStatus}}'`: Docker 20.10 (overlay2) and 26.1 (containerd)
OVERLAY2 = '[["Backing Filesystem","extfs"],["Supports d_type","true"],["Native Overlay Diff","true"],["userxattr","false"]]'
CONTAINERD = '[["driver-type","io.containerd.snapshotter.v1"]]'


def test_the_stores_are_told_apart_from_docker_info() -> None:
    assert docker.parse_store("overlay2\n", OVERLAY2) == docker.ImageStore("overlay2", False)
    assert docker.parse_store("overlayfs", CONTAINERD) == docker.ImageStore("overlayfs", True)
    # a daemon of the containerd store with another snapshotter is still that store
    assert docker.parse_store("native", CONTAINERD).containerd
    # no status at all (older daemons print null), or garbage: a graph driver
    assert docker.parse_store("vfs", "null") == docker.ImageStore("vfs", False)
    assert not docker.parse_store("overlay2", "{not json").containerd


def test_the_store_is_said_in_both_languages() -> None:
    cd = docker.ImageStore("overlayfs", True)
    o2 = docker.ImageStore("overlay2", False)
    assert "containerd" in cd.words() and "overlayfs" in cd.words()
    assert "containerd" in cd.words(ja=True) and "イメージストア" in cd.words(ja=True)
    assert "overlay2" in o2.words() and "グラフドライバー" in o2.words(ja=True)


# the root of a container of the containerd store, as /proc/PID/mountinfo has it
SNAP = "/var/lib/docker/containerd/daemon/io.containerd.snapshotter.v1.overlayfs/snapshots"
ROOT_LINE = (
    f"76 50 0:39 / / rw,relatime master:4 - overlay overlay rw,lowerdir={SNAP}/2/fs:{SNAP}/1/fs,"
    f"upperdir={SNAP}/3/fs,workdir={SNAP}/3/work"
)


def test_the_overlay_options_of_a_containers_root() -> None:
    (root,) = mounts.parse_mountinfo(ROOT_LINE)
    assert root.target == "/" and root.fstype == "overlay"
    opts = docker.overlay_options(root.super_options)
    assert opts == {
        "lowerdir": f"{SNAP}/2/fs:{SNAP}/1/fs",
        "upperdir": f"{SNAP}/3/fs",
        "workdir": f"{SNAP}/3/work",
    }
    assert docker.overlay_options("rw,relatime") == {}


def test_no_process_no_mount() -> None:
    # a container that is not running has no mounted root to read
    assert docker.rootfs_overlay("0" * 64, 0) is None
    assert docker.rootfs_overlay("0" * 64, -1) is None
