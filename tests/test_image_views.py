"""The image views of lessons 10–13 — overlay, layers, savexport — with fixed data
(pure, no root) and with real images, containers and tars (as root)."""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path
from types import SimpleNamespace

from rich.console import Console

from lab import views
from lab.host import mounts
from lab.lesson import operations
from lab.ops import overlay
from lab.ops.image import layers
from lab.ops.image import store as images
from lab.ops.image import tars as image_tars
from lab.safety.journal import Journal
from lab.views import layers as layers_view
from lab.views import overlay as overlay_view
from lab.views import savexport
from tests.support import need_root


def text(renderable: object, width: int = 110) -> str:
    c = Console(record=True, width=width, color_system=None)
    c.print(renderable)
    return c.export_text()


def test_views_and_ops_are_registered() -> None:
    assert {"overlay", "layers", "savexport"} <= views.names()
    for name in ("overlay", "layers", "savexport"):
        assert views.get(name).PARAMS
    for op in (
        "image-import",
        "image-build",
        "image-commit",
        "image-save",
        "image-load",
        "image-export",
        "image-rm",
        "container-create",
        "container-run",
        "container-changes",
        "container-rm",
        "docker-run",
        "docker-inspect",
        "docker-commit",
        "docker-save",
        "docker-load",
    ):
        assert op in operations.names()
        assert operations.shown(
            op, {k: "X" for k, (_, req) in operations.params(op).items() if req}
        )


# -- layers: fixed data ------------------------------------------------------------------


def _diff() -> layers.ImageDiff:
    fc = layers.FileChange
    return layers.ImageDiff(
        [
            layers.LayerDiff(
                0,
                "sha256:" + "a" * 64,
                4000,
                "shikumi import test.tar",
                added=[fc("bin", "dir", 0), fc("bin/sh", "file", 4000)],
            ),
            layers.LayerDiff(
                1,
                "sha256:" + "b" * 64,
                3000,
                "/bin/sh -c cp -r /lib /cache",
                added=[fc("cache/libc.so", "file", 3000)],
            ),
            layers.LayerDiff(
                2,
                "sha256:" + "c" * 64,
                0,
                "/bin/sh -c rm -r /cache",
                deleted=[fc("cache", "whiteout", 3000)],
            ),
        ],
        total=7000,
        wasted=3000,
        files=1,
    )


def test_layers_view_fixed_data_en_and_ja() -> None:
    v = layers_view.from_diff(
        _diff(), "many", "0123456789ab", ["/bin/sh"], files=5, config_only=['CMD ["/bin/sh"]']
    )
    assert [r.created_by for r in v.layers] == [
        "shikumi import test.tar",
        "RUN cp -r /lib /cache",
        "RUN rm -r /cache",
    ]
    assert [(r.added, r.modified, r.deleted) for r in v.layers] == [(1, 0, 0), (1, 0, 0), (0, 0, 1)]
    assert v.layers[2].files[0].mark == "D"
    en = text(layers_view.render(v))
    assert "layers: many" in en and "wasted 3.0 kB" in en and "43%" in en
    assert "D /cache" in en and "A /bin/sh" in en and "config only" in en
    ja = text(layers_view.render(v, "ja"))
    assert "レイヤー: many" in ja and "無駄 3.0 kB" in ja and "設定だけ" in ja
    assert "wasted" not in ja


# -- overlay: directories ------------------------------------------------------------------


def _tree(root: Path, files: dict[str, str]) -> None:
    for rel, data in files.items():
        p = root / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(data)


def test_overlay_view_from_plain_dirs(tmp_path: Path) -> None:
    lower, upper = tmp_path / "lower", tmp_path / "upper"
    _tree(lower, {"etc/hostname": "container\n", "etc/passwd": "root\n", "bin/sh": "x"})
    _tree(upper, {"etc/hostname": "web\n", "root/notes.txt": "mine\n"})
    v = overlay_view.build_view(upper, [lower], tmp_path / "merged", False, "t", paths=["/bin/sh"])
    rows = {r.path: r for r in v.rows}
    assert rows["/etc/hostname"].kind == "modified"
    assert rows["/etc/hostname"].lower == "10 B" and rows["/etc/hostname"].upper == "4 B"
    assert rows["/root/notes.txt"].kind == "added" and rows["/root/notes.txt"].lower == ""
    assert rows["/bin/sh"].kind == "unchanged" and rows["/bin/sh"].merged == "1 B"
    assert "/etc" not in rows  # a directory that only leads to a change
    en = text(overlay_view.render(v))
    assert "copy-up" in en and "new" in en and "(not mounted)" in en
    ja = text(overlay_view.render(v, "ja"))
    assert "コピーアップ" in ja and "新規" in ja and "copy-up" not in ja


def test_overlay_view_shows_whiteouts_live(tmp_path: Path) -> None:
    """A real overlay mount: delete and change files through merged, see c 0/0 and copy-up."""
    need_root()
    home = tmp_path / "home"
    with Journal.open(home) as j:
        lower = home / "lower"
        _tree(lower, {"etc/group": "root:x:0:\n", "etc/hostname": "container\n"})
        c = overlay.create(j, [lower], cid="viewtest")
        overlay.mount(j, c)
        (c.merged / "etc/group").unlink()
        (c.merged / "etc/hostname").write_text("web\n")
        (c.merged / "new.txt").write_text("hi\n")
        ctx = SimpleNamespace(
            fill=lambda s: s.replace("{{home}}", str(home)), op_results={}, step_id="s"
        )
        v = overlay_view.collect(ctx, container="viewtest", title="live")
        rows = {r.path: r for r in v.rows}
        assert rows["/etc/group"].kind == "deleted"
        assert rows["/etc/group"].upper == "c 0/0" and rows["/etc/group"].merged == ""
        assert rows["/etc/hostname"].kind == "modified" and rows["/etc/hostname"].merged == "4 B"
        assert rows["/new.txt"].kind == "added"
        assert v.mounted and "type overlay" in v.mount_line
        out = text(overlay_view.render(v))
        assert "c 0/0 whiteout" in out and "(hidden)" in out
        # of = STEP: an op's OverlayContainer works the same
        ctx.op_results["s"] = c
        assert [r.path for r in overlay_view.collect(ctx).rows] == [r.path for r in v.rows]
        overlay.remove(j, c)
    assert not mounts.under(str(home))


# -- savexport: tars -------------------------------------------------------------------------


def _add(tf: tarfile.TarFile, name: str, data: bytes = b"", kind: bytes = tarfile.REGTYPE) -> None:
    ti = tarfile.TarInfo(name)
    ti.type = kind
    ti.size = len(data) if kind == tarfile.REGTYPE else 0
    tf.addfile(ti, io.BytesIO(data) if kind == tarfile.REGTYPE else None)


def _layer(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tf:
        for n, d in files.items():
            _add(tf, n, d)
    return buf.getvalue()


def test_savexport_fixed_tars(tmp_path: Path) -> None:
    l0 = _layer({"bin/sh": b"x" * 100, "etc/passwd": b"root\n"})
    l1 = _layer({"etc/motd": b"hi\n", "usr/bin/.wh.id": b""})
    save = tmp_path / "save.tar"
    with tarfile.open(save, "w") as tf:
        _add(tf, "blobs", kind=tarfile.DIRTYPE)
        _add(tf, "blobs/sha256", kind=tarfile.DIRTYPE)
        _add(tf, "blobs/sha256/" + "a" * 64, l0)
        _add(tf, "blobs/sha256/" + "b" * 64, l1)
        _add(tf, "blobs/sha256/" + "c" * 64, b"{}")
        _add(tf, "blobs/sha256/" + "d" * 64, b"{}")
        man = [
            {
                "Config": "blobs/sha256/" + "c" * 64,
                "RepoTags": ["hello:v2"],
                "Layers": ["blobs/sha256/" + "a" * 64, "blobs/sha256/" + "b" * 64],
            }
        ]
        _add(tf, "manifest.json", json.dumps(man).encode())
        idx = {"manifests": [{"digest": "sha256:" + "d" * 64}]}
        _add(tf, "index.json", json.dumps(idx).encode())
        _add(tf, "oci-layout", b"{}")
    export = tmp_path / "export.tar"
    with tarfile.open(export, "w") as tf:
        for d in ("bin", "etc", "usr", "usr/bin"):
            _add(tf, d, kind=tarfile.DIRTYPE)
        _add(tf, "bin/sh", b"x" * 100)
        _add(tf, "etc/passwd", b"root\n")
        _add(tf, "etc/motd", b"hi\n")
    ctx = SimpleNamespace(op_results={}, step_id="s")
    v = savexport.collect(ctx, save=str(save), export=str(export))
    roles = {e.name[:20]: e.role for e in v.save}
    assert roles["blobs/sha256/" + "a" * 7] == "layer"
    assert roles["blobs/sha256/" + "c" * 7] == "config"
    assert roles["blobs/sha256/" + "d" * 7] == "manifest"
    assert roles["manifest.json"] == "meta"
    assert [e.note for e in v.save if e.role == "layer"] == ["layer 0: 2 files", "layer 1: 2 files"]
    assert v.export_entries == 7 and v.export.files == 3
    assert {c.name for c in v.export.children} == {"bin", "etc", "usr"}
    en = text(savexport.render(v), width=140)
    assert "2 layer(s) + config" in en and "one flat filesystem" in en and "motd" in en
    ja = text(savexport.render(v, "ja"), width=140)
    assert "レイヤー 2 個" in ja and "平らなファイルシステム" in ja


# -- real images ------------------------------------------------------------------------------


def test_views_on_a_real_image_commit_save_export(tmp_path: Path) -> None:
    need_root()
    home = tmp_path / "home"
    with Journal.open(home) as j:
        src = home / "src"
        _tree(src, {"etc/passwd": "root:x:0:0::/:/bin/sh\n", "etc/hostname": "c\n"})
        base = images.import_dir(j, src, "viewbase")
        c = images.new_container(j, base)
        (c.merged / "etc/passwd").unlink()
        (c.merged / "etc/motd").write_text("made by hand\n")
        v2 = images.commit(j, c, "viewbase:v2", base)
        lv = layers_view.from_image(v2)
        assert len(lv.layers) == 2
        marks = {(f.mark, f.path) for f in lv.layers[1].files}
        assert ("D", "etc/passwd") in marks and ("A", "etc/motd") in marks
        assert lv.wasted == len("root:x:0:0::/:/bin/sh\n")
        save = home / "save.tar"
        image_tars.save(home, ["viewbase:v2"], save)
        export = home / "export.tar"
        image_tars.export_container(c, export)
        v = savexport.collect(SimpleNamespace(), save=str(save), export=str(export))
        assert sum(1 for e in v.save if e.role == "layer") == 2
        assert sum(1 for e in v.save if e.role == "config") == 1
        names = {n.name for n in v.export.children}
        assert "etc" in names
        etc = next(n for n in v.export.children if n.name == "etc")
        assert {n.name for n in etc.children} == {"hostname", "motd"}
        overlay.remove(j, c)
    assert not mounts.under(str(home))
    assert not os.path.exists(home / "containers" / c.id)
