"""A registry of the lab's own (lesson 22): Debian's ``docker-registry`` (the CNCF
distribution registry, v2 API) on 127.0.0.1 and a free port, its config, storage
and log under ``HOME/registry/NAME``.

It is journaled (kind ``registry``) before it exists: cleanup kills it, removes the
images Docker pulled from it, and removes its directory (``lab.safety.undo_registry``).
Never on an address other machines reach: ``http.addr`` is 127.0.0.1:PORT.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import socket
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

from lab.errors import LabError
from lab.safety.home import require_inside
from lab.safety.journal import Journal
from lab.safety.resources import make_dir, spawn

TOOL = "docker-registry"
NAME_RE = re.compile(r"^[a-z0-9]{1,16}$")
START_WAIT = 15.0  # seconds for /v2/ to answer
HTTP_TIMEOUT = 5.0
CONFIG = """\
# written by shikumi-lab: a registry on 127.0.0.1 only, its storage in this folder
version: 0.1
log:
  level: warn
storage:
  filesystem:
    rootdirectory: {storage}
  delete:
    enabled: true
http:
  addr: 127.0.0.1:{port}
"""


@dataclass
class Registry:
    name: str
    port: int
    dir: Path
    pid: int

    @property
    def addr(self) -> str:
        return f"127.0.0.1:{self.port}"

    @property
    def storage(self) -> Path:
        return self.dir / "storage"

    @property
    def config(self) -> Path:
        return self.dir / "config.yml"

    @property
    def blobs(self) -> Path:
        """Where the registry keeps every blob: blobs/sha256/XX/HEX/data."""
        return self.storage / "docker" / "registry" / "v2" / "blobs" / "sha256"


def available() -> str:
    """Why a registry cannot start here ("" if it can)."""
    if shutil.which(TOOL) is None:
        return f"{TOOL} is not installed (apt-get install docker-registry, or ./run.sh)"
    return ""


def registry_dir(home: Path, name: str) -> Path:
    if not NAME_RE.match(name):
        raise LabError(f"a registry's name is 1–16 lowercase letters or digits (got {name!r})")
    return Path(home) / "registry" / name


def free_port() -> int:
    """A port nothing listens on now, on 127.0.0.1 (the kernel picks it)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def get(addr: str, path: str, method: str = "GET") -> tuple[int, dict[str, str], bytes]:
    """One HTTP request to the registry: (status, headers in lower case, body)."""
    host, port = addr.rsplit(":", 1)
    conn = http.client.HTTPConnection(host, int(port), timeout=HTTP_TIMEOUT)
    try:
        conn.request(method, path)
        resp = conn.getresponse()
        body = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, body
    finally:
        conn.close()


def answers(addr: str) -> bool:
    try:
        status, headers, _ = get(addr, "/v2/")
    except (OSError, http.client.HTTPException):
        return False
    return status == 200 and headers.get("docker-distribution-api-version") == "registry/2.0"


class _PortTaken(Exception):
    """Another process took the free port between the kernel's pick and the registry's bind."""


PORT_TRIES = 3


def start(j: Journal, name: str) -> Registry:
    """Start ``docker-registry serve HOME/registry/NAME/config.yml`` on a free port
    (another one if something takes that port first)."""
    why = available()
    if why:
        raise LabError(why)
    where = registry_dir(j.home, name)
    require_inside(str(where), j.home)
    if where.exists():
        raise LabError(f"{where} already exists", "shikumi cleanup removes a registry left behind")
    make_dir(j, where.parent)
    for _ in range(PORT_TRIES - 1):
        try:
            return _start_once(j, name, where)
        except _PortTaken:
            continue
    return _start_once(j, name, where)


def _start_once(j: Journal, name: str, where: Path) -> Registry:
    port = free_port()
    entry = j.record("registry", str(where), marker=f"shikumi-{j.session}-reg{name}", port=port)
    (where / "storage").mkdir(parents=True)
    (where / "config.yml").write_text(CONFIG.format(storage=where / "storage", port=port))
    exe = shutil.which(TOOL) or TOOL
    with open(where / "registry.log", "ab") as log:
        p, _ = spawn(
            j,
            [exe, "serve", str(where / "config.yml")],
            f"registry {name}",
            env=dict(os.environ, SHIKUMI_HOME=str(j.home)),  # whose it is, for the leak checks
            entry=entry,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    reg = Registry(name, port, where, p.pid)
    deadline = time.monotonic() + START_WAIT
    while not answers(reg.addr):
        if p.poll() is not None or time.monotonic() > deadline:
            if p.poll() is None:
                p.kill()
            with contextlib.suppress(subprocess.TimeoutExpired):
                p.wait(timeout=5)
            log_text = (where / "registry.log").read_text(errors="replace")
            if "address already in use" in log_text and j.undo(entry).ok:
                raise _PortTaken(port)
            tail = log_text.strip().splitlines()[-3:]
            raise LabError(
                f"{TOOL} did not answer on {reg.addr} within {START_WAIT:g} s",
                " / ".join(tail) or "see " + str(where / "registry.log"),
            )
        time.sleep(0.1)
    return reg


def catalog(addr: str) -> list[str]:
    status, _, body = get(addr, "/v2/_catalog")
    if status != 200:
        return []
    return list(json.loads(body).get("repositories") or [])
