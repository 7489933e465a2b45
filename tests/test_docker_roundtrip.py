"""The lab's images and a real dockerd, both ways (no mocks: CI runs dockerd).

lab save -> docker load -> docker run;  docker import + commit -> docker save -> lab load.
"""

from __future__ import annotations

import json
import os
import secrets
import tarfile
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.host import mounts
from lab.ops import docker, overlay, rootfs
from lab.ops.image import layers, oci
from lab.ops.image import store as images
from lab.ops.image import tars as image_tars
from lab.safety.journal import Entry, Journal
from lab.safety.undo import validate
from tests.support import need_docker, need_root, need_tool

GREET = {
    "/etc/greeting": "hello from the lab\n",
    "/opt/bin/hello.sh": "#!/bin/sh\necho hello.sh says hi\n",
}
# what docker adds to every container's filesystem (its init layer, mounts)
DOCKER_ONLY = {
    ".dockerenv",
    "dev",
    "proc",
    "sys",
    "etc/hosts",
    "etc/hostname",
    "etc/resolv.conf",
    "etc/mtab",
}


def _name(what: str) -> str:
    return f"shikumi-test-{what}-{secrets.token_hex(4)}"


@pytest.fixture()
def journal(tmp_path: Path):
    need_root()
    need_docker()
    need_tool("ldd", "unshare")
    j = Journal.open(tmp_path / "home")
    try:
        yield j
    finally:
        report = j.close()  # docker rm -f / rmi -f of everything the test made
        assert report.ok, report.to_json()
    assert not mounts.under(str(tmp_path / "home"))
    left = [
        n
        for n in docker.names("image") + docker.names("container")
        if n.startswith("shikumi-test-")
    ]
    assert not left, f"left behind in docker: {left}"


def _files(tar: Path) -> set[str]:
    with tarfile.open(tar) as tf:
        return {layers.norm(n) for n in tf.getnames()} - {""}


def _names(tar: Path) -> set[str]:
    with tarfile.open(tar) as tf:
        return set(tf.getnames())


def _strip_docker(names: set[str]) -> set[str]:
    return {n for n in names if not any(n == d or n.startswith(d + "/") for d in DOCKER_ONLY)}


def test_lab_save_docker_load_run(journal: Journal, tmp_path: Path) -> None:
    r = rootfs.build(
        journal, journal.home / "rootfs", programs=[*rootfs.DEFAULT_PROGRAMS, "rm"], scripts=GREET
    )
    name = _name("lab")
    base = images.import_dir(journal, r.root, name + "-base", cmd=["/opt/bin/hello.sh"])
    # a second layer with a modified file and a whiteout, made in a by-hand container
    c = images.new_container(journal, base)
    (c.merged / "etc" / "greeting").write_text("changed by the lab\n")
    (c.merged / "etc" / "passwd").unlink()
    overlay.unmount(journal, c)
    im = images.commit(journal, c, name, base, cmd=["/bin/sh", "-c", "cat /etc/greeting; ls /etc"])
    overlay.remove(journal, c)
    assert len(im.layers) == 2

    saved = image_tars.save(journal.home, [name], tmp_path / "lab.tar")
    loaded = docker.load(journal, saved.path)
    assert loaded.images == [f"{name}:latest"], loaded.output
    di = docker.inspect_image(name)
    if docker.image_store().containerd:
        # the containerd store names an image by its manifest (one containerd made of the
        # tar's manifest.json), not by its config: the config is the lab's, byte for byte
        back = docker.save([name], tmp_path / "back.tar")
        assert f"blobs/sha256/{oci.hex_of(im.id)}" in _names(back)
    else:
        assert di.id == im.id  # the same config bytes: the same image ID
    assert di.layers == [d.digest for d in im.layers]
    assert di.cmd == im.config.cmd

    out = docker.run(journal, name, name=_name("run"), rm=True)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.splitlines()
    assert lines[0] == "changed by the lab"  # the modified file, from layer 2
    assert {"greeting", "group"} <= set(lines) and "passwd" not in lines  # the whiteout holds
    hello = docker.run(journal, name, ["/opt/bin/hello.sh"], name=_name("run"), rm=True)
    assert hello.stdout == "hello.sh says hi\n"


def test_docker_save_lab_load(journal: Journal, tmp_path: Path) -> None:
    r = rootfs.build(
        journal, journal.home / "rootfs", programs=[*rootfs.DEFAULT_PROGRAMS, "rm"], scripts=GREET
    )
    tar = tmp_path / "rootfs.tar"
    rootfs.to_tar(r.root, tar)
    base = _name("imp")
    docker.import_tar(journal, tar, base, changes=['CMD ["/bin/cat", "/etc/greeting"]'])
    ctr = _name("ctr")
    run = docker.run(
        journal, base, ["/bin/sh", "-c", "echo hello > /aaa.txt; rm /etc/group"], name=ctr
    )
    assert run.returncode == 0, run.stderr
    committed = _name("commit")
    dimg = docker.commit(journal, ctr, committed, changes=['CMD ["/bin/cat", "/etc/greeting"]'])
    assert len(dimg.layers) == 2

    saved = docker.save([committed], tmp_path / "docker.tar")
    with tarfile.open(saved) as tf:
        names = tf.getnames()
    assert "manifest.json" in names
    assert (
        any(n.endswith("/layer.tar") for n in names) or "index.json" in names
    )  # 20.10: per-layer form

    (im,) = image_tars.load(journal, saved)
    assert im.name == f"{committed}:latest"
    if docker.image_store().containerd:
        # the containerd store's ID is its manifest's digest; the config is the one Docker saved
        with tarfile.open(saved) as tf:
            f = tf.extractfile("manifest.json")
            config = json.loads(f.read())[0]["Config"] if f else ""
        assert config.endswith(oci.hex_of(im.id))
    else:
        assert im.id == dimg.id  # the same config: the same image ID
    assert [d.digest for d in im.layers] == dimg.layers  # the same layers, digest for digest
    assert im.config.cmd == ["/bin/cat", "/etc/greeting"]
    top = images.analyze(im).layers[1]
    assert "aaa.txt" in {x.path for x in top.added}
    assert "etc/group" in {x.path for x in top.deleted}

    # the same files: lab export (layers merged by the lab) vs docker export
    image_tars.export(journal.home, committed, tmp_path / "lab-export.tar")
    dc = _name("exp")
    docker.create(journal, committed, dc)
    docker.export(dc, tmp_path / "docker-export.tar")
    lab_files, docker_files = (
        _files(tmp_path / "lab-export.tar"),
        _files(tmp_path / "docker-export.tar"),
    )
    assert _strip_docker(lab_files) == _strip_docker(docker_files)
    assert "aaa.txt" in lab_files and "etc/group" not in lab_files

    # and the loaded image runs the lab's way
    assert images.run(journal, im).output == "hello from the lab\n"
    assert images.run(journal, im, ["/bin/cat", "/aaa.txt"]).output == "hello\n"


def test_graphdriver_beside_the_lab(journal: Journal) -> None:
    r = rootfs.build(journal, journal.home / "rootfs", scripts=GREET)
    name = _name("gd")
    images.import_dir(journal, r.root, name)
    tar = journal.home / "r.tar"
    rootfs.to_tar(r.root, tar)
    docker.import_tar(journal, tar, name)
    ctr = _name("sleep")
    out = docker.run(journal, name, ["/bin/sleep", "30"], name=ctr, detach=True)
    assert out.returncode == 0, out.stderr
    info = docker.inspect_container(ctr)
    assert info.running and info.pid > 0
    if docker.image_store().containerd:  # inspect has no directories: the mount has them
        assert info.graph.source == "mount" and info.graph.upper.endswith("/fs")
        assert info.graph.merged.endswith(f"/rootfs/overlayfs/{info.id}")
    else:
        assert info.graph.name == "overlay2" and info.graph.source == "inspect"
        assert info.graph.upper.endswith("/diff") and info.graph.merged.endswith("/merged")
    assert len(info.graph.lower) >= 2  # the image layer and the container's init layer
    # either way, they are the overlay the kernel mounted for it
    (m,) = [x for x in mounts.mounts() if x.target == info.graph.merged]
    assert m.fstype == "overlay"
    assert docker.overlay_options(m.super_options)["upperdir"] == info.graph.upper
    # the lab's own container: the same three roles
    c = images.new_container(journal, images.get(journal.home, name))
    assert c.mount_data().startswith("lowerdir=") and f"upperdir={c.upper}" in c.mount_data()
    overlay.remove(journal, c)
    docker.rm(journal, ctr)
    assert ctr not in docker.names("container")


def test_journal_kinds_for_docker(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    assert validate(Entry(1, "docker-image", "shikumi-x:latest"), home) == ""
    assert validate(Entry(1, "docker-container", "shikumi-x"), home) == ""
    assert validate(Entry(1, "docker-image", "alpine:latest"), home)
    assert validate(Entry(1, "docker-container", "mine"), home)
    with Journal.open(home) as j, pytest.raises(LabError):
        j.record("docker-image", "debian:12")
    need_docker()
    need_root()
    need_tool("ldd")
    # a session that dies with a docker image made: cleanup removes it
    j = Journal.open(home)
    r = rootfs.build(j, home / "rootfs", programs=["sh"])
    tar = tmp_path / "r.tar"
    rootfs.to_tar(r.root, tar)
    name = _name("crash")
    docker.import_tar(j, tar, name)
    assert f"{name}:latest" in docker.names("image")
    j.close(undo=False)
    from lab.safety.journal import recover

    report = recover(home)
    assert report.ok, report.to_json()
    assert f"{name}:latest" not in docker.names("image")
    assert oci.short(oci.sha256_bytes(b"")) == "e3b0c44298fc"


def test_what_changed_lists_dockers_images_and_containers(journal: Journal, tmp_path: Path) -> None:
    """A `docker tag` and a `docker create` are What changed's `docker` lines: read
    over the daemon's socket, as the learner's try in lessons 12, 13, 22 and 23 makes
    them (their files are in Docker's own store, which the files walk does not enter)."""
    from lab.host.dockerhost import docker_socket
    from lab.ops import changes

    sock = docker_socket(docker.env())
    assert sock, "the daemon need_docker found has a unix socket"
    r = rootfs.build(journal, journal.home / "rootfs", scripts=GREET)
    tar = tmp_path / "rootfs.tar"
    rootfs.to_tar(r.root, tar)
    base = _name("snap")
    docker.import_tar(journal, tar, base)
    scope = changes.Scope(pid=os.getpid(), kinds=("docker",), docker=sock)
    a = changes.take(scope)
    assert f"image {base}:latest" in a.get("docker"), a.errors
    ctr = _name("ctr")
    docker.create(journal, base, ctr, ["/bin/true"])
    docker.docker(["tag", base, f"{base}:two"])
    try:
        got = [str(c) for c in changes.diff(a, changes.take(scope))]
    finally:
        docker.docker(["rmi", f"{base}:two"], check=False)
    assert f"+ docker: image {base}:two" in got, got
    assert f"+ docker: container {ctr} ({base}) created" in got, got
    # no socket named: the kind is not read at all (a lesson without Docker)
    assert "docker" not in changes.take(changes.Scope(pid=os.getpid(), kinds=("docker",))).kinds


def _busybox_tar(tmp_path: Path) -> tuple[Journal, Path]:
    """A journal of its own (closed by the test, to see what its undo leaves) and a
    busybox rootfs as a tar, for `docker import`."""
    need_root()
    need_docker()
    j = Journal.open(tmp_path / "home")
    r = rootfs.build_busybox(j, j.home / "rootfs")
    tar = tmp_path / "bb.tar"
    rootfs.to_tar(r.root, tar)
    return j, tar


def test_a_committed_image_in_use_leaves_no_dangling_image(tmp_path: Path) -> None:
    """Lesson 15's order: the journal notes the learner's containers and image (`op
    expect`), then imports the base; the learner runs, commits, runs the commit.
    Undone newest first, `docker rmi -f` met images still in use (by the running
    container, by the commit), untagged them and left them dangling: 54 `<none>`
    images piled up on this machine. The containers go first now, so each image is
    really removed, its untagged parent with it."""
    j, tar = _busybox_tar(tmp_path)
    c1, c2, devel, base = _name("web1"), _name("web2"), _name("devel") + ":devel", _name("bb")
    j.record("docker-container", c1)
    j.record("docker-container", c2)
    j.record("docker-image", devel)
    bb = docker.import_tar(j, tar, base)
    ids = {bb.id}
    try:
        assert docker.docker(["run", "--name", c1, "--network", "none", base, "sh", "-c",
                              "echo page > /index.html"]).returncode == 0  # fmt: skip
        assert docker.docker(["commit", c1, devel]).returncode == 0
        ids.add(docker.inspect_image(devel).id)
        assert docker.docker(["run", "-d", "--name", c2, "--network", "none", devel,
                              "sleep", "600"]).returncode == 0  # fmt: skip
    finally:
        report = j.close()
    assert report.ok, report.to_json()
    left = [i for i in ids if docker.docker(["image", "inspect", i], check=False).returncode == 0]
    assert left == [], f"images left behind, untagged: {left}"


def test_a_build_left_without_its_tag_goes_with_the_labs_base_image(tmp_path: Path) -> None:
    """`docker build` FROM the lab's image, its client killed before the tag (lesson 11,
    the kill harness's find): the build's last image and each step's are left with no
    name. `docker build` without `-t` leaves exactly that. Undoing the base removes
    them first; an image with a name built on it is not the lab's to remove."""
    j, tar = _busybox_tar(tmp_path)
    base = _name("base")
    docker.import_tar(j, tar, base)
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "hello.sh").write_text("echo hi\n")
    (ctx / "Dockerfile").write_text(
        f'FROM {base}\nCOPY hello.sh /work/\nCMD ["/bin/sh", "/work/hello.sh"]\n'
    )
    kept = _name("kept")
    try:
        built = docker.docker(["build", "-q", str(ctx)])
        assert built.returncode == 0, built.stderr
        nameless = built.stdout.strip().splitlines()[-1]
        every = docker.docker(["images", "-a", "-q", "--no-trunc"]).stdout.split()
        assert nameless in every
        # another image with a name, on the same base (its COPY step cached: shared)
        (ctx / "Dockerfile").write_text(f'FROM {base}\nCOPY hello.sh /work/\nCMD ["/bin/cat"]\n')
        assert docker.docker(["build", "-q", "-t", kept, str(ctx)]).returncode == 0
    finally:
        report = j.close()
    try:
        assert report.ok, report.to_json()
        left = docker.docker(["images", "-a", "-q", "--no-trunc"]).stdout.split()
        assert nameless not in left, "the nameless build stayed"
        assert docker.docker(["image", "inspect", kept], check=False).returncode == 0
    finally:
        docker.docker(["rmi", kept], check=False)


def test_a_throwaway_container_the_journal_never_named_does_not_keep_the_labs_image(
    tmp_path: Path,
) -> None:
    """`docker run --rm IMAGE` whose client a kill ended runs on, nameless to the lab;
    `docker rmi -f` would only untag the image it uses. The image's undo removes such a
    throwaway (`--rm`) container first; one with a name of its own and no `--rm` is the
    learner's and stays (tests/test_lesson_23.py: only disconnected from the network)."""
    j, tar = _busybox_tar(tmp_path)
    base = _name("base")
    image = docker.import_tar(j, tar, base)
    try:
        run = docker.docker(["run", "-d", "--rm", "--network", "none", base, "sleep", "600"])
        assert run.returncode == 0, run.stderr
        cid = run.stdout.strip()
    finally:
        report = j.close()
    assert report.ok, report.to_json()
    assert docker.docker(["container", "inspect", cid], check=False).returncode != 0
    assert docker.docker(["image", "inspect", image.id], check=False).returncode != 0
