"""Every check kind, passing and failing, on real state."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.lesson import checks
from lab.lesson.runner import Runner
from lab.safety.journal import Journal
from tests.lessonkit import act, check, lesson, step
from tests.support import need_root, need_tool


@pytest.fixture
def runner(tmp_path: Path):
    j = Journal.open(tmp_path / "home")
    steps = [
        step("out", act("run", "echo hello world; echo oops >&2; exit 2", expect="2")),
        step("box", act("spawn", "unshare --uts --mount --fork sleep 300", name="box")),
    ]
    r = Runner(lesson(*steps), j)
    assert r.run_step(0).status == "passed"
    yield r
    r.finish()
    j.close()


def ev(r: Runner, kind: str, **params) -> checks.CheckResult:
    r.ctx.step_id = "out"
    return checks.evaluate(check(kind, **params), r.ctx)


def test_every_kind_has_a_spec_and_a_handler() -> None:
    assert set(checks.KINDS) == set(checks._HANDLERS)
    for kind in checks.KINDS:
        spec = checks.spec(kind)
        assert spec["message"] == (str, True) and spec["message_ja"][1] is False


def test_path_exists_and_missing(runner: Runner, tmp_path: Path) -> None:
    f = tmp_path / "f"
    f.write_text("x")
    assert ev(runner, "path-exists", path=str(f), type="file").ok
    bad = ev(runner, "path-exists", path=str(f), type="dir")
    assert not bad.ok and "is a file, not a directory" in bad.reason
    assert not ev(runner, "path-exists", path=str(tmp_path / "nope")).ok
    assert ev(runner, "path-missing", path=str(tmp_path / "nope")).ok
    assert "still exists" in ev(runner, "path-missing", path=str(f)).reason


def test_file_contains(runner: Runner) -> None:
    assert ev(runner, "file-contains", path="/proc/self/status", pattern=r"^Pid:\s+\d+").ok
    r = ev(runner, "file-contains", path="/proc/self/status", pattern="^NoSuchField:")
    assert not r.ok and "does not show" in r.reason and "NoSuchField" not in r.reason
    assert "cannot read" in ev(runner, "file-contains", path="/nope", pattern="x").reason


def test_output_matches_and_streams(runner: Runner) -> None:
    assert ev(runner, "output-matches", pattern="^hello").ok
    assert not ev(runner, "output-matches", pattern="oops").ok
    assert ev(runner, "output-matches", pattern="oops", stream="stderr").ok
    assert ev(runner, "output-matches", pattern="world\noops", stream="both").ok
    # the cause, named: the step it reads has not run a command
    assert "has not run yet" in ev(runner, "output-matches", pattern="x", of="box").reason


def test_exit_status(runner: Runner) -> None:
    assert ev(runner, "exit-status", status=2).ok
    r = ev(runner, "exit-status", status=0)
    assert not r.ok and "status 2 (expected 0)" in r.reason


def test_command(runner: Runner) -> None:
    assert ev(runner, "command", run="test -d /proc/1").ok
    assert not ev(runner, "command", run="test -d /nonexistent").ok
    assert ev(runner, "command", run="uname -s", pattern="^Linux$").ok
    assert ev(runner, "command", run="exit 4", status=4).ok
    assert not ev(runner, "command", run="echo a", pattern="b").ok


def test_ns_differ_and_same_on_a_real_container(runner: Runner) -> None:
    need_root()
    need_tool("unshare")
    assert runner.run_step(1).status == "passed"
    assert ev(runner, "ns-differ", a="{{pid.box}}", b="self", types=["uts", "mnt"]).ok
    assert ev(runner, "ns-same", a="box", b="self", types=["net", "ipc"]).ok
    r = ev(runner, "ns-same", a="box", b="self", types=["uts"])
    assert not r.ok and "different uts namespaces" in r.reason
    assert not ev(runner, "ns-differ", a="box", b="self", types=["net"]).ok
    assert "has not been started yet" in ev(runner, "ns-same", a="ghost", b="self").reason


def test_mount_present_here_and_in_a_container(runner: Runner) -> None:
    need_root()
    assert ev(runner, "mount-present", target="/proc", fstype="proc").ok
    assert not ev(runner, "mount-present", target="/proc", fstype="ext4").ok
    assert runner.run_step(1).status == "passed"
    c = runner.ctx.run("mount -t tmpfs shk-test /mnt", "box", 5)
    assert c.exit == 0, c.stderr
    assert ev(runner, "mount-present", target="/mnt", fstype="tmpfs", **{"in": "box"}).ok
    assert not ev(runner, "mount-present", target="/mnt", fstype="tmpfs").ok  # not on the host
    assert "needs one of" in ev(runner, "mount-present").reason


def test_process_running(runner: Runner) -> None:
    need_root()
    assert not ev(runner, "process-running", name="box").ok
    assert runner.run_step(1).status == "passed"
    assert ev(runner, "process-running", name="box").ok
    pid = runner.vars.pids["box"]
    runner.ctx.run(f"kill {pid}", "", 5)
    for _ in range(100):
        if not ev(runner, "process-running", name="box").ok:
            break
        import time

        time.sleep(0.02)
    r = ev(runner, "process-running", name="box")
    assert not r.ok and "not running" in r.reason


def test_bad_parameters_fail_with_a_reason(runner: Runner) -> None:
    r = ev(runner, "path-exists")
    assert not r.ok and "missing parameter 'path'" in r.reason
    r = ev(runner, "file-contains", path="/x", pattern="(")
    assert not r.ok
    r = ev(runner, "path-exists", path="{{pid.none}}")
    assert not r.ok and "“none” has not been started yet" in r.reason and "{{" not in r.reason


def test_message_in_japanese(runner: Runner) -> None:
    runner.ctx.lang = "ja"
    a = check("path-exists", "exists", path="/", message_ja="ある")
    assert checks.evaluate(a, runner.ctx).message == "ある"
