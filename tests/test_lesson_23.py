"""Lesson 23 (Docker's plumbing, live) and the journal's Docker networks.

For real as root, with the shared private dockerd (under the kernel lock): `play 23`
passes every step and leaves nothing behind — no shikumi-l23… container, image or
network; every try needs the learner (after the lab's part a check fails, after the
solution all pass); a network the journal knows is seen by both leak checks and
removed by the undo even with a container still attached to it.

Without root: the journal kind's validation, `op expect networks=[…]` recording the
network before the containers, and the lesson's cgdir.sh against this process's own
/proc/self/cgroup.
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from lab.lesson.loader import load_lesson
from lab.lesson.operations import get as get_op
from lab.lesson.runner import Runner
from lab.safety.entry import Entry
from lab.safety.journal import Journal
from lab.safety.undo import validate
from tests.support import need_docker, need_root, need_tool, shikumi

REPO = Path(__file__).resolve().parents[1]
LESSON = REPO / "lessons" / "23-docker-plumbing"
PREFIX = "shikumi-l23"


# -- the parts, no root needed ------------------------------------------------------------


def test_docker_network_entries_are_the_labs_only(tmp_path: Path) -> None:
    assert validate(Entry(1, "docker-network", "shikumi-l23net"), tmp_path) == ""
    assert validate(Entry(1, "docker-network", "bridge"), tmp_path)
    assert validate(Entry(1, "docker-network", "host"), tmp_path)
    assert validate(Entry(1, "docker-network", "shikumi-x; rm -rf /"), tmp_path)


def test_expect_records_the_network_before_its_containers(tmp_path: Path) -> None:
    op = get_op("expect")
    with Journal.open(tmp_path / "home") as j:
        op.run(None, j, {"networks": ["shikumi-l23n"], "docker": ["shikumi-l23c"]})
        kinds = [(e.kind, e.target) for e in j.active]
        # the journal undoes newest first: the container goes, then its network
        assert kinds.index(("docker-network", "shikumi-l23n")) < kinds.index(
            ("docker-container", "shikumi-l23c")
        )
        assert "docker network shikumi-l23n" in op.describe({"networks": ["shikumi-l23n"]})


def _cgdir(pid: str, controller: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        ["sh", str(LESSON / "cgdir.sh"), pid, controller],
        capture_output=True,
        text=True,
        timeout=10,
    )


def test_cgdir_finds_this_process_cgroup() -> None:
    """cgdir.sh names the directory of /proc/PID/cgroup's line for the controller:
    on v1 in that controller's tree, on v2 in the unified one; it holds the
    controller's files, and this very process is listed in its cgroup.procs."""
    for controller, probe in (("memory", ("memory.max", "memory.limit_in_bytes")),):
        r = _cgdir("self", controller)
        if r.returncode != 0:  # a machine without the controller says so, plainly
            assert "no memory cgroup" in r.stderr
            continue
        d = Path(r.stdout.strip())
        assert d.is_dir() and any((d / f).exists() for f in probe), d
    r = _cgdir("999999999", "memory")  # no such process: an error, not a guess
    assert r.returncode != 0 and r.stdout == ""


# -- for real, as root, with the shared private dockerd (under the kernel lock) ----------


def _need_all() -> None:
    need_root()
    need_tool("docker", "jq", "nsenter", "ip", "iptables", "busybox")
    need_docker()


def _left() -> list[str]:
    from lab.ops import docker

    out = [f"container {n}" for n in docker.names("container") if n.startswith(PREFIX)]
    out += [f"image {n}" for n in docker.names("image") if n.startswith(PREFIX)]
    nets = docker.docker(["network", "ls", "--format", "{{.Name}}"]).stdout.split()
    out += [f"network {n}" for n in nets if n.startswith(PREFIX)]
    return out


def test_lesson_23_passes_and_leaves_nothing(tmp_path: Path) -> None:
    _need_all()
    r = shikumi("play", "23", "--json", home=tmp_path / "home", timeout=280)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
    data = json.loads(r.stdout)
    (lesson,) = data["lessons"]
    assert lesson["failed"] == 0 and lesson["skipped"] == 0, lesson
    assert lesson["passed"] == lesson["steps"] == 10, lesson
    assert data["leaked"] == []
    assert _left() == []


def test_every_try_needs_the_learner_and_its_solution_passes(tmp_path: Path) -> None:
    _need_all()
    lesson, problems = load_lesson(LESSON)
    assert lesson is not None and [p for p in problems if p.severity == "error"] == []
    tries = []
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
                for k, a in enumerate(step.actions):  # the learner's part: the solution
                    if a.kind == "solution":
                        r = runner._run_action(step, k, a, None, runner.try_in(step))
                        assert r.ok, (step.id, r.command, r.note, r.stderr)
                after = runner.check_step(i)
                assert all(c.ok for c in after), (step.id, [c.reason for c in after if not c.ok])
                tries.append(step.id)
            # the exit codes the lesson teaches, read back from Docker itself
            from lab.ops import docker

            state = json.loads(
                docker.docker(["inspect", "shikumi-l23plain", "shikumi-l23init"]).stdout
            )
            assert [c["State"]["ExitCode"] for c in state] == [137, 143]
            assert [bool(c["HostConfig"].get("Init")) for c in state] == [False, True]
        finally:
            report = runner.finish()
        assert report.ok, [r.action for r in report.results if not r.ok]
    assert tries == ["port", "dns", "stop", "pause"]
    assert _left() == []


def test_a_network_left_behind_is_seen_and_removed(tmp_path: Path) -> None:
    """A journaled network with two containers on it — one journaled, one not (a
    learner's, named otherwise): both leak checks list the network; the undo removes
    the journaled container, disconnects the other and removes the network."""
    _need_all()
    import shutil

    from lab.lesson import leaks
    from lab.ops import docker
    from tests.harness import state

    home = tmp_path / "home"
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    shutil.copy(shutil.which("busybox") or "", root / "bin" / "busybox")
    tar = tmp_path / "root.tar"
    subprocess.run(["tar", "-C", str(root), "-cf", str(tar), "."], check=True, timeout=30)
    image, net, box, other = (
        "shikumi-l23leakimg",
        "shikumi-l23leak",
        "shikumi-l23leakbox",
        "l23-test-unjournaled",
    )
    sleep = ["/bin/busybox", "sleep", "600"]
    image_id = ""
    try:
        with Journal.open(home) as j:
            before = leaks.snapshot(home, j.session)
            j.record("docker-image", image)
            docker.docker(["import", str(tar), image])
            # by id: the learner's container keeps it, and the undo only untags it
            image_id = docker.inspect_image(image).id
            j.record("docker-network", net)
            docker.docker(["network", "create", net])
            j.record("docker-container", box)
            docker.docker(["run", "-d", "--name", box, "--network", net, image, *sleep])
            docker.docker(["run", "-d", "--name", other, "--network", net, image, *sleep])
            found = leaks.leaked(before, leaks.snapshot(home, j.session))
            assert f"docker network {net}" in found and f"docker container {box}" in found
            assert f"docker network {net}" in state.lab_things(home)
            report = j.rollback()
            assert report.ok, [r.action for r in report.results]
        nets = docker.docker(["network", "ls", "--format", "{{.Name}}"]).stdout.split()
        assert net not in nets
        assert docker.docker(["inspect", box], check=False).returncode != 0
        # the learner's container was only disconnected: it still runs, on no network
        left = json.loads(docker.docker(["inspect", other]).stdout)[0]
        assert left["State"]["Running"] and net not in left["NetworkSettings"]["Networks"]
    finally:
        docker.docker(["rm", "-f", other], check=False)
        docker.docker(["rmi", "-f", image], check=False)
        if image_id:
            docker.docker(["rmi", "-f", image_id], check=False)


def test_objects_journaled_but_never_made_are_undone_as_gone(tmp_path: Path) -> None:
    """A play killed between the journal's line and `docker network create` (or `docker
    run`, `docker commit`) leaves an entry for nothing: cleanup finds it gone, not failed
    (the kill harness found `network … not found` failing every later cleanup)."""
    need_root()
    need_docker()
    from lab.safety import undo_docker

    assert undo_docker.undo(Entry(1, "docker-network", f"{PREFIX}-never-made"), tmp_path) == (
        "already gone"
    )
    # `docker rm -f` / `rmi -f` of nothing exit 0 with a recent client: no error either way
    for kind in ("docker-container", "docker-image"):
        undo_docker.undo(Entry(1, kind, f"{PREFIX}-never-made"), tmp_path)
