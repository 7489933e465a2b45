"""OCI image pieces: digests, the image layout on disk, config / manifest / index JSON.

An image is (a) layer tars, (b) a config (what to run, the environment, the
working directory, the history, and the digests of the uncompressed layers:
``rootfs.diff_ids``) and (c) a manifest naming the config and the layers by
digest. Every blob is stored under its own sha256, so the same layer shared by
two images is kept once. The layout (``oci-layout``, ``index.json``,
``blobs/sha256/…``) is the one `docker save` writes since Docker 25.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

MT_INDEX = "application/vnd.oci.image.index.v1+json"
MT_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
MT_CONFIG = "application/vnd.oci.image.config.v1+json"
MT_LAYER = "application/vnd.oci.image.layer.v1.tar"  # uncompressed, as `docker save` keeps them
REF_NAME = "org.opencontainers.image.ref.name"  # the tag ("latest")
IMAGE_NAME = "io.containerd.image.name"  # the full name ("docker.io/library/x:latest")
DEFAULT_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def sha256_bytes(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def sha256_file(path: str | os.PathLike[str]) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(1 << 20):
            h.update(chunk)
    return "sha256:" + h.hexdigest()


def check_digest(digest: str) -> str:
    """The digest if it is a well-formed sha256 one (it becomes a file name)."""
    if not _DIGEST_RE.match(digest):
        raise ValueError(f"not a sha256 digest: {digest!r}")
    return digest


def hex_of(digest: str) -> str:
    return check_digest(digest).split(":", 1)[1]


def short(digest: str, n: int = 12) -> str:
    return digest.split(":", 1)[-1][:n]


def arch() -> str:
    m = platform.machine()
    return {"x86_64": "amd64", "aarch64": "arm64", "armv7l": "arm", "i686": "386"}.get(m, m)


def now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def canonical(obj: object) -> bytes:
    """The bytes a JSON blob is stored (and hashed) as."""
    return json.dumps(obj, separators=(",", ":"), sort_keys=True).encode()


def split_name(name: str) -> tuple[str, str]:
    """'repo:tag' -> (repo, tag); the tag defaults to 'latest'."""
    repo, sep, tag = name.rpartition(":")
    if not sep or "/" in tag:
        return name, "latest"
    return repo, tag


def full_name(name: str) -> str:
    repo, tag = split_name(name)
    return f"{repo}:{tag}"


@dataclass
class Descriptor:
    media_type: str
    digest: str
    size: int
    annotations: dict[str, str] = field(default_factory=dict)

    def to_json(self) -> dict:
        d: dict = {"mediaType": self.media_type, "digest": self.digest, "size": self.size}
        if self.annotations:
            d["annotations"] = dict(self.annotations)
        return d

    @classmethod
    def from_json(cls, d: dict) -> Descriptor:
        return cls(
            d.get("mediaType", ""),
            check_digest(d["digest"]),
            int(d.get("size", 0)),
            dict(d.get("annotations") or {}),
        )


@dataclass
class History:
    created_by: str
    empty_layer: bool = False
    created: str = ""
    comment: str = ""

    def to_json(self) -> dict:
        d: dict = {"created": self.created or now(), "created_by": self.created_by}
        if self.comment:
            d["comment"] = self.comment
        if self.empty_layer:
            d["empty_layer"] = True
        return d

    @classmethod
    def from_json(cls, d: dict) -> History:
        return cls(
            d.get("created_by", ""),
            bool(d.get("empty_layer", False)),
            d.get("created", ""),
            d.get("comment", ""),
        )


@dataclass
class ImageConfig:
    """The image config (what `docker inspect` shows under Config, RootFS, History)."""

    cmd: list[str] | None = None
    entrypoint: list[str] | None = None
    env: list[str] = field(default_factory=lambda: [f"PATH={DEFAULT_PATH}"])
    working_dir: str = ""
    diff_ids: list[str] = field(default_factory=list)
    history: list[History] = field(default_factory=list)
    created: str = ""
    architecture: str = field(default_factory=arch)
    os: str = "linux"
    extra: dict = field(default_factory=dict)  # config fields the lab does not model, kept

    def env_dict(self) -> dict[str, str]:
        return dict(e.split("=", 1) for e in self.env if "=" in e)

    def set_env(self, key: str, value: str) -> None:
        self.env = [e for e in self.env if e.split("=", 1)[0] != key] + [f"{key}={value}"]

    def to_json(self) -> dict:
        cfg = dict(self.extra)
        cfg["Env"] = list(self.env)
        if self.cmd is not None:
            cfg["Cmd"] = list(self.cmd)
        if self.entrypoint is not None:
            cfg["Entrypoint"] = list(self.entrypoint)
        if self.working_dir:
            cfg["WorkingDir"] = self.working_dir
        return {
            "architecture": self.architecture,
            "os": self.os,
            "created": self.created or now(),
            "config": cfg,
            "rootfs": {"type": "layers", "diff_ids": list(self.diff_ids)},
            "history": [h.to_json() for h in self.history],
        }

    @classmethod
    def from_json(cls, d: dict) -> ImageConfig:
        cfg = dict(d.get("config") or {})
        out = cls(
            cmd=cfg.pop("Cmd", None),
            entrypoint=cfg.pop("Entrypoint", None),
            env=list(cfg.pop("Env", None) or []),
            working_dir=cfg.pop("WorkingDir", "") or "",
            diff_ids=[check_digest(x) for x in (d.get("rootfs") or {}).get("diff_ids") or []],
            history=[History.from_json(h) for h in d.get("history") or []],
            created=d.get("created", ""),
            architecture=d.get("architecture", arch()),
            os=d.get("os", "linux"),
        )
        out.extra = cfg
        return out

    def copy(self) -> ImageConfig:
        return ImageConfig.from_json(json.loads(json.dumps(self.to_json())))


# -- the layout on disk ------------------------------------------------------------


class Layout:
    """An OCI image layout directory: ``oci-layout``, ``index.json``, ``blobs/sha256/``."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)

    def init(self) -> Layout:
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        if not (self.root / "oci-layout").exists():
            (self.root / "oci-layout").write_bytes(canonical({"imageLayoutVersion": "1.0.0"}))
        if not (self.root / "index.json").exists():
            self.write_index([])
        return self

    def blob(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / hex_of(digest)

    def has(self, digest: str) -> bool:
        return self.blob(digest).exists()

    def put_bytes(self, data: bytes, media_type: str) -> Descriptor:
        d = Descriptor(media_type, sha256_bytes(data), len(data))
        path = self.blob(d.digest)
        if not path.exists():
            tmp = path.with_suffix(".tmp")
            tmp.write_bytes(data)
            os.replace(tmp, path)
        return d

    def put_file(self, src: Path, media_type: str, move: bool = False) -> Descriptor:
        """Store a file as a blob (moved when *move*, else copied)."""
        d = Descriptor(media_type, sha256_file(src), src.stat().st_size)
        path = self.blob(d.digest)
        if path.exists():
            if move:
                src.unlink()
        elif move:
            os.replace(src, path)
        else:
            shutil.copyfile(src, path)
        return d

    def read_json(self, digest: str) -> dict:
        return json.loads(self.blob(digest).read_bytes())

    def index(self) -> list[Descriptor]:
        data = json.loads((self.root / "index.json").read_bytes())
        return [Descriptor.from_json(m) for m in data.get("manifests") or []]

    def write_index(self, manifests: list[Descriptor]) -> None:
        data = {
            "schemaVersion": 2,
            "mediaType": MT_INDEX,
            "manifests": [m.to_json() for m in manifests],
        }
        tmp = self.root / "index.json.tmp"
        tmp.write_bytes(canonical(data))
        os.replace(tmp, self.root / "index.json")


def manifest_json(config: Descriptor, layers: list[Descriptor]) -> dict:
    return {
        "schemaVersion": 2,
        "mediaType": MT_MANIFEST,
        "config": config.to_json(),
        "layers": [d.to_json() for d in layers],
    }
