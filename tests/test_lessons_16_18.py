"""Lessons 16–18 (cgroups, a runtime from the parts, VM vs container), for real as root:
they pass with nothing skipped and leave nothing behind — no lab cgroup, netns, link,
mount or Docker image. Plus the views they use (cgusage, speedbars, escape), with
fixed data and, for cgusage, with a real cgroup."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from lab.doctor.cgroups_probe import detect_layout
from lab.host import mounts
from lab.lesson import leaks
from lab.lesson.ops_runtime import parse_bytes
from lab.ops import cgroups, network, runtime, speed
from lab.safety.journal import Journal
from lab.views import cgusage, escape, speedbars
from tests.support import need_root, need_tool, play_passes, shikumi

LESSONS = ["16-cgroups", "17-runtime", "18-vm-vs-container"]
MINE = ("l16-", "l17box", "l18-", "esc")  # the cgroups these lessons name


def _text(renderable: object) -> str:
    c = Console(width=120, record=True, color_system=None)
    c.print(renderable)
    return c.export_text()


def _docker_images() -> list[str]:
    from lab.ops import docker

    if docker.available():
        return []
    return [
        n
        for n in docker.names("image")
        if n.startswith(("shikumi-l16", "shikumi-l17", "shikumi-l18"))
    ]


def _my_cgroups() -> list[str]:
    return [c for c in leaks._cgroups() if any(m in c for m in MINE)]


def test_lessons_16_to_18_pass_and_leave_nothing(tmp_path: Path) -> None:
    need_root()
    need_tool("unshare", "nsenter", "chroot", "ldd", "ip", "perl", "taskset", "docker")
    from lab.ops import docker

    if docker.available():
        pytest.skip(docker.available())
    home = tmp_path / "home"
    data = play_passes("16", "17", "18", home=home)
    assert [x["id"] for x in data["lessons"]] == LESSONS
    assert [m.target for m in mounts.under(str(home)) if m.target != str(home)] == []
    deadline = time.monotonic() + 5
    while _my_cgroups() and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _my_cgroups() == []
    netns, bridge, host_veth, _ = network.names("l17box")
    assert netns not in network.lab_netns()
    assert not {bridge, host_veth} & set(network.lab_links())
    assert _docker_images() == []
    assert not (home / "containers").exists()


def test_16_oom_sets_its_own_stage(tmp_path: Path) -> None:
    """16#oom from a reset: played without the #memlimit try (no limit written, swap left
    on), its run sets the 50 MB limit and turns swap off itself, and the kill happens."""
    need_root()
    text = (Path(__file__).resolve().parent.parent / "lessons/16-cgroups/lesson.md").read_text()
    head, rest = text.split("## Your turn: a 50 MB memory limit", 1)
    oom = (
        "## Over the limit: the OOM killer" + rest.split("## Over the limit: the OOM killer", 1)[1]
    )
    folder = tmp_path / "16-oom-from-reset"
    folder.mkdir()
    (folder / "lesson.md").write_text(head + oom.split("## Live:", 1)[0])
    data = play_passes(str(folder), home=tmp_path / "home")
    assert data["lessons"][0]["steps"] == 3, data  # version, memcg, oom: all passed
    assert _my_cgroups() == []


def test_lessons_16_to_18_read_in_japanese(tmp_path: Path) -> None:
    need_root()
    need_tool("unshare", "nsenter", "chroot", "ldd", "ip", "perl", "taskset")
    r = shikumi("play", "16", "17", "18", "--lang", "ja", home=tmp_path / "home", timeout=600)
    assert r.returncode == 0, r.stdout + r.stderr
    for ja in (
        "上限を超えると：OOM キラー",
        "chroot は抜けられ、pivot_root は抜けられない",
        "カーネルはみんなで一つ",
    ):
        assert ja in r.stdout
    for en in (
        "Over the limit: the OOM killer",
        "chroot escapes, pivot_root holds",
        "One kernel for all",
    ):
        assert en not in r.stdout
    assert "止められた周期" in r.stdout  # the cgusage view speaks Japanese too


def test_lessons_16_to_18_lint_clean() -> None:
    r = shikumi("check", *[f"lessons/{x}" for x in LESSONS])
    assert r.returncode == 0, r.stdout + r.stderr
    assert "warning" not in r.stdout + r.stderr
    assert "error" not in (r.stdout + r.stderr).replace("0 error(s)", "")


def test_forkbomb_script_is_executable_and_bounded() -> None:
    script = Path(__file__).resolve().parent.parent / "lessons" / "16-cgroups" / "forkbomb.sh"
    assert os.access(script, os.X_OK)
    text = script.read_text()
    assert "bomb 8" in text and "exec sleep 20" in text  # a fuse: 2^9 - 1 processes, then gone


def test_parse_bytes() -> None:
    assert parse_bytes("50M") == 50 << 20
    assert parse_bytes("64m") == 64 << 20
    assert parse_bytes("1G") == 1 << 30
    assert parse_bytes(4096) == 4096


# -- views with fixed data -------------------------------------------------------------------


def _samples(**series: list[int | None]) -> list[cgroups.Sample]:
    n = len(next(iter(series.values())))
    return [cgroups.Sample(time=i * 0.25, **{k: v[i] for k, v in series.items()}) for i in range(n)]


def test_cgusage_memory_against_the_limit() -> None:
    mib = 1 << 20
    raw = _samples(
        memory_bytes=[2 * mib, 10 * mib, 20 * mib, 40 * mib, 41 * mib],
        memory_limit=[50 * mib] * 5,
        oom_kills=[1] * 5,
    )
    points, limit, counters = cgusage.from_samples("memory", raw)
    assert [p.value for p in points][-1] == 41 * mib and limit == 50 * mib
    assert counters["oom_kills"] == 1 and counters["oom_kills_during"] == 0  # an earlier kill
    u = cgusage.Usage("memory", "/sys/fs/cgroup/shikumi/x", "v2", points, limit, counters)
    en = _text(cgusage.render(u))
    assert "limit 50.0 MiB" in en and "peak" in en and "41.0 MiB" in en and "OOM kills" in en
    ja = _text(cgusage.render(u, "ja"))
    assert "上限 50.0 MiB" in ja and "OOM kill の回数" in ja and "limit" not in ja


def test_cgusage_cpu_share_and_throttling() -> None:
    raw = _samples(
        cpu_usage_usec=[0, 50_000, 100_000, 150_000],  # 50 ms per 250 ms: a fifth of a CPU
        nr_periods=[10, 12, 15, 17],
        nr_throttled=[9, 11, 14, 16],
        throttled_usec=[1000, 2000, 3000, 4000],
    )
    points, limit, counters = cgusage.from_samples("cpu", raw, cpu_limit=0.2)
    assert [round(p.value, 2) for p in points] == [0.2, 0.2, 0.2]
    assert limit == 0.2 and counters["nr_throttled"] == 16 and counters["nr_throttled_during"] == 7
    text = _text(cgusage.render(cgusage.Usage("cpu", "/x", "v1", points, limit, counters)))
    assert (
        "20%" in text and "throttled periods (nr_throttled)" in text and "+7 while sampling" in text
    )


def test_cgusage_pids_counts_refused_forks() -> None:
    """16#bomb: the burst is over before the view samples; the refused forks tell of it."""
    raw = _samples(pids_current=[5, 5, 2], pids_max=[20] * 3, pids_refused=[14, 14, 14])
    points, limit, counters = cgusage.from_samples("pids", raw)
    assert limit == 20 and max(p.value for p in points) == 5
    assert counters == {"pids_refused": 14, "pids_refused_during": 0}
    u = cgusage.Usage("pids", "/x", "v1", points, limit, counters)
    assert "forks refused at the limit (pids.events max)" in _text(cgusage.render(u))
    assert "上限で拒否された fork" in _text(cgusage.render(u, "ja"))


def test_cgusage_pids_and_no_limit() -> None:
    points, limit, _ = cgusage.from_samples(
        "pids", _samples(pids_current=[1, 5, 20], pids_max=[None] * 3)
    )
    assert limit is None and points[-1].value == 20
    text = _text(cgusage.render(cgusage.Usage("pids", "/x", "v1", points, limit, {})))
    assert "no limit" in text
    with pytest.raises(ValueError):
        cgusage.from_samples("disk", _samples(pids_current=[1]))
    assert "no samples" in _text(cgusage.render(cgusage.Usage("pids", "/x", "v1")))


def test_speedbars_by_hand_and_docker() -> None:
    hand = speed.Timing("by hand", "unshare … /bin/true", [0.004, 0.003, 0.005])
    dock = speed.Timing("docker run --rm", "docker run --rm … /bin/true", [0.4, 0.5])
    bars = speedbars.from_comparisons([speed.Comparison(hand, None), speed.Comparison(hand, dock)])
    assert [b.label for b in bars] == ["by hand", "docker run --rm"]  # by hand once
    text = _text(speedbars.render(speedbars.SpeedBars(bars)))
    assert "4.0 ms" in text and "450.0 ms" in text and "×112" in text
    ja = _text(speedbars.render(speedbars.SpeedBars(bars), "ja"))
    assert "手作業" in ja and "回" in ja
    only = _text(speedbars.render(speedbars.SpeedBars(bars[:1], missing=["no Docker daemon"])))
    assert "not measured: no Docker daemon" in only
    ctx = SimpleNamespace(step_id="s", op_results={"a": speed.Comparison(hand, None)})
    assert len(speedbars.collect(ctx, of=["a", "skipped"]).bars) == 1
    with pytest.raises(ValueError):
        speedbars.collect(ctx, of=["skipped"])


def test_escape_view_side_by_side() -> None:
    res = [
        runtime.EscapeResult(
            "chroot", "ESCAPED: /x is visible\n", True, ["mkdir a", "exec chroot /m perl -e 'long'"]
        ),
        runtime.EscapeResult(
            "pivot_root",
            "HELD: /x is not visible\n",
            False,
            ["pivot_root . .oldroot", "umount -l /.oldroot"],
        ),
    ]
    ctx = SimpleNamespace(step_id="e", op_results={"e": res})
    data = escape.collect(ctx)
    assert data.sides[0].key_commands == ["exec chroot ROOT perl -e …"]
    assert data.sides[0].root == "/m"  # written ROOT in the commands, spelled out under the table
    text = _text(escape.render(data))
    assert "ESCAPED: the host's files are reachable" in text and "HELD: there is no way out" in text
    assert "ROOT (chroot) = /m" in text
    assert "脱出された" in _text(escape.render(data, "ja"))
    with pytest.raises(ValueError):
        escape.collect(SimpleNamespace(step_id="x", op_results={}))


# -- cgusage on a real cgroup ------------------------------------------------------------------


@pytest.fixture()
def journal(tmp_path: Path):
    need_root()
    with Journal.open(tmp_path / "home") as j:
        yield j
    assert not [c for c in cgroups.find_lab_cgroups() if f"cgu{os.getpid()}" in c]


def test_cgusage_samples_a_real_cgroup(journal: Journal) -> None:
    layout = detect_layout()
    if not layout.where("pids") or not layout.where("memory"):
        pytest.skip("needs the pids and memory controllers")
    cg = cgroups.create(journal, f"cgu{os.getpid()}", ["pids", "memory"])
    cgroups.set_pids_max(cg, 10)
    cgroups.set_memory(cg, 64 << 20)
    p = subprocess.Popen(["sleep", "30"])
    try:
        cgroups.add(cg, p.pid)
        ctx = SimpleNamespace(pid=lambda spec: int(spec))
        u = cgusage.collect(ctx, pid=p.pid, show="pids", seconds=0.3, samples=4)
        assert len(u.points) == 4 and u.limit == 10 and u.points[-1].value == 1
        m = cgusage.collect(ctx, cgroup=cg.path("memory"), show="memory", seconds=0.2, samples=3)
        assert m.limit == 64 << 20 and m.version in ("v1", "v2") and m.where == cg.path("memory")
        # the sleeper's cpu cgroup is the host's: found wherever this kernel has cpu
        has_cpu = bool(layout.where("cpu"))
        assert ("cpu" in cgusage.cgroup_of_pid(p.pid).paths) == has_cpu, layout.summary()
        if has_cpu:  # (asserted above)
            c = cgusage.collect(ctx, pid=p.pid, show="cpu", seconds=0.2, samples=3)
            assert len(c.points) == 2  # a rate: one point per interval between samples
            assert c.limit is None  # the host's cpu cgroup has no quota
        with pytest.raises(ValueError):
            cgusage.collect(ctx, show="pids")
        # Esc mid-sampling: the view stops at the next sample, with what it has so far
        cancel = threading.Event()
        ctx.cancel = cancel
        threading.Timer(0.3, cancel.set).start()
        e = cgusage.collect(ctx, pid=p.pid, show="pids", seconds=10, samples=100)
        assert cancel.is_set() and 2 <= len(e.points) < 100, len(e.points)
    finally:
        p.kill()
        p.wait()
        cgroups.remove(journal, cg)


def test_a_command_run_in_a_container_joins_its_lab_cgroup(journal: Journal) -> None:
    """17#start and 17#inside: what the lab runs in a container (a view's command, the try
    shell) is put in the container's lab cgroup, as `docker exec` does; a process in none
    of the lab's cgroups is entered with nsenter alone."""
    from lab.lesson import execute

    if not detect_layout().where("pids"):
        pytest.skip("needs the pids controller")
    cg = cgroups.create(journal, f"cgu{os.getpid()}j", ["pids"])
    inside, outside = subprocess.Popen(["sleep", "30"]), subprocess.Popen(["sleep", "30"])
    try:
        cgroups.add(cg, inside.pid)
        assert cgroups.lab_dirs_of(inside.pid) == [cg.path("pids")]
        argv = execute.container_argv(inside.pid, ["cat", "/proc/self/cgroup"])
        r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
        assert r.returncode == 0, r.stderr
        assert f"/shikumi/cgu{os.getpid()}j" in r.stdout
        assert cgroups.lab_dirs_of(outside.pid) == []
        assert execute.container_argv(outside.pid, ["true"])[0] == "nsenter"
    finally:
        for p in (inside, outside):
            p.kill()
            p.wait()
        cgroups.remove(journal, cg)


def test_lab_lesson_stays_free_of_textual() -> None:
    code = "import lab.lesson.ops_runtime, sys; print('textual' in sys.modules)"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=30)
    assert r.stdout.strip() == "False", r.stderr
