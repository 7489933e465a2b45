"""Where the Docker daemon listens: $DOCKER_HOST, the default socket, or the
lab's private daemon (``assets/provision.sh --start-docker`` on a machine
without systemd writes its address to /run/shikumi-docker/env)."""

from __future__ import annotations

import os

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
