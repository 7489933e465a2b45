"""safe_rmtree walks by directory file descriptors: no symlink is ever followed,
no mount is crossed (a bind mount of the same filesystem included), nothing
outside the home is touched."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from lab.host import mounts
from lab.safety import remove
from lab.safety.home import ensure_home
from lab.safety.remove import safe_rmtree
from tests.support import need_root, need_tool


def _sentinel(tmp_path: Path) -> Path:
    s = tmp_path / "sentinel"
    (s / "sub").mkdir(parents=True)
    (s / "keep.txt").write_text("outside the home")
    (s / "sub" / "deep.txt").write_text("outside too")
    return s


def _listing(d: Path) -> list[str]:
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return ensure_home(tmp_path / "home")


def test_symlinks_to_outside_are_removed_not_followed(home: Path, tmp_path: Path) -> None:
    sentinel = _sentinel(tmp_path)
    before = _listing(sentinel)
    t = home / "work" / "tree"
    (t / "a" / "b").mkdir(parents=True)
    (t / "a" / "b" / "f").write_text("x")
    (t / "file").write_text("y")
    os.symlink(sentinel, t / "dirlink")  # absolute, to a directory outside
    os.symlink(sentinel / "keep.txt", t / "a" / "filelink")
    os.symlink("../../../../sentinel/sub", t / "a" / "b" / "rellink")  # relative, outside
    os.symlink("/", t / "root")
    os.symlink("nowhere", t / "dangling")
    n = safe_rmtree(str(t), home)
    assert not os.path.lexists(t)
    assert n == 10  # a, a/b, a/b/f, file, 5 links, the top
    assert _listing(sentinel) == before
    assert (sentinel / "keep.txt").read_text() == "outside the home"


def test_a_top_that_is_a_symlink_is_unlinked(home: Path, tmp_path: Path) -> None:
    sentinel = _sentinel(tmp_path)
    os.symlink(sentinel, home / "link")
    assert safe_rmtree(str(home / "link"), home) == 1
    assert not os.path.lexists(home / "link") and (sentinel / "keep.txt").exists()


def test_a_directory_swapped_for_a_symlink_mid_walk_is_unlinked(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: after the walk saw a directory, something replaces it with a
    symlink to outside before the walk opens it."""
    sentinel = _sentinel(tmp_path)
    before = _listing(sentinel)
    t = home / "work" / "rootfs"
    (t / "etc").mkdir(parents=True)
    (t / "etc" / "passwd").write_text("root:x:0:0\n")
    (t / "usr" / "lib").mkdir(parents=True)
    real_open = remove._open_dir
    swapped: list[str] = []

    def racing_open(name: str, dir_fd: int | None) -> int:
        if name in ("etc", "lib") and dir_fd is not None:
            # as a root process inside the container would: rename the dir away,
            # put a symlink to outside in its place
            os.rename(name, f"{name}.moved", src_dir_fd=dir_fd, dst_dir_fd=dir_fd)
            os.symlink(str(sentinel), name, dir_fd=dir_fd)
            swapped.append(name)
        return real_open(name, dir_fd)

    monkeypatch.setattr(remove, "_open_dir", racing_open)
    safe_rmtree(str(t), home)
    assert sorted(swapped) == ["etc", "lib"], "the race was not simulated"
    assert not os.path.lexists(t)
    assert _listing(sentinel) == before, "the walk followed a symlink swapped in"


def test_a_parent_swapped_for_a_symlink_is_refused(home: Path, tmp_path: Path) -> None:
    sentinel = _sentinel(tmp_path)
    (home / "work").mkdir()
    os.symlink(sentinel, home / "work" / "c")
    # is_inside resolves the parent: outside
    with pytest.raises(RuntimeError, match="outside the lab home"):
        safe_rmtree(str(home / "work" / "c" / "sub"), home)
    # and the descriptor walk itself never goes through a symlink (the check raced)
    with pytest.raises(RuntimeError, match="became a symlink"):
        remove._open_parent(str(home / "work" / "c" / "sub" / "x"), home)
    assert (sentinel / "sub" / "deep.txt").exists()


def test_outside_the_home_is_refused(home: Path, tmp_path: Path) -> None:
    sentinel = _sentinel(tmp_path)
    for p in (sentinel, home, home / "journal", home / ".." / "sentinel"):
        with pytest.raises(RuntimeError, match="outside the lab home"):
            safe_rmtree(str(p), home)
    assert (sentinel / "keep.txt").exists() and home.is_dir()


def _is_mount(p: Path) -> bool:
    return any(m.target == str(p) for m in mounts.mounts())  # st_dev cannot see a same-fs bind


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, timeout=30, capture_output=True)


def _umount(target: Path) -> None:
    subprocess.run(["umount", "-l", str(target)], timeout=30, capture_output=True)


@pytest.mark.parametrize("kind", ["bind", "tmpfs"])
def test_mounts_inside_are_left_in_place(home: Path, tmp_path: Path, kind: str) -> None:
    """A bind mount of the same filesystem (same st_dev) and a tmpfs: neither is
    descended into; the rest is removed and the call raises."""
    need_root()
    need_tool("mount", "umount")
    sentinel = _sentinel(tmp_path)
    before = _listing(sentinel)
    t = home / "work" / "c"
    (t / "vol" / "data").mkdir(parents=True)
    (t / "other").mkdir()
    (t / "other" / "f").write_text("z")
    target = t / "vol" / "data"
    if kind == "bind":
        _mount("--bind", str(sentinel), str(target))
        assert os.stat(target).st_dev == os.stat(t).st_dev  # st_dev alone cannot tell
    else:
        _mount("-t", "tmpfs", "-o", "size=1m", "tmpfs", str(target))
        (target / "in-tmpfs").write_text("mounted")
    try:
        with pytest.raises(RuntimeError, match=r"left 1 mounted dir\(s\) in place"):
            safe_rmtree(str(t), home)
        assert _is_mount(target), "the mount was removed"
        assert not (t / "other").exists(), "the rest was not removed"
        if kind == "bind":
            assert _listing(target) == before
        else:
            assert (target / "in-tmpfs").read_text() == "mounted"
    finally:
        _umount(target)
    assert _listing(sentinel) == before
    safe_rmtree(str(t), home)  # once unmounted, it goes
    assert not t.exists()


def test_a_mount_point_top_is_refused(home: Path, tmp_path: Path) -> None:
    need_root()
    need_tool("mount", "umount")
    sentinel = _sentinel(tmp_path)
    target = home / "m"
    target.mkdir()
    _mount("--bind", str(sentinel), str(target))
    try:
        with pytest.raises(RuntimeError, match="mount point"):
            safe_rmtree(str(target), home)
        assert (sentinel / "keep.txt").exists()
    finally:
        _umount(target)
