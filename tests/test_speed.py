"""Container start by hand vs `docker run --rm` of the same rootfs (figures, never timed asserts)."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.ops import rootfs, speed
from lab.safety.journal import Journal
from tests.support import need_root, need_tool


@pytest.fixture()
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "home") as j:
        yield j


def test_timing_median() -> None:
    assert speed.Timing("x", "x", [0.3, 0.1, 0.2]).median == 0.2
    assert (
        speed.Comparison(speed.Timing("a", "a", [0.01]), speed.Timing("d", "d", [0.5])).ratio
        == 50.0
    )


def test_by_hand_and_docker(journal: Journal) -> None:
    need_root()
    need_tool("unshare", "busybox")
    r = rootfs.build_busybox(journal, journal.home / "rootfs")
    env, why = speed.docker_env()
    if env is None:
        pytest.skip(why)
    cmp = speed.compare(r.root, runs=5, docker_runs=2, j=journal)
    assert len(cmp.by_hand.runs) == 5 and cmp.by_hand.median > 0
    assert cmp.docker is not None and len(cmp.docker.runs) == 2 and cmp.ratio
    assert cmp.by_hand.command.startswith("unshare ") and cmp.docker.command.startswith(
        "docker run --rm"
    )
