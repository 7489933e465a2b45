"""Lab operations for lessons 10–12: the image store — import, commit, build, save,
load, export, rm — each shown as the commands a learner would type (``describe``)
and returning the typed data of ``lab.ops`` (an ``Image``, a ``BuildResult``…) for
the ``layers`` and ``savexport`` views (``of = STEP``). Registered in
``lab.lesson.operations``; containers are in ``ops_containers``, the real Docker in
``ops_docker``.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lab.errors import LabError
from lab.lesson.op_result import kb as _kb
from lab.lesson.op_result import result as _result
from lab.lesson.op_result import set_out as _set_out
from lab.lesson.op_result import strs as _strs
from lab.lesson.ops_containers import find_container
from lab.ops.image import build, layers, oci
from lab.ops.image import store as images
from lab.ops.image import tars as image_tars
from lab.safety.home import require_inside
from lab.safety.journal import Journal


def image_summary(im: images.Image) -> str:
    return (
        f"{im.name or '<untagged>'}: id {oci.short(im.id)}, {len(im.layers)} layer(s), "
        f"{_kb(im.size)}"
    )


# -- images -------------------------------------------------------------------------------


class ImageImport:
    """`docker import`: a rootfs tar (or directory) becomes a one-layer image."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "src": (str, True),  # a tar, or a directory
        "name": (str, True),
        "cmd": (list, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        src, name = p["src"], p["name"]
        lines = [
            f"# docker import {src} {name}   — by hand, into the lab's image store:",
            "cd $SHIKUMI_HOME/images",
        ]
        if not str(src).endswith(".tar"):
            lines.append(f"tar -C {src} -cf layer.tar .")
            src = "layer.tar"
        lines += [
            f"d=$(sha256sum {src} | cut -c1-64); cp {src} blobs/sha256/$d   # the layer",
            "# config.json: Cmd, Env, history, rootfs.diff_ids=[sha256:$d] → blobs/sha256/…",
            "# manifest: the config's digest + the layer's digest → blobs/sha256/…",
            f"# index.json: the manifest, named {name}",
        ]
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        src = Path(p["src"])
        cmd = _strs(p.get("cmd")) or None
        if src.is_dir():
            im = images.import_dir(journal, src, str(p["name"]), cmd)
        elif src.is_file():
            im = images.import_tar(journal, src, str(p["name"]), cmd)
        else:
            raise LabError(f"{src} does not exist (build the rootfs tar first)")
        images.cleanup_tmp(journal.home)
        _set_out(ctx, oci.short(im.id))
        return _result(f"imported {src.name} as {image_summary(im)}", im)


class ImageCommit:
    """`docker commit`: a container's upper becomes one more layer of a new image."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "container": (str, True),
        "name": (str, True),
        "cmd": (list, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        c = f"$SHIKUMI_HOME/containers/{p['container']}"
        return "\n".join(
            [
                f"# docker commit {p['container']} {p['name']}   — by hand:",
                "# the upper, whiteouts (c 0/0) written as .wh.NAME entries:",
                f"tar -C {c}/upper -cf layer.tar .",
                "d=$(sha256sum layer.tar | cut -c1-64); cp layer.tar $SHIKUMI_HOME/images/blobs/sha256/$d",
                "# a new config (the old one + diff_id sha256:$d + a history line) and manifest",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        c = find_container(journal, str(p["container"]))
        base = images.get(journal.home, c.image) if c.image else None
        cmd = _strs(p.get("cmd")) or None
        im = images.commit(journal, c, str(p["name"]), base, cmd=cmd)
        images.cleanup_tmp(journal.home)
        new = im.layers[-1]
        _set_out(ctx, oci.short(im.id))
        return _result(
            f"committed the upper of {c.id} as {image_summary(im)}\n"
            f"the new layer: {oci.short(new.digest)}, {_kb(new.size)}",
            im,
        )


@dataclass
class BuildOutcome:
    result: build.BuildResult
    analysis: layers.ImageDiff


class ImageBuild:
    """`docker build` by hand: each RUN / COPY one layer, CMD / ENV / WORKDIR config only."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "context": (str, True),
        "name": (str, True),
        "dockerfile": (str, False),  # a path (default CONTEXT/Dockerfile)
    }

    def describe(self, p: dict[str, Any]) -> str:
        df = p.get("dockerfile") or f"{p['context']}/Dockerfile"
        return "\n".join(
            [
                f"# docker build -t {p['name']} -f {df} {p['context']}   — by hand, per instruction:",
                "#  FROM X   the lowers = X's layers (unpacked under $SHIKUMI_HOME/layers)",
                "#  RUN cmd  mount -t overlay overlay -o lowerdir=…,upperdir=U,workdir=W M",
                "#           unshare -m -u -i -p -n --fork --root M --mount-proc /bin/sh -c 'cmd'",
                "#           tar -C U -cf layer.tar .   → one more layer",
                "#  COPY a b tar of the copied files → one more layer",
                "#  CMD/ENV/WORKDIR  change the config only (an empty_layer history line)",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        context = Path(p["context"])
        df = Path(p["dockerfile"]) if p.get("dockerfile") else None
        res = build.build(journal, context, str(p["name"]), df)
        images.cleanup_tmp(journal.home)
        an = images.analyze(res.image)
        lines = []
        for s in res.steps:
            what = (
                f"layer {oci.short(s.layer.digest)} {_kb(s.layer.size)}"
                if s.layer
                else "config only"
            )
            lines.append(f"[{s.stage}] {s.instruction:<44} → {what}")
            lines += [f"    {ln}" for ln in s.output.strip().splitlines()[:3]]
        im = res.image
        lines.append(
            f"built {image_summary(im)} from {sum(1 for s in res.steps)} instructions; "
            f"wasted {_kb(an.wasted)}"
        )
        _set_out(ctx, str(len(im.layers)))
        return _result("\n".join(lines), BuildOutcome(res, an))


class ImageSave:
    """`docker save`: layers, config, manifest and index in one tar (Docker 25+ layout)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"images": (list, True), "tar": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        names = " ".join(_strs(p["images"]))
        return "\n".join(
            [
                f"# docker save -o {p['tar']} {names}   — by hand:",
                f"tar -C $SHIKUMI_HOME/images -cf {p['tar']} blobs index.json oci-layout",
                "# + manifest.json ([{Config, RepoTags, Layers}]) and repositories, for docker load",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        out = require_inside(p["tar"], journal.home)
        out.parent.mkdir(parents=True, exist_ok=True)
        r = image_tars.save(journal.home, _strs(p["images"]), out)
        return _result(
            f"saved {', '.join(r.images)} to {out}: {_kb(r.size)}, {len(r.members)} entries", r
        )


class ImageLoad:
    """`docker load`: the images of a `docker save` tar (either layout) into the store."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"tar": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        return "\n".join(
            [
                f"# docker load -i {p['tar']}   — by hand:",
                f"tar -xOf {p['tar']} manifest.json    # Config, RepoTags, Layers of each image",
                "# each layer and the config → $SHIKUMI_HOME/images/blobs/sha256/<its sha256>;",
                "# the layers' digests must equal the config's rootfs.diff_ids",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        loaded = image_tars.load(journal, Path(p["tar"]))
        images.cleanup_tmp(journal.home)
        return _result("\n".join(f"loaded {image_summary(im)}" for im in loaded), loaded)


class ImageRm:
    """`docker rmi`: untag the image, then delete the blobs no other image uses."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"name": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        return "\n".join(
            [
                f"# docker rmi {p['name']}   — by hand:",
                f"# drop {p['name']} from $SHIKUMI_HOME/images/index.json, then",
                "# rm every blobs/sha256/* that no other image's manifest names",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        im = images.get(journal.home, str(p["name"]))
        images.remove(journal, str(p["name"]))
        return _result(f"removed {im.name} (id {oci.short(im.id)})", im)


@dataclass
class ExportResult:
    tar: str
    size: int
    entries: int
    source: str


class ImageExport:
    """`docker export`: the merged filesystem as one flat tar (of an image or a container)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "tar": (str, True),
        "image": (str, False),
        "container": (str, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        if p.get("container"):
            m = f"$SHIKUMI_HOME/containers/{p['container']}/merged"
            return f"# docker export -o {p['tar']} {p['container']}   — by hand:\ntar -C {m} -cf {p['tar']} ."
        return "\n".join(
            [
                f"# docker export of a container of {p.get('image', '')}   — by hand:",
                "# mount its layers as one overlay (no upper needed), then tar what it shows:",
                "mount -t overlay overlay -o lowerdir=LAYER_N:…:LAYER_1 M",
                f"tar -C M -cf {p['tar']} .",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        out = require_inside(p["tar"], journal.home)
        out.parent.mkdir(parents=True, exist_ok=True)
        if p.get("container"):
            c = find_container(journal, str(p["container"]))
            n = len(image_tars.export_container(c, out).entries)
            src = f"the container {c.id}"
        elif p.get("image"):
            n = image_tars.export(journal.home, str(p["image"]), out)
            src = f"the image {p['image']}"
        else:
            raise LabError("image-export needs image = NAME or container = ID")
        size = out.stat().st_size
        return _result(
            f"exported {src} to {out}: {n} entries, {_kb(size)}, one flat filesystem",
            ExportResult(str(out), size, n, src),
        )


OPS: dict[str, Any] = {
    "image-import": ImageImport(),
    "image-commit": ImageCommit(),
    "image-build": ImageBuild(),
    "image-save": ImageSave(),
    "image-load": ImageLoad(),
    "image-export": ImageExport(),
    "image-rm": ImageRm(),
}
