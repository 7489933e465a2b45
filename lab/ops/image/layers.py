"""Layer tars: from an overlay upper directory and back, and what each layer changes.

overlayfs and image layers say "deleted" differently:
  overlay upper                              layer tar (OCI / Docker)
  a character device 0/0 named NAME          an empty file named .wh.NAME
  a directory with xattr trusted.overlay.opaque=y   the directory, then DIR/.wh..wh..opq
Everything else (files, directories, symlinks, hard links) is the same in both.
"""

from __future__ import annotations

import contextlib
import io
import os
import stat
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

from lab.host.overlayfs import is_opaque, is_whiteout, walk
from lab.ops.image import oci
from lab.safety import safetar

WH, OPAQUE, OPAQUE_XATTR = safetar.WH, safetar.OPAQUE, safetar.OPAQUE_XATTR


@dataclass
class LayerEntry:
    path: str  # relative, no leading "./" or "/" ("etc/greeting")
    kind: str  # file dir symlink hardlink device fifo whiteout opaque
    size: int = 0
    mode: int = 0
    link: str = ""  # symlink / hard link target


@dataclass
class LayerTar:
    path: Path
    digest: str  # sha256 of the uncompressed tar (= its diff_id)
    size: int
    entries: list[LayerEntry] = field(default_factory=list)


@dataclass
class FileChange:
    path: str
    kind: str
    size: int


@dataclass
class LayerDiff:
    """What one layer does to the filesystem below it (a row of a dive-like view)."""

    index: int
    digest: str
    size: int  # bytes of the file contents it adds
    created_by: str = ""
    added: list[FileChange] = field(default_factory=list)
    modified: list[FileChange] = field(default_factory=list)
    deleted: list[FileChange] = field(default_factory=list)


@dataclass
class ImageDiff:
    layers: list[LayerDiff]
    total: int  # bytes of file contents over all layers
    wasted: int  # bytes a later layer overwrote or deleted (still shipped in the image)
    files: int  # files in the merged filesystem


def norm(name: str) -> str:
    """A tar member name as a clean relative path ("" for the root)."""
    p = os.path.normpath("/" + name.strip()).lstrip("/")
    return "" if p == "." else p


def _key(path: str) -> list[str]:
    return path.split("/")


def _entry(m: tarfile.TarInfo) -> LayerEntry | None:
    path = norm(m.name)
    if not path:
        return None
    base = os.path.basename(path)
    parent = os.path.dirname(path)
    if base == OPAQUE:
        return LayerEntry(parent, "opaque")
    if base.startswith(WH):
        return LayerEntry(os.path.join(parent, base[len(WH) :]), "whiteout")
    if m.isdir():
        kind = "dir"
    elif m.issym():
        kind = "symlink"
    elif m.islnk():
        kind = "hardlink"
    elif m.isreg():
        kind = "file"
    elif m.isfifo():
        kind = "fifo"
    else:
        kind = "device"
    link = m.linkname if kind == "symlink" else norm(m.linkname) if kind == "hardlink" else ""
    return LayerEntry(path, kind, m.size if m.isreg() else 0, m.mode, link)


def entries(tar_path: Path) -> list[LayerEntry]:
    with tarfile.open(tar_path) as tf:
        return [e for m in tf.getmembers() if (e := _entry(m))]


def from_dir(src: Path, tar_path: Path, overlay: bool = True) -> LayerTar:
    """Write the layer tar of a directory (an overlay upper when *overlay*):
    whiteouts become .wh.NAME, opaque directories get a .wh..wh..opq entry."""
    out: list[LayerEntry] = []
    with tarfile.open(tar_path, "w", format=tarfile.PAX_FORMAT) as tf:
        for rel, st in walk(src):
            full = src / rel
            if overlay and is_whiteout(st):
                parent, base = os.path.split(rel)
                ti = tarfile.TarInfo(os.path.join(parent, WH + base))
                ti.mtime, ti.mode = int(st.st_mtime), 0o644
                tf.addfile(ti)
                out.append(LayerEntry(rel, "whiteout"))
                continue
            ti = tf.gettarinfo(str(full), arcname=rel)
            ti.uname = ti.gname = ""
            if ti.isreg():
                with open(full, "rb") as f:
                    tf.addfile(ti, f)
            else:
                tf.addfile(ti)
            e = _entry(ti)
            if e:
                out.append(e)
            if overlay and stat.S_ISDIR(st.st_mode) and is_opaque(full):
                wh = tarfile.TarInfo(f"{rel}/{OPAQUE}")
                wh.mtime, wh.mode = int(st.st_mtime), 0o644
                tf.addfile(wh)
                out.append(LayerEntry(rel, "opaque"))
    return LayerTar(tar_path, oci.sha256_file(tar_path), tar_path.stat().st_size, out)


# -- unpacking ------------------------------------------------------------------------


def unpack(tar_path: Path, dest: Path, whiteouts: str = "overlay") -> list[LayerEntry]:
    """Unpack a layer tar into *dest* with the lab's one safe extractor (lab.safety.safetar):
    nothing lands outside it, no symlink is followed, a path twice is refused.

    whiteouts="overlay": keep deletions as overlayfs does (char device 0/0, opaque
    xattr), so *dest* can be an overlay lower. whiteouts="apply": *dest* holds the
    layers below; delete what the layer deletes (as `docker load` / export do).
    Device nodes other than whiteouts are skipped.
    """
    if whiteouts not in ("overlay", "apply"):
        raise ValueError(whiteouts)
    done = safetar.extract(
        Path(tar_path), Path(dest), whiteouts=whiteouts, devices="skip", duplicates=False
    )
    out = [e for m in done.members if (e := _entry(m))]
    return out + [LayerEntry(path, kind) for path, kind in done.whiteouts]


# -- the merged view of a stack of layer tars, without unpacking ---------------------------


def _merge(tars: list[Path]) -> dict[str, tuple[int, tarfile.TarInfo]]:
    """path -> (layer index, member) of the merged filesystem of *tars* (bottom first)."""
    final: dict[str, tuple[int, tarfile.TarInfo]] = {}
    for i, tar in enumerate(tars):
        with tarfile.open(tar) as tf:
            members = tf.getmembers()
        for m in members:
            e = _entry(m)
            if e is None or e.kind not in ("whiteout", "opaque"):
                continue
            prefix = e.path + "/"
            for p in [
                p for p in final if p.startswith(prefix) or (e.kind == "whiteout" and p == e.path)
            ]:
                del final[p]
        for m in members:
            e = _entry(m)
            if e is None or e.kind in ("whiteout", "opaque"):
                continue
            old = final.get(e.path)
            if (
                old and old[1].isdir() and not m.isdir()
            ):  # a file replacing a dir hides its contents
                for p in [p for p in final if p.startswith(e.path + "/")]:
                    del final[p]
            final[e.path] = (i, m)
    return final


def merged_files(tars: list[Path]) -> dict[str, LayerEntry]:
    """The merged filesystem of a stack of layer tars: path -> entry."""
    return {p: e for p, (_, m) in _merge(tars).items() if (e := _entry(m))}


def flatten(tars: list[Path], out: Path) -> int:
    """Write the merged filesystem of *tars* (bottom first) as one flat tar, as
    `docker export` does: no layers, no whiteouts. Returns the number of entries."""
    final = _merge(tars)
    with contextlib.ExitStack() as stack:
        opened = [stack.enter_context(tarfile.open(t)) for t in tars]
        with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tf:
            for path in sorted(final, key=_key):
                i, m = final[path]
                ti = tarfile.TarInfo(path)
                for attr in (
                    "mode",
                    "uid",
                    "gid",
                    "mtime",
                    "type",
                    "linkname",
                    "devmajor",
                    "devminor",
                ):
                    setattr(ti, attr, getattr(m, attr))
                ti.pax_headers = {
                    k: v for k, v in m.pax_headers.items() if k not in ("path", "linkpath", "size")
                }
                ti.size = m.size if m.isreg() else 0
                if m.islnk():
                    target = norm(m.linkname)
                    if target in final and _key(target) < _key(path):
                        ti.linkname = target
                    else:  # its target is gone or comes later: store the contents
                        ti.type, ti.linkname = tarfile.REGTYPE, ""
                        f = opened[i].extractfile(m)
                        data = f.read() if f else b""
                        ti.size = len(data)
                        tf.addfile(ti, io.BytesIO(data))
                        continue
                tf.addfile(ti, opened[i].extractfile(m) if m.isreg() else None)
    return len(final)


def analyze(tars: list[Path], created_by: list[str] | None = None) -> ImageDiff:
    """What each layer adds, modifies and deletes, and the space wasted (like dive)."""
    state: dict[str, LayerEntry] = {}
    out: list[LayerDiff] = []
    total = wasted = 0
    for i, tar in enumerate(tars):
        es = entries(tar)
        d = LayerDiff(i, oci.sha256_file(tar), 0, (created_by or [""] * len(tars))[i])
        for e in es:
            if e.kind not in ("whiteout", "opaque"):
                continue
            gone = [
                p
                for p in state
                if p.startswith(e.path + "/") or (e.kind == "whiteout" and p == e.path)
            ]
            size = sum(state[p].size for p in gone)
            for p in gone:
                del state[p]
            wasted += size
            d.deleted.append(FileChange(e.path, e.kind, size))
        for e in es:
            if e.kind in ("whiteout", "opaque"):
                continue
            d.size += e.size
            old = state.get(e.path)
            if old is None:
                d.added.append(FileChange(e.path, e.kind, e.size))
            elif not (old.kind == e.kind == "dir"):
                wasted += old.size
                d.modified.append(FileChange(e.path, e.kind, e.size))
            state[e.path] = e
        total += d.size
        out.append(d)
    return ImageDiff(out, total, wasted, sum(1 for e in state.values() if e.kind != "dir"))


__all__ = ["is_opaque", "walk"]  # layers.walk / layers.is_opaque: what the overlay wrote
