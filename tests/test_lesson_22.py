"""Lesson 22 (a registry and digests) and its parts.

Without root: the ``registry`` journal entry's validation, which Docker references
count as pulled from the lab's registry, the doctor's probes for the new tools.

With docker-registry (no root needed): a registry started through the journal
answers the v2 API on 127.0.0.1 only, both leak checks see it, and undoing the
journal stops it and removes its storage.

For real, as root (under the kernel lock): `play 22` passes and leaves nothing
behind (no registry process or folder, no image pulled from it in Docker); every
try needs the learner and its solution passes; a play killed while its registry
runs leaves nothing after `shikumi cleanup`. Where a tool is missing the test says
which and skips (CI installs them all through assets/provision.sh).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from lab.lesson.loader import load_lesson
from lab.lesson.runner import Runner
from lab.ops import registry
from lab.safety.entry import Entry
from lab.safety.journal import Journal
from lab.safety.undo_registry import LOCAL_IMAGE_RE, validate
from tests.support import need_root, need_tool, shikumi

REPO = Path(__file__).resolve().parents[1]
LESSON = "22-registry"
TOOLS = ("docker-registry", "curl", "jq", "sha256sum", "skopeo", "umoci", "docker")


# -- the parts ------------------------------------------------------------------------------


def test_registry_entries_stay_in_the_home_with_a_marker_and_a_port(tmp_path: Path) -> None:
    home = tmp_path / "home"
    ok = {"marker": "shikumi-s-regl22", "port": 5000}
    assert validate(Entry(1, "registry", str(home / "registry" / "l22"), ok), home) == ""
    assert "not inside" in validate(Entry(1, "registry", "/var/lib/docker-registry", ok), home)
    assert "not inside" in validate(Entry(1, "registry", str(home), ok), home)
    no_marker = {"marker": "other", "port": 5000}
    assert "marker" in validate(Entry(1, "registry", str(home / "r"), no_marker), home)
    for port in (0, 70000, "5000", None):
        bad = {"marker": "shikumi-s-reg", "port": port}
        assert "port" in validate(Entry(1, "registry", str(home / "r"), bad), home)
    with pytest.raises(Exception, match="lowercase"):
        registry.registry_dir(home, "../x")


def test_only_the_lab_registrys_images_count_as_the_labs() -> None:
    from lab.lesson.leaks import _from_lab_registry

    ours = [
        "127.0.0.1:40123/shikumi-l22:v1",
        "127.0.0.1:40123/shikumi-l22@sha256:" + "a" * 64,
        "localhost:5000/shikumi-x:latest",
    ]
    theirs = [
        "127.0.0.1:40123/alpine:latest",
        "registry.example:5000/shikumi-l22:v1",
        "10.0.0.1:5000/shikumi-l22@sha256:" + "a" * 64,
        "shikumi-l22",  # named shikumi… already: the other rule's, not this one's
    ]
    assert all(_from_lab_registry(r) for r in ours)
    assert not any(_from_lab_registry(r) for r in theirs)
    assert LOCAL_IMAGE_RE.match("127.0.0.1:5000/shikumi-l22")


def test_doctor_knows_the_new_tools() -> None:
    from lab.doctor import doctor, tools_probe

    names = doctor.requirement_names()
    for tool in ("docker-registry", "skopeo", "umoci", "curl", "sha256sum"):
        assert f"tool.{tool}" in names
    by_name = {t.name: t for t in tools_probe.TOOLS}
    for tool, package in (("docker-registry", "docker-registry"), ("skopeo", "skopeo")):
        check = tools_probe.probe_tool(by_name[tool])
        if check.ok:
            assert tool in check.detail or "version" in check.detail.lower(), check
        else:  # missing here: the fix names the package
            assert package in check.fix, check


def test_provisioning_installs_the_lessons_packages() -> None:
    text = (REPO / "assets" / "provision.sh").read_text()
    packages = text.split("PACKAGES=(", 1)[1].split(")", 1)[0].split()
    for p in ("docker-registry", "skopeo", "umoci", "curl", "jq"):
        assert p in packages, p


def test_another_sessions_registry_is_not_this_lessons_leak(tmp_path: Path) -> None:
    """Two sessions in one home (an instructor's demo beside a learner's play): the
    registry the other one journaled is claimed, not reported as this one's leak."""
    from lab.lesson import leaks

    home = tmp_path / "home"
    with Journal.open(home) as mine, Journal.open(home, recover_dead=False) as other:
        target = str(home / "registry" / "demo")
        e = other.record("registry", target, marker=f"shikumi-{other.session}-regdemo", port=5)
        assert f"registry {target}" in leaks.claimed_by_others(home, mine.session)
        assert f"registry {target}" not in leaks.claimed_by_others(home, other.session)
        assert other.undo(e).ok  # nothing was started: undoing it finds nothing to do


# -- a registry through the journal (docker-registry needed, not root) ---------------------


def test_a_registry_is_journaled_answers_on_loopback_and_is_undone(tmp_path: Path) -> None:
    need_tool("docker-registry")
    from lab.lesson import leaks
    from tests.harness import state

    home = tmp_path / "home"
    with Journal.open(home) as j:
        before = leaks.snapshot(home, j.session)
        reg = registry.start(j, "t22")
        assert registry.answers(reg.addr)
        assert reg.addr.startswith("127.0.0.1:")
        assert f"127.0.0.1:{reg.port}" in reg.config.read_text()
        entry = next(e for e in j._active.values() if e.kind == "registry")
        assert entry.meta["port"] == reg.port and entry.meta["pid"] == reg.pid
        found = leaks.leaked(before, leaks.snapshot(home, j.session))
        assert f"registry {reg.dir}" in found, found
        assert any(x.startswith("process ") for x in found), found  # by its marker
        assert f"registry {reg.dir}" in state.lab_things(home)
        assert registry.catalog(reg.addr) == []
        report = j.rollback()
        assert report.ok, [r.action for r in report.results]
    assert not reg.dir.exists()
    assert not registry.answers(reg.addr)
    deadline = time.monotonic() + 5
    while Path(f"/proc/{reg.pid}").exists() and time.monotonic() < deadline:
        if Path(f"/proc/{reg.pid}/stat").read_text().rsplit(")", 1)[1].split()[0] == "Z":
            break
        time.sleep(0.05)
    stat = Path(f"/proc/{reg.pid}/stat")
    assert not stat.exists() or stat.read_text().rsplit(")", 1)[1].split()[0] == "Z"


def test_a_port_taken_before_the_registry_binds_it_is_retried(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The kernel's free port is taken by someone else before docker-registry binds it:
    that try is undone (process, storage, entry) and the next port is used."""
    need_tool("docker-registry")
    import socket

    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        taken = busy.getsockname()[1]
        ports = iter([taken, registry.free_port()])
        monkeypatch.setattr(registry, "free_port", lambda: next(ports))
        with Journal.open(tmp_path / "home") as j:
            reg = registry.start(j, "t22")
            try:
                assert reg.port != taken and registry.answers(reg.addr)
                entries = [e for e in j._active.values() if e.kind == "registry"]
                assert [e.meta["port"] for e in entries] == [reg.port]
            finally:
                assert j.rollback().ok
        assert not reg.dir.exists()


# -- for real, as root (run under the kernel lock) -----------------------------------------


def _need_all() -> None:
    need_root()
    need_tool(*TOOLS)
    from lab.ops import docker

    if docker.available():
        pytest.skip(f"needs a running Docker daemon: {docker.available()}")


def _pulled() -> list[str]:
    """Images in Docker that came from a registry on 127.0.0.1 with a shikumi… name."""
    from lab.host.dockerhost import with_docker_host

    r = subprocess.run(
        ["docker", "images", "--digests", "--format", "{{.Repository}}@{{.Digest}}"],
        capture_output=True,
        text=True,
        timeout=60,
        env=with_docker_host(dict(os.environ)),
    )
    return [ln for ln in r.stdout.split() if LOCAL_IMAGE_RE.match(ln.split("@", 1)[0])]


def _left(home: Path, pulled_before: list[str]) -> list[str]:
    left = [f"registry {d}" for d in (home / "registry").glob("*")]
    left += [f"image {i}" for i in _pulled() if i not in pulled_before]
    return left


def test_lesson_22_passes_and_leaves_nothing(tmp_path: Path) -> None:
    _need_all()
    home = tmp_path / "home"
    pulled_before = _pulled()  # the daemon is shared: another lab's pulls are theirs
    r = shikumi("play", "22", "--json", home=home, timeout=280)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(r.stdout)
    (lesson,) = data["lessons"]
    assert lesson["id"] == LESSON and lesson["failed"] == 0 and lesson["skipped"] == 0, lesson
    assert lesson["passed"] == lesson["steps"] >= 10
    assert data["leaked"] == []
    assert _left(home, pulled_before) == []


def _solve(runner: Runner, index: int) -> None:
    step = runner.lesson.steps[index]
    for i, a in enumerate(step.actions):
        if a.kind == "solution":
            r = runner._run_action(step, i, a, None, a.attrs.get("in") or runner.try_in(step))
            assert r.ok, f"solution of {step.id}: {r.command}: {r.note} {r.stderr}"


def test_every_try_needs_the_learner_and_its_solution_passes(tmp_path: Path) -> None:
    _need_all()
    lesson, problems = load_lesson(REPO / "lessons" / LESSON)
    assert lesson is not None and [p for p in problems if p.severity == "error"] == []
    pulled_before = _pulled()
    tries: list[str] = []
    with Journal.open(tmp_path / "home") as j:
        runner = Runner(lesson, j)
        try:
            for i, step in enumerate(lesson.steps):
                if not step.of("try"):
                    res = runner.run_step(i, solution=True)
                    assert res.status == "passed", (step.id, res.reason)
                    continue
                res = runner.run_step(i)  # the lab's part only
                assert res.status != "skipped", (step.id, res.reason)
                before = runner.check_step(i)
                assert any(not c.ok for c in before), f"{step.id}: every check held already"
                _solve(runner, i)
                after = runner.check_step(i)
                assert all(c.ok for c in after), (step.id, [c.reason for c in after if not c.ok])
                tries.append(step.id)
            assert _pulled() != pulled_before  # the pull try put an image in Docker
        finally:
            report = runner.finish()
        assert report.ok, [r.action for r in report.results if not r.ok]
    assert tries == ["layer", "pull", "tag"]
    assert _left(tmp_path / "home", pulled_before) == []


def test_a_killed_play_of_22_leaves_nothing_after_cleanup(tmp_path: Path) -> None:
    """`play 22` SIGKILLed while its registry runs; `shikumi cleanup` then stops the
    registry and removes its storage (the journal's undo of the new kind)."""
    _need_all()
    from tests.harness import state

    home = tmp_path / "home"
    env = dict(os.environ, SHIKUMI_HOME=str(home), PYTHONPATH=str(REPO))
    base = set(state.lab_things(home))
    p = subprocess.Popen(
        [sys.executable, "-m", "lab", "play", "22"],
        env=env,
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 120
        while not (home / "registry" / "l22" / "config.yml").is_file():
            assert p.poll() is None and time.monotonic() < deadline, "the registry never started"
            time.sleep(0.05)
    finally:
        os.kill(p.pid, signal.SIGKILL)  # the lab only: the registry is orphaned, as in a crash
        p.wait(timeout=30)
    assert any(t.startswith("registry ") for t in state.lab_things(home))
    r = subprocess.run(
        [sys.executable, "-m", "lab", "cleanup"],
        env=env,
        cwd=REPO,
        capture_output=True,
        timeout=180,
    )
    assert r.returncode == 0, r.stdout + r.stderr
    assert sorted(set(state.lab_things(home)) - base) == []
    assert not (home / "registry" / "l22").exists()
