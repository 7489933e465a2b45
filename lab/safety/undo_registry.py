"""Undoing a registry the lab started (lesson 22): a ``registry`` entry.

The entry's target is the registry's directory inside the lab's home (its
config.yml, its storage, its log); its meta holds the marker in the process's
environment (``SHIKUMI_MARK``), the port it listens on (127.0.0.1 only) and,
once started, the pid and its start time. Undoing it kills the process (every
one carrying the marker), removes from the Docker daemon the images pulled from
``127.0.0.1:PORT/shikumi…`` (the lab's registry only ever holds shikumi…
repositories), then removes the directory. Each part that is already gone is fine.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from lab.safety import procs
from lab.safety.entry import Entry
from lab.safety.home import is_inside
from lab.safety.remove import safe_rmtree

TIMEOUT = 30
# an image pulled from the lab's registry: 127.0.0.1:PORT/shikumi… (by tag or by digest)
LOCAL_IMAGE_RE = re.compile(r"^(127\.0\.0\.1|localhost):(\d{1,5})/shikumi[A-Za-z0-9_./-]{0,100}$")


def validate(entry: Entry, home: Path) -> str:
    marker, port = entry.meta.get("marker"), entry.meta.get("port")
    if not is_inside(entry.target, home) or os.path.normpath(entry.target) == os.path.normpath(
        str(home)
    ):
        return f"the registry's directory {entry.target} is not inside the lab home {home}"
    if not isinstance(marker, str) or not marker.startswith("shikumi-"):
        return "a registry entry needs its shikumi-… marker"
    if not isinstance(port, int) or not 0 < port < 65536:
        return f"a registry entry needs its port (got {port!r})"
    return ""


def _kill(e: Entry) -> int:
    pid, start = e.meta.get("pid"), e.meta.get("start")
    pids = set(procs.with_marker(str(e.meta["marker"])))
    if isinstance(pid, int) and procs.alive(pid, start if isinstance(start, int) else None):
        pids.add(pid)
    killed: list[int] = []
    for _ in range(10):
        if not pids:
            break
        killed += procs.kill_all(sorted(pids))
        pids = set(procs.with_marker(str(e.meta["marker"])))
    left = [p for p in killed if procs.alive(p)] + sorted(pids)
    if left:
        raise RuntimeError(f"the registry's processes {left} did not die")
    return len(killed)


def pulled_images(port: int, env: dict[str, str]) -> list[str] | None:
    """References (repo:tag, repo@digest) of the Docker daemon's images that come from
    127.0.0.1:PORT/shikumi…; None when no daemon answers."""
    if shutil.which("docker") is None:
        return None
    fmt = "{{.Repository}} {{.Tag}} {{.Digest}}"
    try:
        r = subprocess.run(
            ["docker", "images", "--digests", "--no-trunc", "--format", fmt],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            stdin=subprocess.DEVNULL,
        )
    except (OSError, subprocess.TimeoutExpired):
        return None
    if r.returncode != 0:
        return None
    refs: list[str] = []
    for line in r.stdout.splitlines():
        parts = line.split()
        if len(parts) != 3:
            continue
        repo, tag, digest = parts
        m = LOCAL_IMAGE_RE.match(repo)
        if not m or int(m.group(2)) != port:
            continue
        if tag != "<none>":
            refs.append(f"{repo}:{tag}")
        if digest.startswith("sha256:"):
            refs.append(f"{repo}@{digest}")
    return refs


def _remove_images(port: int) -> int:
    from lab.host.dockerhost import with_docker_host

    env = with_docker_host(dict(os.environ))
    refs = pulled_images(port, env) or []
    for ref in refs:
        r = subprocess.run(
            ["docker", "rmi", ref],
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
            env=env,
            stdin=subprocess.DEVNULL,
        )
        if r.returncode != 0 and "no such" not in r.stderr.lower():
            raise RuntimeError(r.stderr.strip() or f"docker rmi {ref} failed")
    left = pulled_images(port, env) or []
    if left:
        raise RuntimeError(f"Docker still holds {', '.join(left)}")
    return len(refs)


def undo(e: Entry, home: Path) -> str:
    killed = _kill(e)
    images = _remove_images(int(e.meta["port"]))
    removed = safe_rmtree(e.target, home) if os.path.lexists(e.target) else 0
    done = []
    if killed:
        done.append(f"stopped the registry on 127.0.0.1:{e.meta['port']}")
    if images:
        done.append(f"removed {images} image reference(s) pulled from it")
    if removed:
        done.append(f"removed {e.target}")
    return ", ".join(done) or "nothing left"
