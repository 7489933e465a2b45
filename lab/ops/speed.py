"""How fast a container starts: by hand (unshare + chroot) vs `docker run --rm`, same rootfs.

Medians over N runs of a container that runs /bin/true and exits, measured on
this machine (lesson 18 draws them as bars; bench/ reports the ratio).
"""

from __future__ import annotations

import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.host import proc_run
from lab.host.dockerhost import with_docker_host
from lab.ops import container, rootfs
from lab.safety.journal import Journal

TRUE = "/bin/true"
IMPORT_TIMEOUT = 120.0  # `docker import` of a small rootfs: seconds, even on a slow disk


@dataclass
class Timing:
    label: str
    command: str
    runs: list[float] = field(default_factory=list)  # seconds

    @property
    def median(self) -> float:
        return statistics.median(self.runs) if self.runs else 0.0


@dataclass
class Comparison:
    by_hand: Timing
    docker: Timing | None  # None: no Docker daemon here
    why_no_docker: str = ""

    @property
    def ratio(self) -> float | None:
        if not self.docker or not self.by_hand.median:
            return None
        return self.docker.median / self.by_hand.median


def _time(argv: Sequence[str], env: dict[str, str] | None = None) -> float:
    t0 = time.perf_counter()
    r = proc_run.run(argv, capture_output=True, env=env, timeout=120)
    dt = time.perf_counter() - t0
    if r.returncode != 0:
        raise LabError(f"{' '.join(argv)} failed: {r.stderr.decode(errors='replace').strip()}")
    return dt


def true_cmd(root: Path) -> list[str]:
    """The command that exists in the rootfs and does nothing (busybox or ldd rootfs)."""
    for cand in ("/bin/true", "/usr/bin/true"):
        if os.path.lexists(str(root) + cand):
            return [cand]
    return ["/bin/sh", "-c", "true"]


def by_hand(root: Path, runs: int = 20) -> Timing:
    argv = container.argv(root, true_cmd(root))
    t = Timing("by hand", " ".join(argv))
    t.runs = [_time(argv) for _ in range(runs)]
    return t


def docker_env() -> tuple[dict[str, str] | None, str]:
    """The environment that reaches a Docker daemon, or (None, why not)."""
    if not shutil.which("docker"):
        return None, "docker is not installed"
    env = with_docker_host(dict(os.environ))
    try:
        answered = proc_run.run(["docker", "info"], env=env, capture_output=True, timeout=30)
    except proc_run.CommandTimeout:
        return None, "the Docker daemon does not answer within 30 s"
    if answered.returncode:
        return None, "no Docker daemon answers (./run.sh starts one)"
    return env, ""


def docker(
    root: Path, runs: int = 5, tag: str = "shikumi-speed:rootfs", j: Journal | None = None
) -> Timing:
    """`docker import` the rootfs, time `docker run --rm`, remove the image again
    (journaled as a docker-image when *j* is given, so a crash leaves no image)."""
    env, why = docker_env()
    if env is None:
        raise LabError(why)
    entry = j.record("docker-image", tag) if j is not None else None
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "rootfs.tar"
        rootfs.to_tar(root, tar)
        r = proc_run.run(
            ["docker", "import", str(tar), tag],
            env=env,
            capture_output=True,
            timeout=IMPORT_TIMEOUT,
        )
        if r.returncode != 0:
            raise LabError(f"docker import failed: {r.stderr.decode(errors='replace').strip()}")
    argv = ["docker", "run", "--rm", "--network", "none", tag, *true_cmd(root)]
    t = Timing("docker run --rm", " ".join(argv))
    try:
        t.runs = [_time(argv, env) for _ in range(runs)]
    finally:
        if j is not None and entry is not None:
            j.undo(entry)
        else:
            proc_run.run(["docker", "rmi", "-f", tag], env=env, capture_output=True, timeout=60)
    return t


def compare(
    root: Path, runs: int = 20, docker_runs: int = 5, j: Journal | None = None
) -> Comparison:
    hand = by_hand(root, runs)
    env, why = docker_env()
    if env is None:
        return Comparison(hand, None, why)
    return Comparison(hand, docker(root, docker_runs, j=j))
