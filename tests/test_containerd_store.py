"""Lesson 13 with Docker's containerd image store, on a temporary dockerd of its own.

Docker 29 makes the containerd image store the default of fresh installs; there
`docker inspect` has no GraphDriver.Data and the lab reads the overlay from the
container's root mount. This test starts its own dockerd with
``"features": {"containerd-snapshotter": true}`` (its own data root, exec root, socket,
pidfile and managed containerd; a bridge of its own and ``--iptables=false``: nothing of
the host's network), plays lesson 13 against it, then stops it and removes its data.
Not ``--bridge=none``: a dockerd started with it deletes the host's ``docker0``, which
the lab's own daemon still uses (found when every later `docker run -p` failed).

The feature needs dockerd 24 or later. The dockerd used: ``$SHIKUMI_TEST_DOCKERD``
(a path; the containerd beside it is used too), else the system's when it is new
enough (Ubuntu 24.04, Debian 13). Debian 12's docker.io is 20.10: there the test is
skipped with that reason, unless SHIKUMI_TEST_DOCKERD points at a newer one (e.g.
Debian 13's docker.io and containerd packages unpacked with ``dpkg-deb -x``). The VM
job ``tests/vm/jobs/docker-stores.sh`` plays lessons 10–13 with both stores in Debian 13.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from lab.host import mounts
from lab.ops import docker
from tests.support import need_root, need_tool, shikumi


def _dockerd() -> tuple[str, str]:
    """(a dockerd that has the containerd image store, the PATH to run it with), or skip."""
    given = os.environ.get("SHIKUMI_TEST_DOCKERD", "")
    path = given or shutil.which("dockerd") or ""
    if not path or not os.access(path, os.X_OK):
        pytest.skip(f"no dockerd ({given or 'none on PATH'})")
    bindir = str(Path(path).resolve().parent)
    extra = [bindir, str(Path(bindir).parent.parent / "usr/bin"), str(Path(bindir).parent / "bin")]
    env_path = ":".join([*extra, os.environ.get("PATH", "")])
    r = subprocess.run(
        [path, "--version"], capture_output=True, text=True, timeout=20, env={"PATH": env_path}
    )
    m = re.search(r"version (\d+)\.", r.stdout)
    major = int(m.group(1)) if m else 0
    if major < 24:
        pytest.skip(
            f"{path} is Docker {major or '?'}: the containerd image store needs dockerd 24 or "
            "later (Debian 12 has 20.10; set SHIKUMI_TEST_DOCKERD to a newer dockerd, or run "
            "tests/vm/run.sh --suite trixie --job docker-stores)"
        )
    return path, env_path


@pytest.fixture()
def containerd_dockerd() -> Iterator[str]:
    """DOCKER_HOST of a temporary dockerd with the containerd image store."""
    need_root()
    need_tool("docker")
    path, env_path = _dockerd()
    tag = secrets.token_hex(4)
    # under /tmp: the lab's tests keep it on a real filesystem (a volume in the fresh
    # Debian harness), where containerd's overlay snapshots can have their upper dirs
    data = Path(f"/tmp/shikumi-test-dockerd-{tag}")
    run = Path(f"/run/shk-test-dockerd-{tag}")
    run.mkdir(parents=True)
    data.mkdir(parents=True)
    bridge = f"shkcd{tag}"  # 13 characters: a link name may have 15
    subprocess.run(["ip", "link", "add", bridge, "type", "bridge"], check=True, timeout=30)
    subprocess.run(["ip", "addr", "add", "10.254.13.1/24", "dev", bridge], check=True, timeout=30)
    subprocess.run(["ip", "link", "set", bridge, "up"], check=True, timeout=30)
    (run / "daemon.json").write_text(json.dumps({"features": {"containerd-snapshotter": True}}))
    host = f"unix://{run}/docker.sock"
    log = open(run / "dockerd.log", "w")  # noqa: SIM115 (closed below)
    proc = subprocess.Popen(
        [
            path,
            f"--host={host}",
            f"--data-root={data}",
            f"--exec-root={run}/exec",
            f"--pidfile={run}/dockerd.pid",
            f"--config-file={run}/daemon.json",
            f"--bridge={bridge}",
            "--iptables=false",
            "--ip6tables=false",
        ],
        stdin=subprocess.DEVNULL,
        stdout=log,
        stderr=subprocess.STDOUT,
        env={"PATH": env_path},
        start_new_session=True,
    )
    env = dict(os.environ, DOCKER_HOST=host)
    try:
        for _ in range(60):
            if proc.poll() is not None:
                break
            r = subprocess.run(
                ["docker", "info", "--format", "{{json .DriverStatus}}"],
                capture_output=True,
                text=True,
                env=env,
                timeout=20,
            )
            if r.returncode == 0:
                break
            proc_wait(proc, 1)
        else:
            r = None
        text = (run / "dockerd.log").read_text(errors="replace")[-2000:]
        assert r is not None and r.returncode == 0, f"the test dockerd did not answer:\n{text}"
        assert docker.CONTAINERD_SNAPSHOTTER in r.stdout, r.stdout
        yield host
    finally:
        proc.terminate()
        if proc_wait(proc, 30) is None:
            proc.kill()
            proc.wait(timeout=30)
        log.close()
        for m in mounts.under(str(data)):
            subprocess.run(["umount", "-l", m.target], capture_output=True, timeout=30)
        assert not mounts.under(str(data)), "the test dockerd left mounts"
        shutil.rmtree(data)  # nothing is mounted under it (above): its own files only
        shutil.rmtree(run)
        subprocess.run(["ip", "link", "del", bridge], capture_output=True, timeout=30)


def proc_wait(proc: subprocess.Popen, secs: float) -> int | None:
    try:
        return proc.wait(timeout=secs)
    except subprocess.TimeoutExpired:
        return None


def test_lesson_13_on_the_containerd_image_store(
    containerd_dockerd: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    need_tool("unshare", "nsenter", "chroot", "ldd", "tar")
    monkeypatch.setenv("DOCKER_HOST", containerd_dockerd)
    assert docker.image_store().containerd
    home = tmp_path / "home"
    r = shikumi("play", "13", "--json", home=home, timeout=600)
    data = json.loads(r.stdout)
    (lesson,) = data["lessons"]
    assert lesson["failed"] == 0 and lesson["skipped"] == 0, lesson
    assert lesson["passed"] == lesson["steps"], lesson
    # the try needs the learner on this store too, and its solution passes
    r = shikumi("play", "13", "--verify-tries", home=home, timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    assert docker.names("container") == [] and docker.names("image") == []
