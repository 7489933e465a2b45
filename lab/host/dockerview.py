"""What Docker holds, as What changed's ``docker`` lines: its images (by tag, and by
digest for one pulled by digest, which has no tag) and its containers with their
state. ``docker pull``, ``docker tag``, ``docker commit``, ``docker run``,
``docker pause`` change these, and their files are in Docker's own store (its
data root, overlay2 or containerd's snapshotter), which is not the lab's to walk.
Asked over the daemon's unix socket (the Engine API), bounded; nothing when no
daemon is there. Reads only."""

from __future__ import annotations

import http.client

from lab.host.dockerhost import docker_get

TIMEOUT = 1.0  # a slow daemon costs one snapshot this, at most, per request
NONE = "<none>:<none>"
SHORT = 12  # hex digits of an id or a digest shown, as `docker images` shows ids


def _short(digest: str) -> str:
    algo, _, hexes = digest.partition(":")
    return f"{algo}:{hexes[:SHORT]}" if hexes else digest


def tags_of(image: dict) -> list[str]:
    """An Engine API image's tags (Docker 20.10 says ``<none>:<none>`` for none)."""
    return [t for t in image.get("RepoTags") or [] if t != NONE]


def digests_of(image: dict) -> list[str]:
    """Its ``REPO@sha256:…`` names (``<none>@…`` for none)."""
    return [d for d in image.get("RepoDigests") or [] if not d.startswith("<none>@")]


def unnamed(image: dict) -> str:
    """``sha256:123456789abc (no name)`` for an image with neither tag nor digest (a
    dangling layer, a build's step), "" for one with a name."""
    if tags_of(image) or digests_of(image):
        return ""
    return f"{_short(str(image.get('Id', '?')))} (no name)"


def image_lines(images: list[dict]) -> set[str]:
    """``image REPO:TAG`` for each tag, ``image REPO@sha256:123456789abc`` for each
    digest of an image without a tag, ``image sha256:123456789abc (no name)`` for
    one with neither."""
    out = set()
    for im in images:
        tags = tags_of(im)
        out.update(f"image {t}" for t in tags)
        if not tags:
            out.update(f"image {d.partition('@')[0]}@{_short(d.partition('@')[2])}"
                       for d in digests_of(im))  # fmt: skip
            if nameless := unnamed(im):
                out.add(f"image {nameless}")
    return out


def container_lines(containers: list[dict]) -> set[str]:
    """``container NAME (IMAGE) STATE``: running, paused, exited, created (not its
    Status, whose "Up 3 seconds" would change at every look)."""
    out = set()
    for c in containers:
        names = [n.lstrip("/") for n in c.get("Names") or []] or [str(c.get("Id", "?"))[:SHORT]]
        image = str(c.get("Image", "?"))
        if image.startswith("sha256:"):
            image = _short(image)
        out.add(f"container {names[0]} ({image}) {c.get('State', '?')}")
    return out


def read_docker(sock: str) -> frozenset[str]:
    """The lines of the daemon on *sock*; OSError when it does not answer."""
    try:
        images = docker_get(sock, "/images/json", TIMEOUT)
        containers = docker_get(sock, "/containers/json?all=1", TIMEOUT)
    except (ValueError, http.client.HTTPException) as e:
        raise OSError(f"Docker's answer could not be read: {e}") from None
    return frozenset(image_lines(images) | container_lines(containers))
