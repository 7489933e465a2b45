"""The image store: import, commit, save, load, export, layer analysis."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.host import mounts
from lab.ops import overlay, rootfs
from lab.ops.image import layers, oci
from lab.ops.image import store as images
from lab.ops.image import tars as image_tars
from lab.safety.journal import Journal
from tests.support import need_root, need_tool

GREET = {"/etc/greeting": "hello from the lab\n"}


@pytest.fixture()
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "home") as j:
        yield j
    assert not mounts.under(str(tmp_path / "home"))


@pytest.fixture()
def base(journal: Journal) -> images.Image:
    need_root()
    need_tool("ldd", "unshare")
    r = rootfs.build(
        journal, journal.home / "rootfs", programs=[*rootfs.DEFAULT_PROGRAMS, "rm"], scripts=GREET
    )
    return images.import_dir(journal, r.root, "shikumi-base", cmd=["/bin/cat", "/etc/greeting"])


def test_oci_pieces() -> None:
    assert oci.split_name("a/b:v1") == ("a/b", "v1")
    assert oci.split_name("localhost:5000/x") == ("localhost:5000/x", "latest")
    assert images.docker_name("hello") == "docker.io/library/hello:latest"
    assert images.docker_name("me/hello:v2") == "docker.io/me/hello:v2"
    with pytest.raises(ValueError):
        oci.check_digest("sha256:../../etc")
    c = oci.ImageConfig(cmd=["sh"], working_dir="/w")
    c.set_env("A", "1")
    back = oci.ImageConfig.from_json(json.loads(oci.canonical(c.to_json())))
    assert back.cmd == ["sh"] and back.env_dict()["A"] == "1" and back.working_dir == "/w"


def test_import_commit_save_load_export(
    journal: Journal, base: images.Image, tmp_path: Path
) -> None:
    home = journal.home
    assert len(base.layers) == 1 and base.config.diff_ids == [base.layers[0].digest]
    assert images.get(home, "shikumi-base").id == base.id
    assert images.get(home, oci.hex_of(base.id)[:12]).name == "shikumi-base:latest"
    # the blobs are named by their digests
    for d in [*base.layers]:
        assert oci.sha256_file(images.Layout(base.store).blob(d.digest)) == d.digest
    assert (home / "images" / "oci-layout").exists()

    out = images.run(journal, base)
    assert out.returncode == 0 and out.output == "hello from the lab\n", out

    # commit: change, delete and add in a container, then its upper becomes layer 2
    c = images.new_container(journal, base)
    (c.merged / "etc" / "greeting").write_text("changed\n")
    (c.merged / "etc" / "hostname").unlink()
    (c.merged / "aaa.txt").write_text("hello\n")
    overlay.unmount(journal, c)
    two = images.commit(journal, c, "shikumi-two", base, created_by="echo hello > aaa.txt")
    overlay.remove(journal, c)
    assert [d.digest for d in two.layers[:1]] == [d.digest for d in base.layers]
    assert len(two.layers) == 2 and len(two.config.history) == 2
    assert two.config.cmd == ["/bin/cat", "/etc/greeting"]
    assert images.run(journal, two).output == "changed\n"
    assert images.run(journal, two, ["/bin/ls", "/etc"]).output.split() == [
        "greeting",
        "group",
        "passwd",
    ]

    diff = images.analyze(two)
    assert [x.path for x in diff.layers[1].added] == ["aaa.txt"]
    assert [x.path for x in diff.layers[1].modified] == ["etc/greeting"]
    assert [x.path for x in diff.layers[1].deleted] == ["etc/hostname"]
    assert diff.layers[1].created_by == "echo hello > aaa.txt"
    assert diff.wasted == len("hello from the lab\n") + len("container\n")

    # save: an OCI layout plus manifest.json and repositories
    saved = image_tars.save(home, ["shikumi-two"], tmp_path / "two.tar")
    assert {"oci-layout", "index.json", "manifest.json", "repositories"} <= set(saved.members)
    with tarfile.open(saved.path) as tf:
        man = json.load(tf.extractfile("manifest.json"))
        idx = json.load(tf.extractfile("index.json"))
        repos = json.load(tf.extractfile("repositories"))
    assert man[0]["RepoTags"] == ["shikumi-two:latest"] and len(man[0]["Layers"]) == 2
    assert man[0]["Config"] == f"blobs/sha256/{oci.hex_of(two.id)}"
    assert (
        idx["manifests"][0]["annotations"][oci.IMAGE_NAME] == "docker.io/library/shikumi-two:latest"
    )
    assert repos == {"shikumi-two": {"latest": oci.hex_of(two.layers[-1].digest)}}

    # load it into another home: the same image, bit for bit
    with Journal.open(tmp_path / "other") as j2:
        (got,) = image_tars.load(j2, saved.path)
        assert got.id == two.id and [d.digest for d in got.layers] == [d.digest for d in two.layers]
        assert got.name == "shikumi-two:latest"
        assert images.run(j2, got).output == "changed\n"

    # export: one flat tar of the merged filesystem, no whiteouts
    n = image_tars.export(home, "shikumi-two", tmp_path / "flat.tar")
    with tarfile.open(tmp_path / "flat.tar") as tf:
        names = {layers.norm(x) for x in tf.getnames()}
        assert tf.extractfile("etc/greeting").read() == b"changed\n"
    assert (
        "aaa.txt" in names and "etc/hostname" not in names and not any(".wh." in x for x in names)
    )
    assert n == len(names)
    # ... and importing it makes a single-layer image again
    flat = images.import_tar(
        journal, tmp_path / "flat.tar", "shikumi-flat", cmd=["/bin/cat", "/aaa.txt"]
    )
    assert len(flat.layers) == 1 and images.run(journal, flat).output == "hello\n"

    # rmi: untag, and the blobs no image uses go
    images.remove(journal, "shikumi-flat")
    assert not images.Layout(flat.store).has(flat.layers[0].digest)
    assert images.Layout(two.store).has(two.layers[0].digest)
    with pytest.raises(LabError):
        images.get(home, "shikumi-flat")


def _tar(path: Path, members: list[tuple[tarfile.TarInfo, bytes]]) -> Path:
    with tarfile.open(path, "w") as tf:
        for ti, data in members:
            ti.size = len(data) if ti.isreg() else 0
            tf.addfile(ti, io.BytesIO(data) if ti.isreg() else None)
    return path


def _ti(name: str, kind: bytes = tarfile.REGTYPE, link: str = "") -> tarfile.TarInfo:
    ti = tarfile.TarInfo(name)
    ti.type, ti.linkname, ti.mode = kind, link, 0o644
    return ti


def test_unpack_refuses_escapes(tmp_path: Path) -> None:
    dest = tmp_path / "d"
    dest.mkdir()
    evil = _tar(tmp_path / "a.tar", [(_ti("../x"), b"x")])
    with pytest.raises(LabError):
        layers.unpack(evil, dest)
    via = _tar(
        tmp_path / "b.tar",
        [(_ti("up", tarfile.SYMTYPE, str(tmp_path)), b""), (_ti("up/pwned"), b"x")],
    )
    with pytest.raises(LabError):
        layers.unpack(via, dest, whiteouts="apply")
    assert not (tmp_path / "pwned").exists()
    # a symlink left by a lower layer is not written through either
    (dest / "lnk").symlink_to(tmp_path)
    later = _tar(tmp_path / "c.tar", [(_ti("lnk/pwned"), b"x")])
    with pytest.raises(LabError):
        layers.unpack(later, dest, whiteouts="apply")
    # a file replacing a symlink replaces the link, not its target
    (tmp_path / "victim").write_text("safe")
    (dest / "f").symlink_to(tmp_path / "victim")
    layers.unpack(_tar(tmp_path / "e.tar", [(_ti("f"), b"new")]), dest, whiteouts="apply")
    assert (tmp_path / "victim").read_text() == "safe" and (dest / "f").read_text() == "new"


def test_load_rejects_wrong_digests(journal: Journal, base: images.Image, tmp_path: Path) -> None:
    saved = image_tars.save(journal.home, ["shikumi-base"], tmp_path / "b.tar")
    bad = tmp_path / "bad.tar"
    with tarfile.open(saved.path) as src, tarfile.open(bad, "w") as dst:
        for m in src.getmembers():
            f = src.extractfile(m) if m.isreg() else None
            data = f.read() if f else b""
            if m.name == f"blobs/sha256/{oci.hex_of(base.layers[0].digest)}":
                data = data[:-1024] + b"\0" * 1024 + b"\0" * 512  # a different layer
                m.size = len(data)
            dst.addfile(m, io.BytesIO(data) if m.isreg() else None)
    with Journal.open(tmp_path / "h2") as j2, pytest.raises(LabError, match="diff_ids"):
        image_tars.load(j2, bad)
