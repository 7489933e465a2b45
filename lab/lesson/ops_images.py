"""Lab operations for lessons 10–13: images, overlay containers, build, commit,
save / load / export, and the real Docker beside them.

Registered in ``lab.lesson.operations``. Each one shows the commands a learner
would type for the same result (``describe``) and returns the typed data of
``lab.ops`` (an ``Image``, an ``OverlayContainer``, a ``BuildResult``…) for the
``overlay``, ``layers`` and ``savexport`` views (``of = STEP``).

Lab containers are found by id: those made in this run (with their journal
entries, so ``container-rm`` undoes exactly them), else the directory under
HOME/containers.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, ClassVar

from lab.errors import LabError
from lab.ops import build, images, layers, oci, overlay
from lab.ops.home import require_inside
from lab.ops.journal import Journal

# containers made by container-create in this process, by (home, id)
_MADE: dict[tuple[str, str], overlay.OverlayContainer] = {}


def _result(summary: str, data: Any) -> Any:
    from lab.lesson.operations import OpResult  # here: operations imports this module

    return OpResult(summary, data)


def _set_out(ctx: Any, value: str) -> None:
    """Give the step a value for ``{{out.STEP}}``, as a `run` does with its stdout."""
    vars_ = getattr(ctx, "vars", None)
    if vars_ is not None and getattr(ctx, "step_id", ""):
        vars_.outs[ctx.step_id] = value


def _kb(n: int) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.1f} kB"


def _strs(v: Any) -> list[str]:
    return [str(x) for x in v or []]


def find_container(journal: Journal, cid: str) -> overlay.OverlayContainer:
    c = _MADE.get((str(journal.home), cid))
    if c is not None and c.dir.is_dir():
        return c
    return overlay.open_container(journal, cid)


def _image_summary(im: images.Image) -> str:
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
        return _result(f"imported {src.name} as {_image_summary(im)}", im)


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
            f"committed the upper of {c.id} as {_image_summary(im)}\n"
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
            f"built {_image_summary(im)} from {sum(1 for s in res.steps)} instructions; "
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
        r = images.save(journal.home, _strs(p["images"]), out)
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
        loaded = images.load(journal, Path(p["tar"]))
        images.cleanup_tmp(journal.home)
        return _result("\n".join(f"loaded {_image_summary(im)}" for im in loaded), loaded)


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
            n = len(images.export_container(c, out).entries)
            src = f"the container {c.id}"
        elif p.get("image"):
            n = images.export(journal.home, str(p["image"]), out)
            src = f"the image {p['image']}"
        else:
            raise LabError("image-export needs image = NAME or container = ID")
        size = out.stat().st_size
        return _result(
            f"exported {src} to {out}: {n} entries, {_kb(size)}, one flat filesystem",
            ExportResult(str(out), size, n, src),
        )


# -- containers ---------------------------------------------------------------------------


class ContainerCreate:
    """A container of an image: its layers unpacked as lowers, an empty upper, the overlay mounted."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "image": (str, True),
        "id": (str, True),
        "mount": (bool, False),  # default true
    }

    def describe(self, p: dict[str, Any]) -> str:
        c = f"$SHIKUMI_HOME/containers/{p['id']}"
        lines = [
            f"# docker create --name {p['id']} {p['image']} (pull = unpack each layer once):",
            "for d in $(layers of the image); do",
            "  mkdir -p $SHIKUMI_HOME/layers/$d && tar -C $SHIKUMI_HOME/layers/$d -xf $SHIKUMI_HOME/images/blobs/sha256/$d",
            "done",
            f"mkdir -p {c}/upper {c}/work {c}/merged",
        ]
        if p.get("mount", True):
            lines.append(
                f"mount -t overlay overlay -o lowerdir=$SHIKUMI_HOME/layers/<top>:…,"
                f"upperdir={c}/upper,workdir={c}/work {c}/merged"
            )
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        cid = str(p["id"])
        im = images.get(journal.home, str(p["image"]))
        lowers = images.unpack_layers(journal, im)
        c = overlay.create(journal, lowers, image=im.name or im.id, cid=cid)
        _MADE[(str(journal.home), cid)] = c
        lines = [f"container {cid} of {im.name}: {c.dir}"]
        lines += [f"  lower {i}: {lo}" for i, lo in enumerate(c.lowers)]
        if p.get("mount", True):
            overlay.mount(journal, c)
            lines.append(c.mount_command())
        _set_out(ctx, str(c.merged))
        return _result("\n".join(lines), c)


class ContainerRun:
    """Run a command to its end: in a mounted container (``id``), or, like `docker run --rm`,
    in a fresh container of ``image`` removed afterwards."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "id": (str, False),
        "image": (str, False),
        "command": (list, False),  # default: the image's CMD
    }

    def describe(self, p: dict[str, Any]) -> str:
        cmd = shlex.join(_strs(p.get("command"))) or "<the image's CMD>"
        if p.get("id"):
            m = f"$SHIKUMI_HOME/containers/{p['id']}/merged"
            return f"unshare -m -u -i -p -n --fork --root {m} --mount-proc {cmd}"
        return "\n".join(
            [
                f"# docker run --rm {p.get('image', '')} {cmd}   — by hand:",
                "mkdir upper work merged; mount -t overlay overlay -o lowerdir=…,upperdir=upper,workdir=work merged",
                f"unshare -m -u -i -p -n --fork --root merged --mount-proc {cmd}",
                "umount merged; rm -r upper work merged",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        cmd = _strs(p.get("command")) or None
        if p.get("id"):
            c = find_container(journal, str(p["id"]))
            env = None
            if c.image:
                try:
                    im = images.get(journal.home, c.image)
                    env = im.config.env_dict() or None
                    cmd = cmd or [*(im.config.entrypoint or []), *(im.config.cmd or [])]
                except LabError:
                    pass
            if not cmd:
                raise LabError("container-run needs a command")
            r = overlay.run(journal, c, cmd, env=env)
        elif p.get("image"):
            r = images.run(journal, images.get(journal.home, str(p["image"])), cmd)
        else:
            raise LabError("container-run needs id = CONTAINER or image = NAME")
        out = r.output.rstrip("\n")
        _set_out(ctx, out.strip())
        if r.returncode != 0:
            raise LabError(f"{shlex.join(r.argv)} exited {r.returncode}: {out}")
        return _result(out or "(no output)", r)


@dataclass
class ChangeList:
    container: str
    changes: list[overlay.Change] = field(default_factory=list)


class ContainerChanges:
    """`docker diff`: what the container's upper holds against its image (A / C / D)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"id": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        u = f"$SHIKUMI_HOME/containers/{p['id']}/upper"
        return "\n".join(
            [
                f"# docker diff {p['id']}   — by hand: everything in the upper",
                f"find {u} -mindepth 1 -printf '%y %M %s %P\\n'",
                "# type c with size 0 = a whiteout (deleted); a file also in a lower = copied up (C)",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        c = find_container(journal, str(p["id"]))
        ch = overlay.changes(c)
        letter = {"added": "A", "modified": "C", "deleted": "D", "opaque": "C"}
        lines = [f"{letter[x.kind]} {x.path}" for x in ch] or ["(no changes)"]
        return _result("\n".join(lines), ChangeList(c.id, ch))


class ContainerRm:
    """`docker rm`: unmount, then remove the container's directory, its upper with it."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"id": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        c = f"$SHIKUMI_HOME/containers/{p['id']}"
        return f"umount {c}/merged\nrm -r {c}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        cid = str(p["id"])
        c = find_container(journal, cid)
        overlay.remove(journal, c)
        _MADE.pop((str(journal.home), cid), None)
        return _result(f"removed the container {cid} ({c.dir}), its upper with it", c)


# -- the real Docker ----------------------------------------------------------------------


def _docker() -> Any:
    from lab.ops import docker

    why = docker.available()
    if why:
        raise LabError(why)
    return docker


class DockerRun:
    """`docker run --name shikumi-… IMAGE CMD` (detached: it keeps running; rm: removed after)."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "image": (str, True),
        "name": (str, True),
        "command": (list, False),
        "detach": (bool, False),
        "rm": (bool, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        flags = (" -d" if p.get("detach") else "") + (" --rm" if p.get("rm") else "")
        cmd = shlex.join(_strs(p.get("command")))
        return f"docker run{flags} --name {p['name']} --network none {p['image']} {cmd}".rstrip()

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        r = d.run(
            journal,
            str(p["image"]),
            _strs(p.get("command")),
            name=str(p["name"]),
            detach=bool(p.get("detach")),
            rm=bool(p.get("rm")),
        )
        out = (r.stdout + r.stderr).rstrip("\n")
        _set_out(ctx, r.stdout.strip())
        if r.returncode != 0:
            raise LabError(f"{shlex.join(r.argv)} exited {r.returncode}: {out}")
        return _result(out or "(no output)", r)


class DockerInspect:
    """`docker inspect`: a container's pid and GraphDriver (LowerDir, UpperDir, MergedDir).
    For a container, ``{{out.STEP}}`` is its pid as the host sees it."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"name": (str, True), "image": (bool, False)}

    def describe(self, p: dict[str, Any]) -> str:
        what = "image inspect" if p.get("image") else "inspect"
        return (
            f"docker {what} {p['name']} | grep -E '\"(Pid|LowerDir|UpperDir|MergedDir|WorkDir)\"'"
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        if p.get("image"):
            info = d.inspect_image(str(p["name"]))
            head = [f"image {p['name']}: {info.id[:19]}, {len(info.layers)} layer(s)"]
        else:
            info = d.inspect_container(str(p["name"]))
            head = [f"container {info.name}: pid {info.pid} on the host, running={info.running}"]
            _set_out(ctx, str(info.pid))
        g = info.graph
        lines = [*head, f"GraphDriver.Name  {g.name}"]
        lines += [f"LowerDir          {lo}" for lo in g.lower]
        lines += [f"UpperDir          {g.upper}", f"MergedDir         {g.merged}"]
        lines.append(f"WorkDir           {g.work}")
        return _result("\n".join(lines), info)


class DockerCommit:
    """`docker commit CONTAINER shikumi-…`: Docker's own upper → a new layer."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "container": (str, True),
        "name": (str, True),
        "changes": (list, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        ch = "".join(f" --change {shlex.quote(c)}" for c in _strs(p.get("changes")))
        return f"docker commit{ch} {p['container']} {p['name']}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        im = d.commit(journal, str(p["container"]), str(p["name"]), _strs(p.get("changes")))
        return _result(f"committed {p['container']} as {p['name']}: {len(im.layers)} layers", im)


class DockerSave:
    """`docker save -o TAR shikumi-…` (Docker's own layout: what `image-load` reads)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"images": (list, True), "tar": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        return f"docker save -o {p['tar']} {' '.join(_strs(p['images']))}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        out = require_inside(p["tar"], journal.home)
        out.parent.mkdir(parents=True, exist_ok=True)
        d.save(_strs(p["images"]), out)
        return _result(f"docker saved {out}: {_kb(out.stat().st_size)}", str(out))


class DockerLoad:
    """`docker load -i TAR`: a tar the lab saved, into Docker (its tags must be shikumi-…)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"tar": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        return f"docker load -i {p['tar']}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        r = d.load(journal, Path(p["tar"]))
        return _result(r.output.strip(), r)


OPS: dict[str, Any] = {
    "image-import": ImageImport(),
    "image-commit": ImageCommit(),
    "image-build": ImageBuild(),
    "image-save": ImageSave(),
    "image-load": ImageLoad(),
    "image-export": ImageExport(),
    "image-rm": ImageRm(),
    "container-create": ContainerCreate(),
    "container-run": ContainerRun(),
    "container-changes": ContainerChanges(),
    "container-rm": ContainerRm(),
    "docker-run": DockerRun(),
    "docker-inspect": DockerInspect(),
    "docker-commit": DockerCommit(),
    "docker-save": DockerSave(),
    "docker-load": DockerLoad(),
}
