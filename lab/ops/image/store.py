"""The lab's image store: an OCI image layout under HOME/images.

  import  a rootfs tar (or directory) -> a one-layer image      (`docker import`)
  commit  a container's upper -> a new layer on its image       (`docker commit`)
  (save, load and export: ``lab.ops.image.tars``)

Layers are kept uncompressed, so a layer's blob digest is also its diff_id (the
digest `docker inspect` lists under RootFS.Layers). Unpacked layers, the
overlay lowers, live under HOME/layers/<digest>/.
"""

from __future__ import annotations

import gzip
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.ops import overlay
from lab.ops.image import layers, oci
from lab.ops.image.oci import Descriptor, History, ImageConfig, Layout
from lab.safety.journal import Journal
from lab.safety.resources import make_dir


@dataclass
class Image:
    name: str  # "repo:tag" ("" if untagged)
    id: str  # the config's digest (`docker images` shows its first 12 hex digits)
    manifest: Descriptor
    config: ImageConfig
    layers: list[Descriptor]
    store: Path = field(repr=False)

    @property
    def layer_paths(self) -> list[Path]:
        return [Layout(self.store).blob(d.digest) for d in self.layers]

    @property
    def size(self) -> int:
        return sum(d.size for d in self.layers)

    def history(self) -> list[tuple[History, Descriptor | None]]:
        """Each history entry with the layer it made (None for config-only steps)."""
        out: list[tuple[History, Descriptor | None]] = []
        it = iter(self.layers)
        for h in self.config.history:
            out.append((h, None if h.empty_layer else next(it, None)))
        return out


# -- the store --------------------------------------------------------------------------


def store_dir(home: Path) -> Path:
    return home / "images"


def layers_dir(home: Path) -> Path:
    return home / "layers"


def _layout(j: Journal) -> Layout:
    make_dir(j, store_dir(j.home))
    return Layout(store_dir(j.home)).init()


def _tmp(j: Journal) -> Path:
    d = _layout(j).root / "tmp"
    d.mkdir(exist_ok=True)
    return Path(tempfile.mkstemp(dir=d, suffix=".tar")[1])


def add_layer(j: Journal, tar_path: Path, move: bool = False) -> Descriptor:
    """Store a layer tar as a blob (gzip is undone first: layers are kept uncompressed)."""
    lay = _layout(j)
    with open(tar_path, "rb") as f:
        gz = f.read(2) == b"\x1f\x8b"
    if gz:
        plain = _tmp(j)
        with gzip.open(tar_path, "rb") as src, open(plain, "wb") as dst:
            shutil.copyfileobj(src, dst, 1 << 20)
        if move:
            tar_path.unlink()
        tar_path, move = plain, True
    return lay.put_file(tar_path, oci.MT_LAYER, move=move)


def docker_name(name: str) -> str:
    """The fully qualified name Docker writes in index.json (docker.io/library/x:latest)."""
    repo, tag = oci.split_name(name)
    first = repo.split("/", 1)[0]
    if "/" not in repo:
        repo = f"docker.io/library/{repo}"
    elif "." not in first and ":" not in first and first != "localhost":
        repo = f"docker.io/{repo}"
    return f"{repo}:{tag}"


def _short_name(full: str) -> str:
    repo, tag = oci.split_name(full)
    repo = repo.removeprefix("docker.io/").removeprefix("library/")
    return f"{repo}:{tag}"


def _tag(lay: Layout, name: str, manifest: Descriptor) -> None:
    name = oci.full_name(name)
    keep = [m for m in lay.index() if m.annotations.get(oci.IMAGE_NAME) != docker_name(name)]
    manifest = Descriptor(
        manifest.media_type,
        manifest.digest,
        manifest.size,
        {oci.IMAGE_NAME: docker_name(name), oci.REF_NAME: oci.split_name(name)[1]},
    )
    lay.write_index([*keep, manifest])


def write_image(
    j: Journal,
    name: str,
    config: ImageConfig,
    layer_descs: list[Descriptor],
    config_bytes: bytes | None = None,
) -> Image:
    """Write the config and manifest of an image whose layers are stored, and tag it."""
    lay = _layout(j)
    if config_bytes is None:
        config.diff_ids = [d.digest for d in layer_descs]
        config_bytes = oci.canonical(config.to_json())
    cfg = lay.put_bytes(config_bytes, oci.MT_CONFIG)
    man = lay.put_bytes(oci.canonical(oci.manifest_json(cfg, layer_descs)), oci.MT_MANIFEST)
    if name:
        _tag(lay, name, man)
    return Image(
        oci.full_name(name) if name else "", cfg.digest, man, config, layer_descs, lay.root
    )


def _image(lay: Layout, man: Descriptor, name: str) -> Image:
    m = lay.read_json(man.digest)
    cfg = Descriptor.from_json(m["config"])
    config = ImageConfig.from_json(lay.read_json(cfg.digest))
    descs = [Descriptor.from_json(x) for x in m.get("layers") or []]
    return Image(name, cfg.digest, man, config, descs, lay.root)


def list_images(home: Path) -> list[Image]:
    """Every tagged image in the store (`docker images`)."""
    lay = Layout(store_dir(home))
    if not (lay.root / "index.json").exists():
        return []
    return [
        _image(lay, m, _short_name(m.annotations.get(oci.IMAGE_NAME, "")))
        for m in lay.index()
        if m.annotations.get(oci.IMAGE_NAME)
    ]


def get(home: Path, name: str) -> Image:
    """An image by name ("hello", "hello:v1") or by id (its first hex digits will do)."""
    images = list_images(home)
    want = oci.full_name(name)
    for im in images:
        if im.name == want:
            return im
    ref = name.removeprefix("sha256:")
    if len(ref) >= 6:
        for im in images:
            if oci.hex_of(im.id).startswith(ref):
                return im
    raise LabError(f"no image {name!r} in {store_dir(home)}", "import, build or load it first")


def remove(j: Journal, name: str) -> None:
    """`docker rmi`: untag, then drop the blobs no tagged image uses."""
    im = get(j.home, name)
    lay = Layout(im.store)
    lay.write_index(
        [m for m in lay.index() if m.annotations.get(oci.IMAGE_NAME) != docker_name(im.name)]
    )
    used: set[str] = set()
    for other in list_images(j.home):
        used |= {other.manifest.digest, other.id, *(d.digest for d in other.layers)}
    for blob in (lay.root / "blobs" / "sha256").iterdir():
        if "sha256:" + blob.name not in used:
            blob.unlink()


# -- making images ------------------------------------------------------------------------


def import_tar(
    j: Journal,
    tar_path: Path,
    name: str,
    cmd: list[str] | None = None,
    env: list[str] | None = None,
) -> Image:
    """`docker import`: a rootfs tar becomes an image of one layer."""
    desc = add_layer(j, Path(tar_path))
    config = ImageConfig(cmd=cmd)
    if env is not None:
        config.env = list(env)
    config.history = [
        History(
            f"shikumi import {Path(tar_path).name}", comment=f"Imported from {Path(tar_path).name}"
        )
    ]
    return write_image(j, name, config, [desc])


def import_dir(j: Journal, src: Path, name: str, cmd: list[str] | None = None) -> Image:
    """Import a directory (a rootfs) as a one-layer image."""
    tmp = _tmp(j)
    layers.from_dir(Path(src), tmp, overlay=False)
    desc = add_layer(j, tmp, move=True)
    config = ImageConfig(cmd=cmd)
    config.history = [History(f"shikumi import {src}", comment=f"Imported from {Path(src).name}")]
    return write_image(j, name, config, [desc])


def commit(
    j: Journal,
    c: overlay.OverlayContainer,
    name: str,
    base: Image | None,
    created_by: str = "",
    cmd: list[str] | None = None,
) -> Image:
    """`docker commit`: the container's upper becomes one more layer on its image."""
    tmp = _tmp(j)
    layers.from_dir(c.upper, tmp, overlay=True)
    desc = add_layer(j, tmp, move=True)
    config = base.config.copy() if base else ImageConfig()
    if cmd is not None:
        config.cmd = cmd
    config.history.append(History(created_by or f"shikumi commit {c.id}"))
    return write_image(j, name, config, [*(base.layers if base else []), desc])


def unpack_layers(j: Journal, image: Image) -> list[Path]:
    """Each layer unpacked (whiteouts kept as overlayfs wants them), bottom first:
    the lowers of a container. A layer shared by two images is unpacked once."""
    make_dir(j, layers_dir(j.home))
    out = []
    for d in image.layers:
        dest = layers_dir(j.home) / oci.hex_of(d.digest)
        if not dest.is_dir():
            _, entry = make_dir(j, dest)
            try:
                layers.unpack(Layout(image.store).blob(d.digest), dest, whiteouts="overlay")
            except BaseException:
                if entry:
                    j.undo(entry)
                raise
        out.append(dest)
    return out


def new_container(j: Journal, image: Image, mount: bool = True) -> overlay.OverlayContainer:
    """A container of *image* (its layers as lowers), mounted unless told not to."""
    c = overlay.create(j, unpack_layers(j, image), image=image.name or image.id)
    if mount:
        overlay.mount(j, c)
    return c


def analyze(image: Image) -> layers.ImageDiff:
    """The dive-like view of an image: per layer, what it adds / modifies / deletes."""
    made = [h.created_by for h, d in image.history() if d is not None]
    made += [""] * (len(image.layers) - len(made))
    return layers.analyze(image.layer_paths, made)


def cleanup_tmp(home: Path) -> None:
    d = store_dir(home) / "tmp"
    if d.is_dir():
        for p in d.iterdir():
            os.unlink(p)


def run(
    j: Journal, image: Image, cmd: list[str] | None = None, timeout: float = 120
) -> overlay.RunResult:
    """`docker run --rm` by hand: a container of *image*, its CMD (or *cmd*) run to the
    end with the image's Env and WorkingDir, then the container removed."""
    argv = cmd or [*(image.config.entrypoint or []), *(image.config.cmd or [])]
    if not argv:
        raise LabError(f"the image {image.name or image.id} has no CMD; give a command")
    c = new_container(j, image)
    try:
        return overlay.run(
            j,
            c,
            argv,
            env=image.config.env_dict(),
            workdir=image.config.working_dir,
            timeout=timeout,
        )
    finally:
        overlay.remove(j, c)
