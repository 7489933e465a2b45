"""Where the Docker daemon listens: $DOCKER_HOST, the default socket, or the
lab's private daemon (``assets/provision.sh --start-docker`` on a machine
without systemd writes its address to /run/shikumi-docker/env)."""

from __future__ import annotations

import http.client
import json
import os
import socket

PRIVATE_DOCKER_ENV = "/run/shikumi-docker/env"
DEFAULT_SOCKET = "/var/run/docker.sock"


def private_docker_host() -> str:
    """DOCKER_HOST from the env file `provision.sh --start-docker` writes ("" if none)."""
    try:
        with open(PRIVATE_DOCKER_ENV) as f:
            for line in f:
                key, _, value = line.strip().removeprefix("export ").partition("=")
                if key == "DOCKER_HOST" and value:
                    return value.strip("'\"")
    except OSError:
        pass
    return ""


def with_docker_host(env: dict[str, str]) -> dict[str, str]:
    """*env* with DOCKER_HOST pointing at the private daemon when nothing else is set
    and the default socket is absent, so `docker` in a lesson finds a daemon."""
    if env.get("DOCKER_HOST") or os.path.exists(DEFAULT_SOCKET):
        return env
    private = private_docker_host()
    if private and os.path.exists(private.removeprefix("unix://")):
        env = dict(env, DOCKER_HOST=private)
    return env


def docker_socket(env: dict[str, str] | None = None) -> str:
    """The daemon's unix socket path ("" when DOCKER_HOST is not a unix socket, or
    no socket file is there)."""
    host = with_docker_host(dict(os.environ if env is None else env)).get("DOCKER_HOST", "")
    if host and not host.startswith("unix://"):
        return ""
    sock = host.removeprefix("unix://") or DEFAULT_SOCKET
    return sock if os.path.exists(sock) else ""


class _UnixHTTP(http.client.HTTPConnection):
    def __init__(self, path: str, timeout: float) -> None:
        super().__init__("localhost", timeout=timeout)
        self._path = path

    def connect(self) -> None:
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(self.timeout)
        self.sock.connect(self._path)


def docker_get(sock: str, url: str, timeout: float) -> list[dict]:
    """GET *url* of the Engine API on unix socket *sock*: its JSON list (a few ms,
    where a `docker` command takes ~25 ms). Raises OSError, ValueError or
    http.client.HTTPException when the daemon does not answer well."""
    conn = _UnixHTTP(sock, timeout)
    try:
        conn.request("GET", url)
        resp = conn.getresponse()
        if resp.status != 200:
            raise OSError(f"Docker answered {resp.status} to {url}")
        data = json.loads(resp.read())
    finally:
        conn.close()
    return data if isinstance(data, list) else []
