"""The runner, for real: streaming, expected failures, timeouts, cancel, spawn, in=NAME."""

from __future__ import annotations

import os
import shlex
import threading
import time
from pathlib import Path

import pytest

from lab.lesson import runner as rmod
from lab.lesson.runner import Runner
from lab.lesson.variables import UnknownVariable, Variables, names_in
from lab.safety import procs
from lab.safety.journal import Journal
from tests.lessonkit import act, check, lesson, step
from tests.support import need_root, need_tool


@pytest.fixture
def journal(tmp_path: Path):
    j = Journal.open(tmp_path / "home")
    yield j
    j.close()


def _run(journal: Journal, *steps, **kw):
    events: list = []
    r = Runner(lesson(*steps), journal, on_event=events.append, **kw)
    return r, events


def test_output_streams_in_order_and_stdout_is_kept(journal: Journal) -> None:
    r, events = _run(
        journal,
        step("s", act("run", "for i in 1 2 3; do echo out$i; sleep 0.05; done; echo err >&2")),
    )
    res = r.run_step(0)
    assert res.status == "passed", res.reason
    lines = [(e.stream, e.text) for e in events if isinstance(e, rmod.Output)]
    assert lines == [("stdout", "out1"), ("stdout", "out2"), ("stdout", "out3"), ("stderr", "err")]
    kinds = [type(e).__name__ for e in events]
    assert kinds[0] == "ActionStarted" and kinds[-1] == "StepFinished"
    assert res.actions[0].stdout == "out1\nout2\nout3\n"
    r.finish()


def test_streaming_arrives_before_the_command_ends(journal: Journal) -> None:
    seen: list[float] = []
    r = Runner(
        lesson(step("s", act("run", "echo first; sleep 0.6; echo second"))),
        journal,
        on_event=lambda e: seen.append(time.monotonic()) if isinstance(e, rmod.Output) else None,
    )
    r.run_step(0)
    # streamed: the first line was delivered while the command still slept, not
    # batched with the second at its end (an order, not a speed budget)
    assert len(seen) == 2 and seen[1] - seen[0] >= 0.5
    r.finish()


def test_big_output_does_not_deadlock_and_is_capped(journal: Journal) -> None:
    r, _ = _run(journal, step("s", act("run", "seq 1 200000; seq 1 200000 >&2")))
    res = r.run_step(0)
    a = res.actions[0]
    assert a.ok and len(a.stdout) <= 256 * 1024 and "output cut" in a.note
    r.finish()


def test_expected_failure_passes_and_says_so(journal: Journal) -> None:
    r, _ = _run(journal, step("s", act("run", "exit 3", expect="3")))
    res = r.run_step(0)
    assert res.status == "passed"
    assert "expected to fail with status 3: it did" in res.actions[0].note


def test_unexpected_status_fails_the_step(journal: Journal) -> None:
    r, _ = _run(journal, step("s", act("run", "false"), act("run", "echo never")))
    res = r.run_step(0)
    assert res.status == "failed" and "exited 1" in res.reason
    assert len(res.actions) == 1


def test_timeout_kills_the_whole_group(journal: Journal, tmp_path: Path) -> None:
    pidfile = tmp_path / "bg.pid"
    r, _ = _run(
        journal, step("s", act("run", f"sleep 100 & echo $! > {pidfile}; sleep 100", timeout="0.5"))
    )
    t0 = time.monotonic()
    res = r.run_step(0)
    assert time.monotonic() - t0 < 5
    assert res.status == "timeout" and "timed out" in res.reason
    bg = int(pidfile.read_text())
    assert not procs.alive(bg)


def test_cancel_kills_promptly_and_undoes_the_spawn(journal: Journal) -> None:
    need_root()
    cancel = threading.Event()
    r, _ = _run(journal, step("s", act("spawn", "sleep 300", name="bg"), act("run", "sleep 100")))
    timer = threading.Timer(0.3, cancel.set)
    timer.start()
    t0 = time.monotonic()
    res = r.run_step(0, cancel=cancel)
    assert time.monotonic() - t0 < 3
    assert res.status == "cancelled"
    spawned = res.actions[0].pid
    assert spawned and not procs.alive(spawned)
    assert "bg" not in r.vars.pids
    assert not [e for e in journal.active if e.kind == "process"]


def test_spawn_finds_the_innermost_pid_of_unshare_fork(journal: Journal) -> None:
    need_root()
    need_tool("unshare")
    r, _ = _run(
        journal, step("s", act("spawn", "unshare --pid --fork --mount-proc sleep 300", name="box"))
    )
    res = r.run_step(0)
    assert res.status == "passed", res.reason
    pid = r.vars.pids["box"]
    status = Path(f"/proc/{pid}/status").read_text()
    nspid = next(ln for ln in status.splitlines() if ln.startswith("NSpid:")).split()
    assert nspid[-1] == "1" and len(nspid) == 3
    assert Path(f"/proc/{pid}/comm").read_text().strip() == "sleep"
    r.finish()
    assert not procs.alive(pid)


def test_in_name_runs_inside_the_container(journal: Journal) -> None:
    need_root()
    need_tool("unshare", "nsenter")
    r, _ = _run(
        journal,
        step(
            "s",
            act("spawn", "unshare --uts --pid --fork --mount-proc sleep 300", name="box"),
            act("run", "hostname shk-inside; hostname", **{"in": "box"}),
            act("run", "hostname"),
            check("output-matches", pattern="^(?!shk-inside$)"),
        ),
    )
    res = r.run_step(0)
    assert res.status == "passed", res.reason
    inside, outside = res.actions[1], res.actions[2]
    assert inside.stdout.strip() == "shk-inside"
    assert outside.stdout.strip() == os.uname().nodename != "shk-inside"
    argv = unwrap(r.shell(0))
    assert os.path.basename(argv[0]) == "bash"
    r.finish()


def unwrap(argv: list[str]) -> list[str]:
    """The shell inside the `script` recorder runner.shell() wraps it in (after `env`)."""
    assert argv[0] == "env" and "script" in argv, argv
    return shlex.split(argv[argv.index("--command") + 1])


def test_shell_in_a_container_uses_nsenter_and_a_prompt(journal: Journal) -> None:
    need_root()
    box = step(
        "s",
        act("spawn", "unshare --uts --fork sleep 300", name="box"),
        act("try", "do it", **{"in": "box"}),
    )
    r, _ = _run(journal, box)
    assert r.run_step(0).status == "passed"
    argv = unwrap(r.shell(0))
    assert argv[:3] == ["nsenter", "--target", str(r.vars.pids["box"])]
    whole = r.shell(0)  # the prompt names the context; it reaches the shell as data
    assert any(a.startswith("SHIKUMI_PS1=") and a.endswith(" · box) # ") for a in whole)
    r.finish()


def test_variables_fill_and_name_the_unknown(journal: Journal) -> None:
    r, _ = _run(
        journal,
        step("a", act("run", "echo '  hello  '")),
        step("b", act("run", "echo {{out.a}} {{home}} {{work}}"), act("run", "echo {{nope}}")),
    )
    r.run_step(0)
    res = r.run_step(1)
    assert res.actions[0].stdout.split() == ["hello", str(journal.home), str(r.work)]
    assert res.status == "failed" and "{{nope}}" in res.reason
    assert r.work.is_dir()
    r.finish()
    assert not r.work.exists()


def test_variables_module() -> None:
    v = Variables(Path("/h"), Path("/h/work/x"), Path("/l"), pids={"box": 7})
    assert v.fill("{{ pid.box }}:{{work}}") == "7:/h/work/x"
    with pytest.raises(UnknownVariable, match=r"pid\.other"):
        v.fill("{{pid.other}}")
    with pytest.raises(UnknownVariable, match=r"out\.s"):
        v.fill("{{out.s}}")
    assert names_in("a {{x}} {{ y.z }} {{x}}") == ["x", "y.z"]
    assert v.fill_all({"a": ["{{home}}"], "n": 1}) == {"a": ["/h"], "n": 1}


def test_solution_runs_in_the_try_context_and_cleanup_at_finish(
    journal: Journal, tmp_path: Path
) -> None:
    marker = tmp_path / "cleaned"
    r, _ = _run(
        journal,
        step(
            "s",
            act("try", "write x"),
            act("solution", "echo done > {{work}}/x"),
            check("file-contains", path="{{work}}/x", pattern="done"),
            act("cleanup", f"touch {marker}"),
        ),
    )
    assert r.run_step(0).status == "failed"  # without the solution, the check fails
    assert r.check_step(0)[0].ok is False
    res = r.run_step(0, solution=True)
    assert res.status == "passed", res.reason
    report = r.finish()
    assert report.ok and marker.exists()


def test_missing_requirement_skips_with_the_fix(journal: Journal) -> None:
    from lab.doctor.probe import Check

    fake = [
        Check("tool.docker", False, False, "docker is not on PATH", "apt-get install docker.io")
    ]
    r, _ = _run(
        journal, step("s", act("run", "echo hi"), requires=["tool.docker"]), doctor_checks=fake
    )
    res = r.run_step(0)
    assert res.status == "skipped" and res.ok
    assert "docker is not on PATH" in res.reason and "apt-get install docker.io" in res.reason
