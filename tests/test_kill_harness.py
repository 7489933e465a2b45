"""The kill harness (issue: prove it is safe): at least 50 SIGKILLs of `shikumi play`
at random moments over every lesson, `shikumi cleanup` after each, nothing of the
lab's left and the host's binaries and libraries unchanged. Prints its counts."""

from __future__ import annotations

import os

import pytest

from tests.harness import kill
from tests.support import need_root, need_tool

KILLS = int(os.environ.get("SHIKUMI_KILLS", "50"))


def test_kill_harness(capsys: pytest.CaptureFixture[str]) -> None:
    need_root()
    need_tool("unshare", "ip")
    res = kill.run(
        seed=int(os.environ.get("SHIKUMI_KILL_SEED", "20261123")), kills=KILLS, log=lambda *_: None
    )
    with capsys.disabled():
        print("\n" + kill.summary(res))
        for leak in res.leaks[:20]:
            print("  leak:", leak)
        for change in res.host_changes[:20]:
            print("  host change:", change)
    assert res.kills >= KILLS
    assert len(res.lessons) >= min(len(kill.lesson_ids()), KILLS)
    assert res.cleanups_failed == 0
    assert res.leaks == []
    assert res.host_changes == []
    assert not res.ip_forward_changed
