"""Undoing the lab's Docker objects: `docker rm -f` a container, `docker rmi -f` an
image, `docker network rm` a network (after disconnecting whatever is still attached
to it). Each is named shikumi… (``undo.validate`` refuses any other name); one that
is already gone is fine.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from pathlib import Path

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
