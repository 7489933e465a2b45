"""The kill harness (issue 12: proofs that measure what they claim), a seeded subset
that fits CI: `shikumi play` killed at moments drawn over each lesson's measured
run, the app killed in tmux mid-step, `shikumi cleanup` itself killed mid-way;
`shikumi cleanup` and a leak check after each; the host unchanged. Only kills that
interrupted journaled work count. The full run (>= 100 real kills over every
lesson) is `python -m tests.harness.kill --kills 120 --seed 1` (docs/reliability.md)."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

from tests.harness import kill, state
from tests.support import need_root, need_tool

KILLS = int(os.environ.get("SHIKUMI_KILLS", "12"))
LESSONS = os.environ.get("SHIKUMI_KILL_LESSONS", "02-processes,15-networking,16-cgroups").split(",")


def test_a_kill_counts_only_if_it_interrupted_work(tmp_path: Path) -> None:
    """The classification itself: a kill before the interpreter has journaled anything
    is idle, one after the play ended is ended; neither is counted as real."""
    need_root()
    home = tmp_path / "home"
    env = dict(os.environ, SHIKUMI_HOME=str(home))
    early = kill.Kill(1, "play", "01-where-am-i", at=0.0, window=1.0)
    kill.kill_play(early, env, home)
    assert early.outcome == "idle" and early.in_flight == []
    late = kill.Kill(2, "play", "01-where-am-i", at=600.0, window=600.0)
    kill.kill_play(late, env, home)
    assert late.outcome == "ended"
    res = kill.Result(seed=0)
    res.count(early)
    res.count(late)
    assert (res.attempted, res.real, res.idle, res.ended) == (2, 0, 1, 1)
    subprocess.run(
        [sys.executable, "-m", "lab", "cleanup"], env=env, capture_output=True, timeout=120
    )


def test_the_leak_check_sees_what_is_left(tmp_path: Path) -> None:
    """The harness's own leak check is not blind: a link and a marked process of this
    home are found; another home's marked process is not ours."""
    need_root()
    need_tool("ip")
    name = f"shk{uuid.uuid4().hex[:8]}"
    home = tmp_path / "home"
    before = set(state.lab_things(home))
    mine = subprocess.Popen(
        ["sleep", "60"], env=dict(os.environ, SHIKUMI_MARK="shikumi-t-1", SHIKUMI_HOME=str(home))
    )
    other = subprocess.Popen(
        ["sleep", "60"], env=dict(os.environ, SHIKUMI_MARK="shikumi-t-1", SHIKUMI_HOME="/elsewhere")
    )
    try:
        r = subprocess.run(
            ["ip", "link", "add", name, "type", "veth", "peer", "name", name + "p"],
            capture_output=True,
            text=True,
            timeout=30,
        )
        assert r.returncode == 0, r.stderr
        new = set(state.lab_things(home)) - before
        assert f"link {name}" in new and f"link {name}p" in new
        assert f"process {mine.pid} sleep" in new
        assert f"process {other.pid} sleep" not in new
    finally:
        subprocess.run(["ip", "link", "del", name], capture_output=True, timeout=30)
        for p in (mine, other):
            p.kill()
            p.wait(timeout=10)


def test_kill_harness(capsys: pytest.CaptureFixture[str]) -> None:
    need_root()
    need_tool("unshare", "ip", "tmux")
    res = kill.run(
        seed=int(os.environ.get("SHIKUMI_KILL_SEED", "7")),
        kills=KILLS,
        lessons=LESSONS,
        log=lambda *_: None,
    )
    with capsys.disabled():
        print("\n" + kill.summary(res))
        for leak in res.leaks[:20]:
            print("  leak:", leak)
        for change in res.host_changes[:20]:
            print("  host change:", change)
    assert res.real >= KILLS
    assert res.attempted == res.real + res.ended + res.idle + res.errors
    assert res.errors == 0, [k for k in res.kills if k["outcome"] == "error"]
    assert all(k["in_flight"] for k in res.kills if k["outcome"] == "real")
    assert set(res.kinds) == set(kill.KINDS)  # play, the app and cleanup were each killed
    assert res.kinds["play"]["real"] >= 1 and res.kinds["app"]["real"] >= 1
    # moments are drawn over the whole measured run, not its first seconds
    for lesson in LESSONS:
        m = res.measured[lesson]
        plays = [k for k in res.kills if k["kind"] == "play" and k["lesson"] == lesson]
        assert all(0 <= k["at"] <= m["seconds"] and k["window"] == m["seconds"] for k in plays)
    assert res.cleanups_failed == 0
    assert res.leaks == []
    assert res.host_changes == []
    assert not res.ip_forward_changed
