"""Images in and out of the lab's store as tars: `docker save`, `docker load`,
`docker export`.

  save    images -> a tar `docker load` takes                   (`docker save`)
  load    what `docker save` wrote (Docker 25+ or the older form) -> images
  export  the merged filesystem -> one flat tar                 (`docker export`)

The store itself (import, commit, list, run) is ``lab.ops.image.store``.
"""

from __future__ import annotations

import io
import json
import shutil
import tarfile
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError
from lab.ops import overlay
from lab.ops.image import layers, oci
from lab.ops.image.oci import Descriptor, ImageConfig, Layout
from lab.ops.image.store import (
    Image,
    _short_name,
    _tmp,
    add_layer,
    docker_name,
    get,
    store_dir,
    write_image,
)
from lab.safety.journal import Journal


@dataclass
class SaveResult:
    path: Path
    size: int
    members: list[str]  # the tar's file names, in order
    images: list[str]


def _add_bytes(tf: tarfile.TarFile, name: str, data: bytes) -> None:
    ti = tarfile.TarInfo(name)
    ti.size, ti.mode, ti.mtime = len(data), 0o644, 0
    tf.addfile(ti, io.BytesIO(data))


def save(home: Path, names: list[str], out: Path) -> SaveResult:
    """`docker save` as Docker 25+ writes it: an OCI layout, plus manifest.json and
    repositories for the `docker load` of older Dockers (20.10 reads manifest.json)."""
    images = [get(home, n) for n in names]
    lay = Layout(store_dir(home))
    members: list[str] = []
    blobs: list[str] = []
    for im in images:
        for dg in [*(d.digest for d in im.layers), im.id, im.manifest.digest]:
            if dg not in blobs:
                blobs.append(dg)
    index = [
        Descriptor(
            oci.MT_MANIFEST,
            im.manifest.digest,
            im.manifest.size,
            {oci.IMAGE_NAME: docker_name(im.name), oci.REF_NAME: oci.split_name(im.name)[1]},
        )
        for im in images
    ]
    manifest = [
        {
            "Config": f"blobs/sha256/{oci.hex_of(im.id)}",
            "RepoTags": [im.name],
            "Layers": [f"blobs/sha256/{oci.hex_of(d.digest)}" for d in im.layers],
        }
        for im in images
    ]
    repos: dict[str, dict[str, str]] = {}
    for im in images:
        if im.layers:
            repo, tag = oci.split_name(im.name)
            repos.setdefault(repo, {})[tag] = oci.hex_of(im.layers[-1].digest)
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
        for d in ("blobs", "blobs/sha256"):
            ti = tarfile.TarInfo(d)
            ti.type, ti.mode, ti.mtime = tarfile.DIRTYPE, 0o755, 0
            tf.addfile(ti)
            members.append(d + "/")
        for dg in blobs:
            name = f"blobs/sha256/{oci.hex_of(dg)}"
            ti = tf.gettarinfo(str(lay.blob(dg)), arcname=name)
            ti.uid = ti.gid = 0
            ti.uname = ti.gname = ""
            ti.mode, ti.mtime = 0o644, 0
            with open(lay.blob(dg), "rb") as f:
                tf.addfile(ti, f)
            members.append(name)
        files = {
            "index.json": oci.canonical(
                {
                    "schemaVersion": 2,
                    "mediaType": oci.MT_INDEX,
                    "manifests": [d.to_json() for d in index],
                }
            ),
            "manifest.json": json.dumps(manifest, separators=(",", ":")).encode(),
            "oci-layout": oci.canonical({"imageLayoutVersion": "1.0.0"}),
            "repositories": json.dumps(repos, separators=(",", ":")).encode(),
        }
        for fname, data in files.items():
            _add_bytes(tf, fname, data)
            members.append(fname)
    return SaveResult(out, out.stat().st_size, members, [im.name for im in images])


def _read(tf: tarfile.TarFile, names: dict[str, tarfile.TarInfo], path: str) -> bytes:
    m = names.get(layers.norm(path))
    f = tf.extractfile(m) if m is not None else None
    if f is None:
        raise LabError(f"{tf.name}: {path} is missing or not a file")
    return f.read()


def _copy_layer(
    j: Journal, tf: tarfile.TarFile, names: dict[str, tarfile.TarInfo], path: str
) -> Descriptor:
    m = names.get(layers.norm(path))
    f = tf.extractfile(m) if m is not None else None
    if f is None:
        raise LabError(f"{tf.name}: layer {path} is missing")
    tmp = _tmp(j)
    with open(tmp, "wb") as dst:
        shutil.copyfileobj(f, dst, 1 << 20)
    return add_layer(j, tmp, move=True)


def load(j: Journal, tar_path: Path) -> list[Image]:
    """`docker load`: read manifest.json (every `docker save` writes one: Docker 25+
    beside its OCI layout, Docker ≤ 24 beside per-layer <id>/{VERSION,json,layer.tar}),
    or a bare OCI layout's index.json. Layer digests are checked against the config."""
    out: list[Image] = []
    with tarfile.open(tar_path) as tf:
        names = {layers.norm(m.name): m for m in tf.getmembers()}
        entries: list[tuple[str, bytes, list[str]]] = []  # (name, config bytes, layer paths)
        if "manifest.json" in names:
            for item in json.loads(_read(tf, names, "manifest.json")):
                tags = item.get("RepoTags") or [""]
                entries.append((tags[0], _read(tf, names, item["Config"]), list(item["Layers"])))
        elif "index.json" in names:
            todo = [
                Descriptor.from_json(d)
                for d in json.loads(_read(tf, names, "index.json"))["manifests"]
            ]
            while todo:
                d = todo.pop(0)
                blob = json.loads(_read(tf, names, f"blobs/sha256/{oci.hex_of(d.digest)}"))
                if "manifests" in blob:  # a nested index
                    todo += [Descriptor.from_json(x) for x in blob["manifests"]]
                    continue
                cfg = Descriptor.from_json(blob["config"])
                name = (
                    _short_name(d.annotations.get(oci.IMAGE_NAME, ""))
                    if d.annotations.get(oci.IMAGE_NAME)
                    else ""
                )
                entries.append(
                    (
                        name,
                        _read(tf, names, f"blobs/sha256/{oci.hex_of(cfg.digest)}"),
                        [
                            f"blobs/sha256/{oci.hex_of(x['digest'])}"
                            for x in blob.get("layers") or []
                        ],
                    )
                )
        else:
            raise LabError(f"{tar_path} is not an image tar (no manifest.json, no index.json)")
        for name, cfg_bytes, paths in entries:
            config = ImageConfig.from_json(json.loads(cfg_bytes))
            descs = [_copy_layer(j, tf, names, p) for p in paths]
            got = [d.digest for d in descs]
            if got != config.diff_ids:
                raise LabError(
                    f"{tar_path}: the layers' digests {got} do not match the config's diff_ids"
                )
            out.append(write_image(j, name, config, descs, config_bytes=cfg_bytes))
    return out


def export(home: Path, name: str, out: Path) -> int:
    """`docker export` of an image: its layers merged into one flat tar. Returns entries."""
    return layers.flatten(get(home, name).layer_paths, out)


def export_container(c: overlay.OverlayContainer, out: Path) -> layers.LayerTar:
    """`docker export` of a (mounted) container: everything its merged view shows."""
    if not c.mounted():
        raise LabError(f"the container {c.id} is not mounted")
    return layers.from_dir(c.merged, out, overlay=False)
