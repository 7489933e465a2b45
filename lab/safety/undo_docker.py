"""Undoing the lab's Docker objects: `docker rm -f` a container, `docker rmi -f` an
image (after its throwaway containers and the nameless images a killed `docker
build` left on it), `docker network rm` a network (after disconnecting whatever is
still attached to it). Each is named shikumi… (``undo.validate`` refuses any other
name); one that is already gone is fine.
"""

from __future__ import annotations

import http.client
import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

from lab.host.dockerview import unnamed
from lab.safety import procs
from lab.safety.entry import Entry


def _docker_clients_for(name: str) -> list[int]:
    """docker CLI processes still working on *name* (a lab killed mid-`docker import`
    leaves its client running: the daemon would finish the image after cleanup)."""
    from lab.host.procfs import cmdline

    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            args = cmdline(int(pid))
            if args and os.path.basename(args[0]) == "docker" and any(name in a for a in args[1:]):
                found.append(int(pid))
    return found


_GONE_RE = re.compile(r"no such|not found", re.I)  # the daemon's words for "not there"

_DOCKER_UNDO = {  # kind: (the command that removes it, the object type `inspect` takes)
    "docker-container": (["rm", "-f"], "container"),
    "docker-image": (["rmi", "-f"], "image"),
    "docker-network": (["network", "rm"], "network"),
}


def _disconnect_all(network: str, env: dict[str, str]) -> None:
    """`docker network disconnect -f` of every container still attached to the lab's
    network (a learner's container the journal does not know would keep it in use)."""
    r = subprocess.run(
        ["docker", "network", "inspect", network, "--format", "{{json .Containers}}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    try:
        attached = json.loads(r.stdout or "null") if r.returncode == 0 else None
    except ValueError:
        attached = None
    for cid in attached or {}:
        subprocess.run(
            ["docker", "network", "disconnect", "-f", network, cid],
            capture_output=True,
            timeout=60,
            env=env,
        )


def dangling_built_on(image_id: str, images: list[dict]) -> list[str]:
    """The images with no name that descend from *image_id* (`GET /images/json?all=1`'s
    ``ParentId`` chain), deepest first: what a `docker build FROM` the lab's image left
    when its client was killed before the tag (the build's last image and each step's
    below it). An image with a name is the learner's or someone's, never one of these."""
    parent = {str(i.get("Id")): str(i.get("ParentId") or "") for i in images}
    named = {str(i.get("Id")) for i in images if not unnamed(i)}
    found: list[tuple[int, str]] = []
    for iid in parent:
        if iid in named or iid == image_id:
            continue
        depth, p = 0, parent[iid]
        while p and depth < 1000:
            depth += 1
            if p == image_id:
                found.append((depth, iid))
                break
            p = parent.get(p, "")
    return [iid for _, iid in sorted(found, reverse=True)]


def _docker_out(args: list[str], env: dict[str, str]) -> str | None:
    r = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=60, env=env)
    return r.stdout if r.returncode == 0 else None


def disposable(inspected: str) -> list[str]:
    """The ids among `docker inspect --format '{{.Id}} {{.Name}} {{.HostConfig.AutoRemove}}'`
    lines that the lab may remove with its image: a container named shikumi… (the
    lab's own naming) or one started with `--rm` (throwaway by its own flag: a
    `docker run --rm` whose client a kill ended runs on). A learner's container with
    a name of its own and no `--rm` is theirs, and stays."""
    out = []
    for line in inspected.splitlines():
        parts = line.split()
        if len(parts) == 3 and (parts[1].lstrip("/").startswith("shikumi") or parts[2] == "true"):
            out.append(parts[0])
    return out


def _clear_image(name: str, env: dict[str, str]) -> None:
    """Before `docker rmi -f NAME` of the lab's image: `docker rm -f` its ``disposable``
    containers, made from it or from an image built on it (the image would only be
    untagged, and left with no name), then `docker rmi` (never -f) the nameless images
    a killed `docker build` FROM it left."""
    from lab.host.dockerhost import docker_get, docker_socket

    image_id = (_docker_out(["image", "inspect", "--format", "{{.Id}}", name], env) or "").strip()
    if not image_id:
        return
    users = _docker_out(["ps", "-a", "-q", "--no-trunc", "--filter", f"ancestor={image_id}"], env)
    if users and users.split():
        fmt = "{{.Id}} {{.Name}} {{.HostConfig.AutoRemove}}"
        inspected = _docker_out(["inspect", "--format", fmt, *users.split()], env) or ""
        for cid in disposable(inspected):
            subprocess.run(["docker", "rm", "-f", cid], capture_output=True, timeout=60, env=env)
    sock = docker_socket(env)
    if not sock:
        return
    try:
        images = docker_get(sock, "/images/json?all=1", 30)
    except (OSError, ValueError, http.client.HTTPException):
        return
    for iid in dangling_built_on(image_id, images):
        subprocess.run(["docker", "rmi", iid], capture_output=True, timeout=60, env=env)


def undo(e: Entry, home: Path) -> str:
    """`docker rm -f NAME` / `docker rmi -f NAME` / `docker network rm NAME`; a name
    already gone is fine."""
    from lab.host.dockerhost import with_docker_host

    if not shutil.which("docker"):
        return "docker not installed: nothing to remove"
    procs.kill_all(_docker_clients_for(e.target))
    env = with_docker_host(dict(os.environ))
    what, obj = _DOCKER_UNDO[e.kind]
    inspect = [obj, "inspect", e.target]
    if e.kind == "docker-network":
        _disconnect_all(e.target, env)
    if e.kind == "docker-image":
        _clear_image(e.target, env)
    removed = False
    for _ in range(5):  # the daemon may still be finishing what a killed client sent
        r = subprocess.run(
            ["docker", *what, e.target], capture_output=True, text=True, timeout=60, env=env
        )
        if r.returncode == 0:
            removed = True
        gone = (
            subprocess.run(
                ["docker", *inspect], capture_output=True, timeout=60, env=env
            ).returncode
            != 0
        )
        if gone:  # removed, or never made ("No such image", "network … not found")
            break
        if r.returncode != 0 and not _GONE_RE.search(r.stderr):
            raise RuntimeError(r.stderr.strip() or f"docker {' '.join(what)} failed")
        time.sleep(0.2)
    return "removed" if removed else "already gone"
