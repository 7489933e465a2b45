"""The real Docker beside the lab: thin, typed wrappers over the `docker` command.

Every container and image made here is named ``shikumi-…`` and written to the
journal before it is made ("docker-container", "docker-image"), so cleanup
removes them (`docker rm -f`, `docker rmi -f`). DOCKER_HOST is honoured, and
points at the lab's private daemon when nothing else is set
(``dockerhost.with_docker_host``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tarfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.host import mounts
from lab.host.dockerhost import with_docker_host
from lab.safety.journal import Entry, Journal

PREFIX = "shikumi"


@dataclass
class GraphDriver:
    """Where a container's (or image's) layers are: `docker inspect` .GraphDriver with
    overlay2; with the containerd image store (whose inspect has no directories) the
    container's root overlay mount (``source = "mount"``, see ``rootfs_overlay``)."""

    name: str
    lower: list[str]  # top first, as in the mount options
    upper: str
    merged: str
    work: str
    source: str = "inspect"  # "inspect": GraphDriver.Data; "mount": the rootfs overlay mount


CONTAINERD_SNAPSHOTTER = "io.containerd.snapshotter.v1"


@dataclass
class ImageStore:
    """Which image store the daemon uses. Docker's own graph drivers (overlay2) report
    their directories in `docker inspect`; the containerd image store (the default of
    fresh installs since Docker 29; `"features": {"containerd-snapshotter": true}` from
    Docker 24 on) keeps layers as containerd snapshots and reports none: `docker info`
    then says Storage Driver `overlayfs` with ``driver-type io.containerd.snapshotter.v1``."""

    driver: str  # docker info .Driver: overlay2, overlayfs, vfs, …
    containerd: bool  # the containerd image store (a snapshotter) rather than a graph driver

    def words(self, ja: bool = False) -> str:
        if self.containerd:
            return (
                f"containerd のイメージストア（スナップショッター {self.driver}）"
                if ja
                else f"the containerd image store (snapshotter {self.driver})"
            )
        return (
            f"Docker のグラフドライバー {self.driver}"
            if ja
            else f"Docker's graph driver {self.driver}"
        )


def parse_store(driver: str, driver_status: str) -> ImageStore:
    """*driver*: `docker info --format '{{.Driver}}'`; *driver_status*: its
    ``{{json .DriverStatus}}`` (a list of [key, value] pairs, or null)."""
    try:
        pairs = json.loads(driver_status or "null") or []
    except json.JSONDecodeError:
        pairs = []
    kinds = [
        str(p[1]) for p in pairs if isinstance(p, list) and len(p) == 2 and p[0] == "driver-type"
    ]
    return ImageStore(driver.strip(), any(k.startswith(CONTAINERD_SNAPSHOTTER) for k in kinds))


def image_store() -> ImageStore:
    """The daemon's image store, from `docker info`."""
    r = docker(["info", "--format", "{{.Driver}}\n{{json .DriverStatus}}"], timeout=30)
    driver, _, status = r.stdout.strip().partition("\n")
    return parse_store(driver, status)


@dataclass
class DockerImage:
    id: str
    tags: list[str]
    layers: list[str]  # RootFS.Layers: the diff_ids, bottom first
    cmd: list[str] | None
    env: list[str]
    working_dir: str
    size: int
    graph: GraphDriver


@dataclass
class DockerContainer:
    id: str
    name: str
    image: str
    pid: int
    running: bool
    exit_code: int
    graph: GraphDriver


@dataclass
class RunResult:
    argv: list[str]
    returncode: int
    stdout: str
    stderr: str


@dataclass
class Loaded:
    images: list[str] = field(default_factory=list)  # "Loaded image: NAME" lines
    output: str = ""


def env() -> dict[str, str]:
    return with_docker_host(dict(os.environ))


def docker(args: Sequence[str], check: bool = True, timeout: float = 300) -> RunResult:
    """Run `docker ARGS…` and capture its output."""
    if not shutil.which("docker"):
        raise LabError("docker is not installed", "assets/provision.sh installs it (docker.io)")
    argv = ["docker", *args]
    r = subprocess.run(argv, capture_output=True, text=True, env=env(), timeout=timeout)
    out = RunResult(argv, r.returncode, r.stdout, r.stderr)
    if check and r.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed: {r.stderr.strip() or r.stdout.strip()}")
    return out


def available() -> str:
    """ "" when a Docker daemon answers, else why not (with the fix)."""
    if not shutil.which("docker"):
        return "docker is not installed (assets/provision.sh installs docker.io)"
    try:
        r = docker(["version", "--format", "{{.Server.Version}}"], check=False, timeout=20)
    except subprocess.TimeoutExpired:
        return "the Docker daemon does not answer"
    if r.returncode != 0:
        return "no Docker daemon answers (./run.sh test or assets/provision.sh --start-docker starts one)"
    return ""


def _check_name(name: str) -> str:
    if not name.startswith(PREFIX):
        raise LabError(f"the lab names its Docker objects {PREFIX}-… (got {name!r})")
    return name


def _record(j: Journal, kind: str, name: str) -> Entry:
    return j.record(kind, _check_name(name))


def _graph(d: dict) -> GraphDriver:
    g = d.get("GraphDriver") or {}
    data = g.get("Data") or {}
    lower = [x for x in (data.get("LowerDir") or "").split(":") if x]
    return GraphDriver(
        g.get("Name", ""),
        lower,
        data.get("UpperDir", ""),
        data.get("MergedDir", ""),
        data.get("WorkDir", ""),
    )


def overlay_options(super_options: str) -> dict[str, str]:
    """``rw,lowerdir=A:B,upperdir=U,workdir=W`` → {"lowerdir": "A:B", …} (flags dropped)."""
    out: dict[str, str] = {}
    for opt in super_options.split(","):
        key, eq, value = opt.partition("=")
        if eq:
            out[key] = value
    return out


def rootfs_overlay(cid: str, pid: int, name: str = "overlayfs") -> GraphDriver | None:
    """A running container's overlay as the kernel has it, for the containerd image store
    (`docker inspect` there has ``GraphDriver.Data: null``). The container's ``/`` is an
    overlay mount: its process's mount table (/proc/PID/mountinfo) gives lowerdir (the
    image's snapshots, top first), upperdir and workdir; the same overlay is mounted on
    the host (at DATA-ROOT/rootfs/overlayfs/ID), which is the MergedDir. None when the
    container runs no process or its root is no overlay."""
    if pid <= 0:
        return None
    try:
        inside = mounts.mounts(pid)
    except OSError:
        return None
    roots = [m for m in inside if m.target == "/" and m.fstype == "overlay"]
    if not roots:
        return None
    opts = overlay_options(roots[-1].super_options)
    upper = opts.get("upperdir", "")
    if not upper:
        return None
    host = [
        m
        for m in mounts.mounts()
        if m.fstype == "overlay" and overlay_options(m.super_options).get("upperdir") == upper
    ]
    host.sort(key=lambda m: not m.target.endswith("/" + cid))  # DATA/rootfs/overlayfs/ID first
    lower = [x for x in opts.get("lowerdir", "").split(":") if x]
    merged = host[0].target if host else ""
    return GraphDriver(name or "overlayfs", lower, upper, merged, opts.get("workdir", ""), "mount")


def inspect_image(name: str) -> DockerImage:
    d = json.loads(docker(["image", "inspect", name]).stdout)[0]
    cfg = d.get("Config") or {}
    return DockerImage(
        d["Id"],
        d.get("RepoTags") or [],
        (d.get("RootFS") or {}).get("Layers") or [],
        cfg.get("Cmd"),
        cfg.get("Env") or [],
        cfg.get("WorkingDir") or "",
        int(d.get("Size") or 0),
        _graph(d),
    )


def inspect_container(name: str) -> DockerContainer:
    d = json.loads(docker(["container", "inspect", name]).stdout)[0]
    state = d.get("State") or {}
    pid = int(state.get("Pid") or 0)
    graph = _graph(d)
    if not graph.upper:  # the containerd image store: the directories are in the mount table
        graph = rootfs_overlay(d["Id"], pid, graph.name) or graph
    return DockerContainer(
        d["Id"],
        d.get("Name", "").lstrip("/"),
        (d.get("Config") or {}).get("Image", ""),
        pid,
        bool(state.get("Running")),
        int(state.get("ExitCode") or 0),
        graph,
    )


def import_tar(j: Journal, tar: Path, name: str, changes: Sequence[str] = ()) -> DockerImage:
    """`docker import TAR NAME` (offline: no registry). *changes*: e.g. 'CMD ["/bin/sh"]'."""
    _record(j, "docker-image", name)
    args = ["import"]
    for c in changes:
        args += ["--change", c]
    docker([*args, str(tar), name])
    return inspect_image(name)


def run(
    j: Journal,
    image: str,
    cmd: Sequence[str] = (),
    name: str = "",
    detach: bool = False,
    rm: bool = False,
    timeout: float = 120,
) -> RunResult:
    """`docker run [--rm] [-d] --name NAME IMAGE CMD…` (named, so cleanup can find it)."""
    if not name:
        raise LabError("give the container a shikumi-… name")
    entry = _record(j, "docker-container", name)
    args = ["run", "--name", name, "--network", "none"]
    if detach:
        args.append("-d")
    if rm:
        args.append("--rm")
    r = docker([*args, image, *cmd], check=False, timeout=timeout)
    if rm:
        j.release(entry)  # gone with its process
    return r


def create(j: Journal, image: str, name: str, cmd: Sequence[str] = ()) -> DockerContainer:
    """`docker create --name NAME IMAGE` (a container that has not run: for export)."""
    _record(j, "docker-container", name)
    docker(["create", "--name", name, "--network", "none", image, *cmd])
    return inspect_container(name)


def export(container: str, out: Path) -> Path:
    """`docker export -o OUT CONTAINER`: the container's merged filesystem, flat."""
    docker(["export", "-o", str(out), container])
    return out


def commit(j: Journal, container: str, name: str, changes: Sequence[str] = ()) -> DockerImage:
    """`docker commit CONTAINER NAME` (the image keeps the container's command unless
    a change such as 'CMD ["/bin/sh"]' resets it)."""
    _record(j, "docker-image", name)
    docker(["commit", *(a for c in changes for a in ("--change", c)), container, name])
    return inspect_image(name)


def save(names: Sequence[str], out: Path) -> Path:
    docker(["save", "-o", str(out), *names])
    return out


def _tags_in(tar: Path) -> list[str]:
    with tarfile.open(tar) as tf:
        try:
            m = tf.getmember("manifest.json")
        except KeyError:
            return []
        f = tf.extractfile(m)
        items = json.loads(f.read()) if f else []
    return [t for item in items for t in item.get("RepoTags") or []]


def load(j: Journal, tar: Path) -> Loaded:
    """`docker load -i TAR`; the tar's tags (from its manifest.json) must be shikumi-…"""
    tags = _tags_in(tar)
    if not tags:
        raise LabError(f"{tar} names no image (its manifest.json has no RepoTags)")
    for t in tags:
        _record(j, "docker-image", t)
    r = docker(["load", "-i", str(tar)])
    loaded = [
        ln.split(":", 1)[1].strip() for ln in r.stdout.splitlines() if ln.startswith("Loaded image")
    ]
    return Loaded(loaded, r.stdout)


def rm(j: Journal | None, name: str) -> None:
    docker(["rm", "-f", _check_name(name)], check=False)
    if j is not None:
        _release(j, "docker-container", name)


def rmi(j: Journal | None, name: str) -> None:
    docker(["rmi", "-f", _check_name(name)], check=False)
    if j is not None:
        _release(j, "docker-image", name)


def _release(j: Journal, kind: str, name: str) -> None:
    for e in j.active:
        if e.kind == kind and e.target == name:
            j.release(e)


def names(kind: str = "image") -> list[str]:
    """The shikumi-… images (repo:tag) or containers Docker has now."""
    if kind == "image":
        out = docker(["images", "--format", "{{.Repository}}:{{.Tag}}"]).stdout
    else:
        out = docker(["ps", "-a", "--format", "{{.Names}}"]).stdout
    return [n for n in out.split() if n.startswith(PREFIX)]
