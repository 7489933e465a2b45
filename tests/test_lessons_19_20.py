"""Lessons 19 (the OCI runtime by hand) and 20 (capabilities, seccomp, LSMs).

For real as root (under the kernel lock): `play 19 20` passes — the only steps it
may skip are the ones whose kernel feature is missing here (AppArmor, SELinux) —
and leaves nothing behind: no runc container under the lab's root, no runc cgroup,
no Docker container. Every try needs the learner: after the lab's part of the
step at least one check fails, after the solution all pass (what gate17's
`play --verify-tries` will do, done here by hand through the runner).

Without root: the parts — capability decoding against capsh, the journal kind's
validation, config.json as the lab changes it, the proc-status check, the LSM probe.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import pytest

from lab.doctor import lsm_probe
from lab.lesson import checks
from lab.lesson.context import Context
from lab.lesson.loader import load_lesson
from lab.lesson.model import Action
from lab.lesson.runner import Runner
from lab.lesson.variables import Variables
from lab.ops import runc
from lab.safety.entry import Entry
from lab.safety.journal import Journal
from lab.safety.undo_runc import validate
from tests.support import need_root, need_tool, shikumi

REPO = Path(__file__).resolve().parents[1]
LESSONS = ["19-oci-runtime", "20-capabilities-seccomp"]
# a step may be skipped only for a kernel feature this machine lacks, never for a tool
KERNEL_FEATURES = ("lsm.apparmor", "lsm.selinux", "seccomp")
RUNC_IDS = ("l19box", "l19mine", "l19stop")
DOCKER_NAMES = ("shikumi-l19", "shikumi-l20")


# -- the parts, no root needed ------------------------------------------------------------


def test_capabilities_decode_as_capsh_does() -> None:
    from lab.lesson.checks_proc import decode

    docker_default = "00000000a80425fb"  # Docker's 14 default capabilities
    names = decode(docker_default)
    assert len(names) == 14 and "cap_net_raw" in names and "cap_sys_admin" not in names
    if shutil.which("capsh"):
        out = subprocess.run(
            ["capsh", f"--decode=0x{docker_default}"], capture_output=True, text=True, timeout=10
        ).stdout
        assert out.strip().split("=", 1)[1].split(",") == names


def test_runc_entries_must_stay_in_the_home(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ok = Entry(1, "runc-container", "l19box", {"root": str(home / "runc")})
    assert validate(ok, home) == ""
    assert validate(Entry(1, "runc-container", "x", {"root": "/run/runc"}), home)
    assert validate(Entry(1, "runc-container", "x", {"root": str(home)}), home)
    assert validate(Entry(1, "runc-container", "../x", {"root": str(home / "runc")}), home)
    assert validate(Entry(1, "runc-container", "x", {}), home)
    bad_tool = {"root": str(home / "runc"), "tool": "sh"}
    assert validate(Entry(1, "runc-container", "x", bad_tool), home)


def test_a_runc_container_is_journaled_with_its_root(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "home") as j:
        e = runc.record(j, "l19box")
        assert e.kind == "runc-container" and e.meta["root"] == str(tmp_path / "home" / "runc")
        e2 = runc.record(j, "l19c", tool="crun")
        assert e2.meta["root"].endswith("/crun")
        # nothing was made: undoing both says so and succeeds
        assert j.undo(e).ok and j.undo(e2).ok


def test_the_bundle_config_as_the_lab_changes_it(tmp_path: Path) -> None:
    need_tool("runc")
    bundle = tmp_path / "bundle"
    default = runc.spec(bundle)  # `runc spec` writes a file; nothing runs
    assert default["process"]["terminal"] is True
    cfg = runc.prepare_config(bundle, ["sleep", "600"], hostname="l19box", marker="shikumi-x-runc")
    again = json.loads((bundle / "config.json").read_text())
    assert again == cfg
    assert cfg["process"]["terminal"] is False and cfg["process"]["args"] == ["sleep", "600"]
    assert cfg["hostname"] == "l19box" and "SHIKUMI_MARK=shikumi-x-runc" in cfg["process"]["env"]
    five = {"pid", "network", "ipc", "uts", "mount"}
    # runc adds a cgroup namespace where /sys/fs/cgroup is cgroup v2 (the Debian 12 VM)
    v2 = Path("/sys/fs/cgroup/cgroup.controllers").exists()
    assert {n["type"] for n in cfg["linux"]["namespaces"]} == (five | {"cgroup"} if v2 else five)


def _ctx(tmp_path: Path) -> Context:
    return Context(Variables(home=tmp_path, work=tmp_path, lesson=tmp_path))


def _check(ctx: Context, **params: object) -> tuple[bool, str]:
    r = checks.evaluate(
        Action("check", "", 1, name="proc-status", params={"message": "m", **params}), ctx
    )
    return r.ok, r.reason


def _exec_done(pid: int) -> None:
    """Until execve has set up the new program's arguments, /proc/PID/cmdline is empty
    (Popen returns as soon as exec has begun): wait for them, at most 5 s."""
    deadline = time.monotonic() + 5
    while not Path(f"/proc/{pid}/cmdline").read_bytes() and time.monotonic() < deadline:
        time.sleep(0.01)


def test_proc_status_reads_the_process(tmp_path: Path) -> None:
    ctx = _ctx(tmp_path)
    mine = Path("/proc/self/status").read_text()
    seccomp = next(ln.split()[1] for ln in mine.splitlines() if ln.startswith("Seccomp:"))
    assert _check(ctx, pid="self", fields={"Seccomp": seccomp})[0]
    assert not _check(ctx, pid="self", fields={"Seccomp": "7"})[0]
    # a process found by its command line: a sleep with an unusual argument
    p = subprocess.Popen(["sleep", "30.25"])
    try:
        _exec_done(p.pid)
        ok, why = _check(ctx, cmdline=r"^sleep 30\.25$", fields={"NoNewPrivs": "0"})
        assert ok, why
    finally:
        p.kill()
        p.wait(timeout=10)
    ok, why = _check(ctx, cmdline=r"^sleep 30\.25$")
    assert not ok and why == "no running process has the command line this check looks for"
    assert "needs one of" in _check(ctx, has_caps=["net_raw"])[1]
    assert not _check(ctx, pid="self", has_caps=["not_a_cap"])[0]


def test_the_lsm_probe_says_what_the_kernel_has() -> None:
    found = {c.name: c for c in lsm_probe.probe_all()}
    assert set(found) == set(lsm_probe.NAMES)
    has_seccomp = "Seccomp:" in Path("/proc/self/status").read_text()
    assert found["seccomp"].ok == has_seccomp
    listed = lsm_probe.active_lsms()
    if listed:
        assert found["lsm.apparmor"].ok == ("apparmor" in listed)
        assert found["lsm.selinux"].ok == ("selinux" in listed)
    for c in found.values():
        assert c.ok or c.fix


# -- for real, as root (run under the kernel lock) -----------------------------------------


def test_the_runtime_probe_runs_a_container(tmp_path: Path) -> None:
    """runtime.runc / runtime.crun: a container really run (busybox true), nothing left."""
    need_root()
    need_tool("runc", "busybox")
    from lab.doctor import runtime_probe

    before = set(Path(tempfile.gettempdir()).glob("shikumi-doctor-*"))
    checks_ = {c.name: c for c in runtime_probe.probe_all()}
    assert checks_["runtime.runc"].ok, checks_["runtime.runc"]
    crun_ = checks_["runtime.crun"]
    assert crun_.ok or (crun_.fix and "crun" in crun_.detail), crun_
    assert set(Path(tempfile.gettempdir()).glob("shikumi-doctor-*")) == before


def _need_all() -> None:
    need_root()
    need_tool("runc", "jq", "capsh", "unshare", "nsenter", "busybox", "docker")
    from lab.ops import docker

    if docker.available():
        pytest.skip(docker.available())


def _left(home: Path) -> list[str]:
    """What of these lessons' runc and Docker containers, and runc's cgroups, exists now."""
    left = [f"runc {c}" for c in runc.ids(runc.root_of(home))]
    if (home / "crun").is_dir():
        left += [f"crun {c}" for c in os.listdir(home / "crun")]
    for d in Path("/sys/fs/cgroup").glob("*/l19*"):
        left.append(f"cgroup {d}")
    for d in Path("/sys/fs/cgroup").glob("l19*"):
        left.append(f"cgroup {d}")
    from lab.ops import docker

    left += [f"docker {n}" for n in docker.names("container") if n.startswith(DOCKER_NAMES)]
    left += [f"docker image {n}" for n in docker.names("image") if n.startswith(DOCKER_NAMES)]
    return left


def test_lessons_19_20_pass_and_leave_nothing(tmp_path: Path) -> None:
    _need_all()
    home = tmp_path / "home"
    r = shikumi("play", "19", "20", "--json", home=home, timeout=280)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(r.stdout)
    assert [x["id"] for x in data["lessons"]] == LESSONS
    for lesson in data["lessons"]:
        assert lesson["failed"] == 0, lesson
        for skip in lesson["skips"]:  # only for a kernel feature this machine lacks
            why = json.dumps(skip)
            assert any(f in why for f in KERNEL_FEATURES) or "hybrid" in why, skip
        assert lesson["passed"] + lesson["skipped"] == lesson["steps"], lesson
    assert data["leaked"] == []
    assert _left(home) == []


def _solve(runner: Runner, index: int) -> None:
    """The learner's part: the step's solution blocks, run where the try opens its shell
    (as `play` runs them after the lab's part), without running the lab's part again."""
    step = runner.lesson.steps[index]
    for i, a in enumerate(step.actions):
        if a.kind == "solution":
            r = runner._run_action(step, i, a, None, a.attrs.get("in") or runner.try_in(step))
            assert r.ok, f"solution of {step.id}: {r.command}: {r.note} {r.stderr}"


@pytest.mark.parametrize("lesson_id", LESSONS)
def test_every_try_needs_the_learner_and_its_solution_passes(
    tmp_path: Path, lesson_id: str
) -> None:
    _need_all()
    lesson, problems = load_lesson(REPO / "lessons" / lesson_id)
    assert lesson is not None and [p for p in problems if p.severity == "error"] == []
    tries = 0
    with Journal.open(tmp_path / "home") as j:
        runner = Runner(lesson, j)
        try:
            for i, step in enumerate(lesson.steps):
                if not step.of("try"):
                    res = runner.run_step(i, solution=True)
                    assert res.status in ("passed", "skipped"), (step.id, res.reason)
                    continue
                res = runner.run_step(i)  # the lab's part only
                if res.status == "skipped":
                    continue
                before = runner.check_step(i)
                assert any(not c.ok for c in before), f"{step.id}: every check held already"
                _solve(runner, i)
                after = runner.check_step(i)
                assert all(c.ok for c in after), (step.id, [c.reason for c in after if not c.ok])
                tries += 1
        finally:
            report = runner.finish()
        assert report.ok, [r.action for r in report.results if not r.ok]
    assert tries >= 2
    assert _left(tmp_path / "home") == []


def test_the_leak_checks_see_a_runc_container_and_cleanup_removes_it(tmp_path: Path) -> None:
    """A runc container under the lab's root that nothing removed is seen by both leak
    checks (play's snapshot, the kill harness's state), and the journal's undo deletes
    it: its process, its state, its cgroup."""
    need_root()
    need_tool("runc", "busybox")
    from lab.lesson import leaks
    from tests.harness import state

    home = tmp_path / "home"
    with Journal.open(home) as j:
        bundle = home / "b"
        (bundle / "rootfs" / "bin").mkdir(parents=True)
        shutil.copy(shutil.which("busybox") or "", bundle / "rootfs" / "bin" / "busybox")
        runc.spec(bundle)
        runc.prepare_config(
            bundle, ["/bin/busybox", "sleep", "600"], marker=f"shikumi-{j.session}-runc"
        )
        before = leaks.snapshot(home, j.session)
        st = runc.run_detached(j, bundle, "l19leak", home / "l19leak.log")
        assert st.status == "running" and st.pid > 0
        found = leaks.leaked(before, leaks.snapshot(home, j.session))
        assert "runc container l19leak" in found
        assert any(x.startswith("process ") for x in found), found  # found by its marker
        assert "runc container l19leak" in state.lab_things(home)
        report = j.rollback()
        assert report.ok, [r.action for r in report.results]
        assert any(r.action == "deleted" for r in report.results)
    assert (
        not Path(f"/proc/{st.pid}").exists()
        or Path(f"/proc/{st.pid}/stat").read_text().split()[2] == "Z"
    )
    assert runc.ids(runc.root_of(home)) == []
    assert not any(Path("/sys/fs/cgroup").glob("*/l19leak"))


def test_a_killed_play_of_19_leaves_nothing_after_cleanup(tmp_path: Path) -> None:
    """The kill harness's case for the new kind, once, deterministically: `play 19`
    SIGKILLed while its runc container runs; `shikumi cleanup` then removes it."""
    _need_all()
    import signal
    import sys
    import time

    from tests.harness import state

    home = tmp_path / "home"
    env = dict(os.environ, SHIKUMI_HOME=str(home), PYTHONPATH=str(REPO))
    base = set(state.lab_things(home))  # the machine is shared: what others have is theirs
    p = subprocess.Popen(
        [sys.executable, "-m", "lab", "play", "19"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (home / "runc" / "l19box").is_dir():
            assert p.poll() is None and time.monotonic() < deadline, "l19box never ran"
            time.sleep(0.05)
    finally:
        os.kill(p.pid, signal.SIGKILL)  # the lab only: its children are orphaned, as in a crash
        p.wait(timeout=30)
    assert any(t.startswith("runc container") for t in state.lab_things(home))
    r = subprocess.run(
        [sys.executable, "-m", "lab", "cleanup"],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(set(state.lab_things(home)) - base) == []
    assert _left(home) == []
