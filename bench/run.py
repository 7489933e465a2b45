"""The design's performance budgets, measured here, each against a baseline timed
in the same run (so a busy machine does not mislead). Prints figures; asserts nothing.

    python bench/run.py [--json] [--quick] [--only NAME,…]

Figures (see docs/performance.md):
  container_start   a container started through the lab's own operations (journal,
                    unshare, new root, PID 1 found, undone) vs bare `unshare … chroot … true`
  docker_vs_hand    `docker run --rm` of the same rootfs vs the by-hand start
  rootfs_build      the rootfs for the lesson programs: time, and size
  rootfs_vs_cp      its size vs the slides' `cp -r /bin /lib /lib64 /usr/…` (sized up, not copied)
  app_start         process start to an interactive lesson list
  step_overhead     the runner's part of it: command start to view collected, minus the command
  step_to_view      in the app: `r` pressed to the step's view drawn, minus the command's own time
  play_all          `shikumi play --all` wall time
  app_rss           the app's peak resident memory after walking a lesson
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from lab.ops import container, rootfs  # noqa: E402
from lab.ops.dockerhost import with_docker_host  # noqa: E402
from lab.ops.journal import Journal  # noqa: E402

Figure = dict[str, object]


def _median(fn: Callable[[], float], runs: int) -> float:
    fn()  # warm caches
    return statistics.median(fn() for _ in range(runs))


def _timed(argv: list[str], **kw: object) -> float:
    t0 = time.perf_counter()
    subprocess.run(argv, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, **kw)  # type: ignore[call-overload]
    return time.perf_counter() - t0


def bench_container(j: Journal, root: Path, runs: int) -> tuple[Figure, float]:
    ns = ["--uts", "--ipc", "--pid", "--net", "--mount", "--fork"]
    bare = _median(lambda: _timed(["unshare", *ns, "chroot", str(root), "/bin/true"]), runs)

    def by_hand(mount_proc: bool) -> float:
        t0 = time.perf_counter()
        c = container.start(j, "bench", root, ["/bin/true"], running=False, mount_proc=mount_proc)
        c.popen.wait()
        j.undo(c.entry)
        return time.perf_counter() - t0

    # the budget compares the same work (namespaces + a new root): what is left is the
    # lab's own cost (journal, marker, finding PID 1, undo); a real container also
    # mounts /proc, shown beside it
    hand = _median(lambda: by_hand(False), runs)
    with_proc = _median(lambda: by_hand(True), runs)
    return {
        "value": round(hand / bare, 2),
        "unit": "× bare unshare+chroot",
        "budget": 2.0,
        "ok": hand / bare <= 2.0,
        "detail": f"by hand {hand * 1000:.1f} ms ({with_proc * 1000:.1f} ms with /proc mounted),"
        f" bare {bare * 1000:.1f} ms (median of {runs})",
    }, with_proc


def bench_docker(root: Path, hand: float, runs: int) -> Figure:
    env = with_docker_host(dict(os.environ))
    if (
        not shutil.which("docker")
        or subprocess.run(["docker", "info"], env=env, capture_output=True).returncode
    ):
        return {
            "value": None,
            "unit": "× by hand",
            "budget": 50.0,
            "ok": None,
            "detail": "no Docker daemon answers (./run.sh starts one)",
        }
    image = "shikumi-bench:rootfs"
    with tempfile.TemporaryDirectory() as tmp:
        tar = Path(tmp) / "rootfs.tar"
        rootfs.to_tar(root, tar)
        subprocess.run(
            ["docker", "import", str(tar), image], env=env, check=True, capture_output=True
        )
    try:
        d = _median(
            lambda: _timed(
                ["docker", "run", "--rm", "--network", "none", image, "/bin/true"], env=env
            ),
            max(3, runs // 4),
        )
    finally:
        subprocess.run(["docker", "rmi", "-f", image], env=env, capture_output=True)
    return {
        "value": round(d / hand, 1),
        "unit": "× by hand",
        "budget": 50.0,
        "ok": d / hand >= 50.0,
        "detail": f"docker run --rm {d * 1000:.0f} ms vs by hand {hand * 1000:.1f} ms",
    }


def bench_rootfs(j: Journal, runs: int) -> tuple[Figure, Figure, rootfs.Rootfs]:
    built: list[rootfs.Rootfs] = []

    def once() -> float:
        target = j.home / "bench" / f"rootfs{len(built)}"
        r = rootfs.build(j, target, [*rootfs.DEFAULT_PROGRAMS, "true"])
        built.append(r)
        return r.seconds

    secs = _median(once, runs)
    last = built[-1]
    est = rootfs.estimate_copy_all()
    build = {
        "value": round(secs * 1000, 1),
        "unit": "ms",
        "budget": 100.0,
        "ok": secs < 0.1 and last.bytes < 10e6,
        "detail": f"{last.bytes / 1e6:.1f} MB (budget 10 MB), {len(last.files)} files",
    }
    ratio = est.bytes / last.bytes
    vs = {
        "value": round(ratio),
        "unit": "× smaller than cp -r",
        "budget": None,
        "ok": True,
        "detail": f"cp -r would copy {est.bytes / 1e9:.2f} GB in {est.files} files",
    }
    return build, vs, last


def bench_step_overhead(runs: int) -> Figure:
    from lab.lesson.loader import load_lesson
    from lab.lesson.runner import Runner, ViewReady

    with tempfile.TemporaryDirectory() as tmp:
        d = Path(tmp) / "lessons" / "99-bench"
        d.mkdir(parents=True)
        (d / "lesson.md").write_text(
            '+++\ntitle = "bench"\nsummary = "b"\npart = "bench"\nrequires = []\n+++\n'
            '## One {#one}\nA step.\n\n```run\nsleep 0.05\n```\n```view tree\npath = "{{work}}"\ndepth = 1\n```\n'
            '```check path-exists\npath = "{{work}}"\nmessage = "work exists"\n```\n'
        )
        lesson, _ = load_lesson(d)
        assert lesson is not None
        with Journal.open(Path(tmp) / "home") as j:
            overheads = []
            for _ in range(runs + 1):
                seen: list[float] = []

                def note(e: object, seen: list[float] = seen) -> None:
                    if isinstance(e, ViewReady):
                        seen.append(time.perf_counter())

                r = Runner(lesson, j, on_event=note)
                t0 = time.perf_counter()
                res = r.run_step(0)
                overheads.append(seen[0] - t0 - res.actions[0].seconds)
                r.finish()
    o = statistics.median(overheads[1:])
    return {
        "value": round(o * 1000, 1),
        "unit": "ms beyond the command",
        "budget": 100.0,
        "ok": o < 0.1,
        "detail": "runner: command start to view collected, minus the command's own time",
    }


def bench_play_all() -> Figure:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SHIKUMI_HOME=str(Path(tmp) / "home"))
        t0 = time.perf_counter()
        r = subprocess.run(
            [sys.executable, "-m", "lab", "play", "--all", "--json"],
            capture_output=True,
            text=True,
            env=env,
            cwd=REPO,
        )
        secs = time.perf_counter() - t0
    try:
        lessons = json.loads(r.stdout)["lessons"]
        detail = f"{len(lessons)} lessons, exit {r.returncode}"
    except (ValueError, KeyError):
        detail = f"exit {r.returncode}: {r.stderr.strip()[-200:]}"
    return {
        "value": round(secs, 1),
        "unit": "s",
        "budget": 60.0,
        "ok": secs < 60 and r.returncode == 0,
        "detail": detail,
    }


def bench_app() -> tuple[Figure, Figure]:
    sys.path.insert(0, str(REPO / "bench"))
    import app_start

    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        app_start.one_run(home)
        times = [app_start.one_run(home) for _ in range(5)]
        rss = app_start.peak_rss(home) if hasattr(app_start, "peak_rss") else None
    start = statistics.median(times)
    fig_start = {
        "value": round(start, 3),
        "unit": "s",
        "budget": 1.0,
        "ok": start < 1.0,
        "detail": f"median of {len(times)}, tmux 120×36",
    }
    fig_rss = {
        "value": round(rss / 1e6, 1) if rss else None,
        "unit": "MB",
        "budget": 100.0,
        "ok": (rss < 100e6) if rss else None,
        "detail": "VmHWM after opening a lesson and running its steps",
    }
    return fig_start, fig_rss


def main() -> int:
    ap = argparse.ArgumentParser(description="shikumi-lab benchmarks against the design's budgets")
    ap.add_argument("--json", action="store_true", help="print {figure: {value, unit, budget, ok}}")
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    ap.add_argument("--only", default="", help="comma-separated figure names")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print(
            "bench: needs root (namespaces, chroot, mounts): sudo .venv/bin/python bench/run.py",
            file=sys.stderr,
        )
        return 2
    only = set(filter(None, args.only.split(",")))
    runs = 5 if args.quick else 21
    figs: dict[str, Figure] = {}

    def want(*names: str) -> bool:
        return not only or bool(only & set(names))

    with (
        tempfile.TemporaryDirectory(prefix="shikumi-bench-") as tmp,
        Journal.open(Path(tmp) / "home") as j,
    ):
        if want("rootfs_build", "rootfs_vs_cp", "container_start", "docker_vs_hand"):
            figs["rootfs_build"], figs["rootfs_vs_cp"], built = bench_rootfs(j, runs)
            if want("container_start", "docker_vs_hand"):
                figs["container_start"], hand = bench_container(j, built.root, runs)
                if want("docker_vs_hand"):
                    figs["docker_vs_hand"] = bench_docker(built.root, hand, runs)
    if want("step_overhead", "step_to_view"):
        figs["step_overhead"] = bench_step_overhead(runs)
    if want("step_to_view"):
        sys.path.insert(0, str(REPO / "bench"))
        import step_view

        m = step_view.measure(5 if args.quick else 15)
        figs["step_to_view"] = {
            "value": round(m * 1000, 1),
            "unit": "ms beyond the command",
            "budget": 100.0,
            "ok": m < 0.1,
            "detail": "in the app: `r` pressed to the view drawn, minus the command's own time",
        }
    if want("app_start", "app_rss") and shutil.which("tmux"):
        figs["app_start"], figs["app_rss"] = bench_app()
    if want("play_all"):
        figs["play_all"] = bench_play_all()
    figs = {k: v for k, v in figs.items() if not only or k in only}
    if args.json:
        print(
            json.dumps(
                {k: {x: v[x] for x in ("value", "unit", "budget", "ok")} for k, v in figs.items()},
                indent=2,
            )
        )
        return 0
    print(f"{'figure':16} {'value':>10}  {'unit':24} {'budget':>8}  ok   detail")
    for k, v in figs.items():
        ok = {True: "yes", False: "NO", None: "—"}[v["ok"]]  # type: ignore[index]
        val = "—" if v["value"] is None else v["value"]
        budget = "" if v["budget"] is None else v["budget"]
        print(f"{k:16} {val!s:>10}  {v['unit']!s:24} {budget!s:>8}  {ok:4} {v.get('detail', '')}")
    return 0


if __name__ == "__main__":
    os.environ.pop("TMUX", None)
    raise SystemExit(main())
