"""Probe: the command-line tools the lessons run, and the Docker daemon.

A tool counts only if it is on PATH *and* runs: each one is asked for its
version with a short timeout, and that line is what the check shows.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass

from lab.doctor.probe import Check, one_line, run
from lab.host.dockerhost import PRIVATE_DOCKER_ENV, private_docker_host

INSTALL_ALL = "or ./run.sh installs everything"
DEFAULT_DOCKER_HOST = "unix:///var/run/docker.sock"
DOCKER_TIMEOUT = 10.0  # a busy daemon in a slow VM (TCG) took over 5 s to answer
# A tool's --version answers in milliseconds, but a big Go binary (docker) on a
# small, busy or emulated VM has taken over 3 s to start: a tool is missing only
# if it does not answer within this.
TOOL_TIMEOUT = 10.0


@dataclass(frozen=True)
class Tool:
    name: str
    version_args: tuple[str, ...]  # how to make it print its version
    package: str  # the Debian/Ubuntu package that holds it
    required: bool
    marker: str = ""  # text its output must hold (for tools whose exit status says nothing)


TOOLS: tuple[Tool, ...] = (
    Tool("ldd", ("--version",), "libc-bin", True),
    Tool("unshare", ("--version",), "util-linux", True),
    Tool("chroot", ("--version",), "coreutils", True),
    Tool("nsenter", ("--version",), "util-linux", True),
    Tool("mount", ("--version",), "mount", True),
    Tool("ip", ("-V",), "iproute2", True),
    Tool("tar", ("--version",), "tar", True),
    Tool("ps", ("--version",), "procps", True),
    Tool("tree", ("--version",), "tree", False),
    Tool(
        "busybox", (), "busybox-static", False, marker="BusyBox"
    ),  # no arguments: lists its applets
    Tool("iptables", ("--version",), "iptables", False),
    Tool("tmux", ("-V",), "tmux", False),
    Tool("docker", ("--version",), "docker.io", False),
    # lessons 19–20: the OCI runtimes, capabilities, reading config.json
    Tool("runc", ("--version",), "runc", False),
    Tool("crun", ("--version",), "crun", False),
    Tool("capsh", ("--help",), "libcap2-bin", False, marker="capsh"),
    Tool("jq", ("--version",), "jq", False),
    # lesson 21: subordinate ids mapped by the setuid helpers, rootless containers
    Tool("newuidmap", (), "uidmap", False, marker="usage: newuidmap"),
    Tool("newgidmap", (), "uidmap", False, marker="usage: newgidmap"),
    Tool("rootlesskit", ("--version",), "rootlesskit", False),
    Tool("slirp4netns", ("--version",), "slirp4netns", False),
    # lesson 22: a registry of the lab's own, and two readers of images
    Tool("docker-registry", ("--version",), "docker-registry", False),
    Tool("skopeo", ("--version",), "skopeo", False),
    Tool("umoci", ("--version",), "umoci", False),
    Tool("curl", ("--version",), "curl", False),
    Tool("sha256sum", ("--version",), "coreutils", False),
)


def probe_tool(tool: Tool) -> Check:
    name = f"tool.{tool.name}"
    install = f"apt-get install {tool.package} ({INSTALL_ALL})"
    path = shutil.which(tool.name)
    if path is None:
        return Check(name, False, tool.required, f"{tool.name} is not on PATH", install)
    argv = [path, *tool.version_args]
    try:
        rc, out, err = run(argv, timeout=TOOL_TIMEOUT)
    except OSError as e:
        return Check(
            name,
            False,
            tool.required,
            f"{path} is on PATH but does not start: {e.strerror or e}",
            f"reinstall: apt-get install --reinstall {tool.package}",
        )
    text = out if out.strip() else err
    if tool.marker:
        line = next((ln.strip() for ln in (out + "\n" + err).splitlines() if tool.marker in ln), "")
        works = bool(line)
    else:
        line, works = one_line(text), rc == 0 and bool(text.strip())
    line = line.split(" © ")[0]  # tree names all its authors
    if not works:
        why = one_line(err) or one_line(out) or "no output"
        return Check(
            name,
            False,
            tool.required,
            f"{path} {' '.join(tool.version_args)} failed (exit {rc}): {why}",
            f"reinstall: apt-get install --reinstall {tool.package}",
        )
    return Check(name, True, tool.required, f"{path}: {line}", "")


def _docker_version(docker: str, host: str | None) -> tuple[str, str]:
    """(server version, error line): asks the daemon at *host* (None: the client's default)."""
    env = dict(os.environ)
    if host is not None:
        env["DOCKER_HOST"] = host
    rc, out, err = run(
        # `docker version` asks only /version: `docker info` gathers the whole daemon's state
        # (every container, image and plugin), which a busy daemon answers slowly
        [docker, "version", "--format", "{{.Server.Version}}"],
        timeout=DOCKER_TIMEOUT,
        env=env,
    )
    version = out.strip()
    if rc == 0 and version:
        return version, ""
    return "", one_line(err) or one_line(out) or f"docker version exited {rc}"


def probe_docker_daemon() -> Check:
    name = "docker.daemon"
    docker = shutil.which("docker")
    if docker is None:
        return Check(
            name,
            False,
            False,
            "no docker client on PATH, so no daemon to ask",
            f"apt-get install docker.io ({INSTALL_ALL})",
        )
    env_host = os.environ.get("DOCKER_HOST", "")
    where = env_host or DEFAULT_DOCKER_HOST
    try:
        version, error = _docker_version(docker, None)
        if version:
            via = "$DOCKER_HOST" if env_host else "the default socket"
            return Check(
                name, True, False, f"Docker Engine {version} answers at {where} ({via})", ""
            )
        private = "" if env_host else private_docker_host()
        if private and private != where:
            pversion, _ = _docker_version(docker, private)
            if pversion:
                return Check(
                    name,
                    True,
                    False,
                    f"Docker Engine {pversion} answers at {private} (the lab's private daemon, from {PRIVATE_DOCKER_ENV})",
                    "",
                )
    except OSError as e:
        return Check(
            name,
            False,
            False,
            f"{docker} does not start: {e.strerror or e}",
            "reinstall: apt-get install --reinstall docker.io",
        )
    if "permission denied" in error.lower():
        fix = "run as root (sudo shikumi), or add yourself to the docker group"
    else:
        fix = "start it: systemctl start docker, or ./run.sh test / assets/provision.sh --start-docker starts a private one"
    return Check(name, False, False, f"no daemon answers at {where}: {error}", fix)
