"""Helpers for tests that need root, a kernel feature or Docker."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent


def need_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root (run the tests as root: sudo ./run.sh test)")


def need_tool(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        pytest.skip(f"needs {', '.join(missing)} on PATH (assets/provision.sh installs it)")


# a bound on a `shikumi` run is against a hang, not a measure: on a slower machine (the
# VM job under TCG emulation is 5-10 times slower than this host) it is scaled up
TIMEOUT_SCALE = float(os.environ.get("SHIKUMI_TEST_TIMEOUT_SCALE") or 1)


def shikumi(
    *args: str, home: Path | None = None, check: bool = False, timeout: float = 120, **kw: object
) -> subprocess.CompletedProcess:
    """Run the real `shikumi` command (as `python -m lab`) and capture its output;
    *timeout* times ``$SHIKUMI_TEST_TIMEOUT_SCALE`` (default 1)."""
    env = dict(os.environ)
    env.update(kw.pop("env", {}) or {})  # type: ignore[arg-type]
    if home is not None:
        env["SHIKUMI_HOME"] = str(home)
    try:
        r = subprocess.run(
            [sys.executable, "-m", "lab", *args],
            capture_output=True,
            text=True,
            env=env,
            timeout=timeout * TIMEOUT_SCALE,
            cwd=kw.pop("cwd", REPO),
        )  # type: ignore[arg-type]
    except subprocess.TimeoutExpired:
        # the command was killed mid-step: what it made is in its journal, so undo it
        # (as a learner would with `shikumi cleanup`) before the test fails
        subprocess.run(
            [sys.executable, "-m", "lab", "cleanup"],
            capture_output=True,
            env=env,
            timeout=120,
            cwd=REPO,
        )
        raise
    if check and r.returncode != 0:
        raise AssertionError(
            f"shikumi {' '.join(args)} exited {r.returncode}:\n{r.stdout}\n{r.stderr}"
        )
    return r


def cgroup_root_for(controller: str) -> Path | None:
    """Where to make a cgroup for *controller*: its v1 hierarchy, or the v2 root."""
    v1 = Path("/sys/fs/cgroup") / controller
    if (v1 / "cgroup.procs").exists():
        return v1
    v2 = Path("/sys/fs/cgroup")
    if (v2 / "cgroup.controllers").exists():
        return v2
    return None


def need_docker() -> None:
    """Skip unless a Docker daemon answers (DOCKER_HOST, the default socket, or the
    lab's private daemon that `./run.sh test` starts)."""
    from lab.ops import docker

    why = docker.available()
    if why:
        pytest.skip(f"needs a running Docker daemon (./run.sh test starts one): {why}")


def play_passes(*lessons: str, home: Path, timeout: float = 600) -> dict:
    """`shikumi play LESSONS --json` for real: every step passed, none skipped,
    nothing leaked. Returns the parsed report."""
    import json

    r = shikumi("play", *lessons, "--json", home=home, timeout=timeout)
    assert r.returncode == 0, r.stdout + r.stderr
    data = json.loads(r.stdout)
    assert len(data["lessons"]) == len(lessons), data
    for lesson in data["lessons"]:
        assert lesson["failed"] == 0, lesson
        assert lesson["skipped"] == 0, lesson
        assert lesson["passed"] == lesson["steps"], lesson
    assert data["leaked"] == []
    return data
