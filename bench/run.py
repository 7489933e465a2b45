"""The design's performance budgets, measured here, each against a baseline that does
the same work, timed in the same run with the variants interleaved (A B, B A, A B, …
for N rounds), reported as medians and their ratio. Prints figures; asserts nothing.

    python bench/run.py [--json] [--save FILE] [--quick] [--only NAME,…] [--allow-strays]

Figures (see docs/performance.md), one per budget of the design:
  container_start   the lab's by-hand start (container.start: journal, marker, the same
                    `unshare … --root ROOT /bin/true`, PID 1 found, undone) vs that very
                    `unshare` command line run bare by subprocess; /proc-mounting pair beside it
  docker_vs_hand    `docker run --rm` of the same rootfs vs the lab's start with /proc mounted
  rootfs_build      the ldd-closure rootfs for the lesson programs: build time
  rootfs_size       its size, against the slides' `cp -r /bin /lib /usr …` (sized up, not copied)
  step_overhead     a step of `true` through the runner (press to view collected) vs bare
                    `bash -c true` by subprocess; split into execute.run's part (execute.run
                    of the same command vs subprocess) and the runner's part (step vs execute.run)
  step_to_view      in the app (headless Textual): `r` pressed to the view drawn vs bare
                    `bash -c true` by subprocess, interleaved
  app_start         process start to an interactive lesson list (tmux); the app must exit
  app_rss           the app's peak resident memory after walking a lesson
  play_all          `shikumi play --all` wall time
  practice_snapshot / practice_prompt_to_checks / practice_idle_cpu
                    practice beside the app (bench/practice.py): one kernel state
                    snapshot vs reading /proc/self/mountinfo; a typed command's prompt
                    to its checks and diff ready; the app's CPU with an idle shell beside

A figure that could not be measured prints as "not measured: <reason>" and is in
--json with ok = null and that reason. Exit status: 0 when the run itself worked
(whatever the budgets say), 1 when an app the benchmark started did not exit,
3 when stray shikumi apps are alive (they skew every figure; --allow-strays).
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
import traceback
from collections.abc import Callable
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))
sys.path.insert(0, str(REPO / "bench"))

import app_start  # noqa: E402
import practice  # noqa: E402
import step_view  # noqa: E402

from lab.host.dockerhost import with_docker_host  # noqa: E402
from lab.ops import container, rootfs  # noqa: E402
from lab.safety.journal import Journal  # noqa: E402

Figure = dict[str, object]
KEYS = (
    "value",
    "unit",
    "budget",
    "ok",
    "measured",
    "baseline",
    "ratio",
    "measure_unit",
    "baseline_what",
    "runs",
    "reason",
)
BUDGETS: dict[str, tuple[str, float | None, str]] = {  # name: (unit, budget, kind)
    "container_start": ("× bare unshare --root", 2.0, "max"),
    "docker_vs_hand": ("× the lab's start", 50.0, "min"),
    "rootfs_build": ("ms", 100.0, "max"),
    "rootfs_size": ("MB", 10.0, "max"),
    "step_overhead": ("ms beyond the command", 100.0, "max"),
    "step_to_view": ("ms beyond the command", 100.0, "max"),
    "app_start": ("s", 1.0, "max"),
    "app_rss": ("MB", 100.0, "max"),
    "play_all": ("s", 40.0, "max"),
    "practice_prompt_to_checks": ("ms", 150.0, "max"),
    "practice_snapshot": ("ms", 30.0, "max"),
    "practice_idle_cpu": ("% of a core", 2.0, "max"),
}


class NotMeasured(Exception):
    """A figure that could not be measured, and why."""


def figure(
    name: str,
    value: float | None,
    *,
    measured: float | None = None,
    baseline: float | None = None,
    measure_unit: str = "ms",
    baseline_what: str = "",
    runs: int = 0,
    detail: str = "",
    ok: bool | None = None,
    **extra: object,
) -> Figure:
    unit, budget, kind = BUDGETS[name]
    if value is not None and ok is None and budget is not None:
        ok = value <= budget if kind == "max" else value >= budget
    ratio = measured / baseline if measured is not None and baseline else None
    return {
        "value": value,
        "unit": unit,
        "budget": budget,
        "ok": ok,
        "measured": None if measured is None else round(measured, 3),
        "baseline": None if baseline is None else round(baseline, 3),
        "ratio": None if ratio is None else round(ratio, 3),
        "measure_unit": measure_unit if measured is not None else None,
        "baseline_what": baseline_what or None,
        "runs": runs,
        "reason": None,
        "detail": detail,
        **extra,
    }


def not_measured(name: str, reason: str) -> Figure:
    unit, budget, _ = BUDGETS[name]
    out: Figure = dict.fromkeys(KEYS)
    out.update(unit=unit, budget=budget, ok=None, runs=0, reason=reason, detail="")
    return out


# -- timing ---------------------------------------------------------------------------


def interleave(variants: dict[str, Callable[[], float]], rounds: int) -> dict[str, list[float]]:
    """Each variant once to warm up, then *rounds* rounds running every variant once,
    the order reversed every other round (A B, B A, …) so drift hits all alike.
    Returns the seconds of each run, by variant."""
    names = list(variants)
    for n in names:
        variants[n]()
    out: dict[str, list[float]] = {n: [] for n in names}
    for r in range(rounds):
        for n in names if r % 2 == 0 else reversed(names):
            out[n].append(variants[n]())
    return out


def med(xs: list[float]) -> float:
    return statistics.median(xs)


def timed_run(argv: list[str], timeout: float = 30, **kw: object) -> float:
    """Seconds to run *argv* to completion (it must succeed)."""
    t0 = time.perf_counter()
    subprocess.run(  # type: ignore[call-overload]
        argv,
        check=True,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout,
        **kw,
    )
    return time.perf_counter() - t0


# -- container start, docker --------------------------------------------------------------


def lab_start(j: Journal, root: Path, mount_proc: bool) -> float:
    """The lab's by-hand start of `/bin/true`, to the container gone and undone."""
    t0 = time.perf_counter()
    c = container.start(j, "bench", root, ["/bin/true"], running=False, mount_proc=mount_proc)
    try:
        c.popen.wait(timeout=10)
    finally:
        j.undo(c.entry)
    return time.perf_counter() - t0


def bench_container(j: Journal, root: Path, rounds: int) -> Figure:
    # the baseline is the very command line the lab runs (same namespaces, --fork,
    # --propagation private, --root, no /proc, the same /bin/true): what is left
    # is the lab's own cost (journal, marker, finding PID 1, undo)
    bare_argv = container.argv(root, ["/bin/true"], mount_proc=False)
    proc_argv = container.argv(root, ["/bin/true"], mount_proc=True)
    t = interleave(
        {
            "bare": lambda: timed_run(bare_argv),
            "lab": lambda: lab_start(j, root, False),
            "bare_proc": lambda: timed_run(proc_argv),
            "lab_proc": lambda: lab_start(j, root, True),
        },
        rounds,
    )
    bare, lab = med(t["bare"]) * 1000, med(t["lab"]) * 1000
    bare_p, lab_p = med(t["bare_proc"]) * 1000, med(t["lab_proc"]) * 1000
    return figure(
        "container_start",
        round(lab / bare, 2),
        measured=lab,
        baseline=bare,
        baseline_what=" ".join(bare_argv).replace(str(root), "ROOT"),
        runs=rounds,
        detail=f"lab {lab:.1f} ms vs bare {bare:.1f} ms; with --mount-proc: lab {lab_p:.1f} ms"
        f" vs bare {bare_p:.1f} ms ({lab_p / bare_p:.2f}×); medians of {rounds} interleaved rounds",
        with_proc={"measured": round(lab_p, 3), "baseline": round(bare_p, 3)},
    )


def bench_docker(j: Journal, root: Path, rounds: int) -> Figure:
    if not shutil.which("docker"):
        raise NotMeasured("docker is not installed")
    env = with_docker_host(dict(os.environ))
    try:
        info = subprocess.run(["docker", "info"], env=env, capture_output=True, timeout=30)
    except subprocess.TimeoutExpired as e:
        raise NotMeasured("`docker info` did not answer within 30 s") from e
    if info.returncode:
        raise NotMeasured("no Docker daemon answers (./run.sh starts one)")
    image = "shikumi-bench:rootfs"
    entry = j.record("docker-image", image)  # journaled: a crash leaves no image behind
    try:
        with tempfile.TemporaryDirectory() as tmp:
            tar = Path(tmp) / "rootfs.tar"
            rootfs.to_tar(root, tar)
            subprocess.run(
                ["docker", "import", str(tar), image],
                env=env,
                check=True,
                capture_output=True,
                timeout=120,
            )
        run = ["docker", "run", "--rm", "--network", "none", image, "/bin/true"]
        t = interleave(
            {
                "docker": lambda: timed_run(run, timeout=60, env=env),
                "lab_proc": lambda: lab_start(j, root, True),
            },
            rounds,
        )
    finally:
        j.undo(entry)
    d, hand = med(t["docker"]) * 1000, med(t["lab_proc"]) * 1000
    return figure(
        "docker_vs_hand",
        round(d / hand, 1),
        measured=d,
        baseline=hand,
        baseline_what="the lab's start with --mount-proc (container.start)",
        runs=rounds,
        detail=f"docker run --rm {d:.0f} ms vs the lab's start {hand:.1f} ms;"
        f" medians of {rounds} interleaved rounds",
    )


# -- rootfs ---------------------------------------------------------------------------------


def bench_rootfs(j: Journal, runs: int) -> tuple[Figure, Figure, rootfs.Rootfs]:
    built: list[rootfs.Rootfs] = []

    def once() -> float:
        target = j.home / "bench" / f"rootfs{len(built)}"
        r = rootfs.build(j, target, [*rootfs.DEFAULT_PROGRAMS, "true"])
        built.append(r)
        return r.seconds

    once()  # warm the page cache
    secs = med([once() for _ in range(runs)]) * 1000
    last = built[-1]
    est = rootfs.estimate_copy_all()
    build = figure(
        "rootfs_build",
        round(secs, 1),
        measured=secs,
        runs=runs,
        detail=f"{len(last.files)} files; median of {runs} builds",
    )
    size = figure(
        "rootfs_size",
        round(last.bytes / 1e6, 1),
        measured=last.bytes / 1e6,
        baseline=est.bytes / 1e6,
        measure_unit="MB",
        baseline_what="the slides' cp -r /bin /lib /lib64 /usr/bin /usr/lib /usr/lib64, sized up",
        runs=1,
        detail=f"cp -r would copy {est.bytes / 1e9:.2f} GB in {est.files} files:"
        f" {est.bytes / last.bytes:.0f}× the ldd closure",
    )
    return build, size, last


# -- the runner, the app ------------------------------------------------------------------


def bench_step_overhead(rounds: int) -> Figure:
    from lab.lesson import execute
    from lab.lesson.loader import load_lesson
    from lab.lesson.runner import Runner, ViewReady

    with tempfile.TemporaryDirectory() as tmp:
        lesson, problems = load_lesson(step_view.write_lesson(Path(tmp)))
        if lesson is None:
            raise NotMeasured(f"the bench lesson does not load: {problems}")
        with Journal.open(Path(tmp) / "home") as j:
            seen: list[float] = []

            def note(e: object) -> None:
                if isinstance(e, ViewReady):
                    seen.append(time.perf_counter())

            r = Runner(lesson, j, on_event=note)
            try:
                r.run_step(0)  # takes the lesson's lock, makes its work dir
                argv = execute.command_argv("true")  # exactly what the step runs
                env, cwd = r.env(), r.work

                def bare() -> float:
                    return step_view.bare_run(argv, env, cwd)

                def through_execute() -> float:
                    t0 = time.perf_counter()
                    c = execute.run(j, argv, name="bench", cwd=cwd, env=env, timeout=10)
                    if c.exit != 0:
                        raise NotMeasured(f"execute.run of `true` exited {c.exit}: {c.stderr}")
                    return time.perf_counter() - t0

                def step() -> float:
                    seen.clear()
                    t0 = time.perf_counter()
                    res = r.run_step(0)
                    if res.status != "passed" or not seen:
                        raise NotMeasured(f"the bench step {res.status}: {res.reason}")
                    return seen[0] - t0

                t = interleave({"bare": bare, "execute": through_execute, "step": step}, rounds)
            finally:
                r.finish()
    b, e, s = (med(t[k]) * 1000 for k in ("bare", "execute", "step"))
    return figure(
        "step_overhead",
        round(s - b, 1),
        measured=s,
        baseline=b,
        baseline_what="bash -c true by subprocess (same env, same cwd)",
        runs=rounds,
        detail=f"step to view collected {s:.1f} ms, execute.run {e:.1f} ms, bare {b:.1f} ms:"
        f" execute.run's part {e - b:.1f} ms, the runner's part {s - e:.1f} ms;"
        f" medians of {rounds} interleaved rounds",
        parts={"execute_ms": round(e - b, 3), "runner_ms": round(s - e, 3)},
        execute_ms=round(e, 3),
    )


def bench_step_to_view(rounds: int) -> Figure:
    app_t, bare_t = step_view.measure(rounds)
    a, b = med(app_t) * 1000, med(bare_t) * 1000
    return figure(
        "step_to_view",
        round(a - b, 1),
        measured=a,
        baseline=b,
        baseline_what="bash -c true by subprocess (the step's env and cwd)",
        runs=rounds,
        detail=f"`r` to the view drawn {a:.1f} ms vs bare {b:.1f} ms;"
        f" medians of {rounds} interleaved rounds",
    )


def bench_app(runs: int) -> tuple[Figure, Figure]:
    """App start and peak RSS. AppDidNotExit propagates: the run fails loudly."""
    if shutil.which("tmux") is None:
        raise NotMeasured("tmux is not installed (assets/provision.sh installs it)")
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp) / "home"
        app_start.one_run(home)  # warm the page cache and .pyc files
        times = [app_start.one_run(home) for _ in range(runs)]
        rss = app_start.peak_rss(home)
    start = med(times)
    fig_start = figure(
        "app_start",
        round(start, 3),
        measured=start * 1000,
        runs=runs,
        detail=f"median of {runs} (min {min(times):.3f}, max {max(times):.3f}), tmux 120×36;"
        " each app waited for until it exited",
    )
    fig_rss = figure(
        "app_rss",
        round(rss / 1e6, 1),
        measured=rss / 1e6,
        measure_unit="MB",
        runs=1,
        detail="VmHWM after opening lesson 02 and running three steps",
    )
    return fig_start, fig_rss


def bench_play_all() -> Figure:
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, SHIKUMI_HOME=str(Path(tmp) / "home"))
        t0 = time.perf_counter()
        try:
            r = subprocess.run(
                [sys.executable, "-m", "lab", "play", "--all", "--json"],
                capture_output=True,
                text=True,
                env=env,
                cwd=REPO,
                timeout=600,
            )
        except subprocess.TimeoutExpired as e:
            raise NotMeasured("shikumi play --all did not end within 600 s") from e
        secs = time.perf_counter() - t0
    try:
        lessons = json.loads(r.stdout)["lessons"]
    except (ValueError, KeyError) as e:
        raise NotMeasured(f"play --all exit {r.returncode}: {r.stderr.strip()[-200:]}") from e
    failed = sum(x["failed"] for x in lessons)
    skipped = sum(x["skipped"] for x in lessons)
    return figure(
        "play_all",
        round(secs, 1),
        measured=secs,
        measure_unit="s",
        runs=1,
        ok=secs <= 40 and r.returncode == 0,
        detail=f"{len(lessons)} of the design's 23 lessons, exit {r.returncode},"
        f" {failed} failed, {skipped} skipped steps",
    )


# -- main -----------------------------------------------------------------------------------


def bench_snapshot(rounds: int) -> Figure:
    t = practice.snapshot_times(rounds)
    s, b = med(t["snapshot"]) * 1000, med(t["mountinfo"]) * 1000
    return figure(
        "practice_snapshot",
        round(s, 2),
        measured=s,
        baseline=b,
        baseline_what="reading /proc/self/mountinfo",
        runs=rounds,
        detail=f"lesson 07's shell step: snapshot {s:.2f} ms vs mountinfo {b:.3f} ms"
        f" (× {s / b:.0f}); medians of {rounds} interleaved rounds",
    )


def bench_prompt(rounds: int) -> Figure:
    t = practice.prompt_times(rounds)
    r, k = med(t["round"]) * 1000, med(t["keystroke"]) * 1000
    return figure(
        "practice_prompt_to_checks",
        round(r, 1),
        measured=k,
        baseline=r,
        baseline_what="the watcher's round (prompt seen to checks and diff ready)",
        measure_unit="ms keystroke to update",
        runs=rounds,
        detail=f"prompt to checks+diff {r:.1f} ms (max {max(t['round']) * 1000:.1f});"
        f" keystroke to update {k:.1f} ms (bash and the pty included); {rounds} commands",
    )


def bench_idle(seconds: float) -> Figure:
    pct, base, detail = practice.idle_cpu(seconds)
    return figure(
        "practice_idle_cpu",
        round(pct, 2),
        measured=pct,
        baseline=base,
        baseline_what="the app idle on the same step, no shell beside",
        measure_unit="% of a core",
        runs=1,
        detail=detail,
    )


def _try(name: str, fn: Callable[[], Figure]) -> Figure:
    try:
        return fn()
    except NotMeasured as e:
        return not_measured(name, str(e))
    except app_start.AppDidNotExit:
        raise
    except Exception as e:  # one figure failing never hides the others
        traceback.print_exc(file=sys.stderr)
        return not_measured(name, f"{type(e).__name__}: {e}")


def main() -> int:
    ap = argparse.ArgumentParser(description="shikumi-lab benchmarks against the design's budgets")
    ap.add_argument(
        "--json", action="store_true", help="print {figure: {value, unit, budget, ok, …}}"
    )
    ap.add_argument("--quick", action="store_true", help="fewer runs")
    ap.add_argument("--only", default="", help="comma-separated figure names")
    ap.add_argument("--save", metavar="FILE", help="also write the --json object to FILE")
    ap.add_argument(
        "--allow-strays", action="store_true", help="measure even with stray shikumi apps alive"
    )
    args = ap.parse_args()
    if os.geteuid() != 0:
        print(
            "bench: needs root (namespaces, chroot, mounts): sudo .venv/bin/python bench/run.py",
            file=sys.stderr,
        )
        return 2
    only = set(filter(None, args.only.split(",")))
    unknown = only - set(BUDGETS)
    if unknown:
        print(f"bench: no figure named {', '.join(sorted(unknown))}", file=sys.stderr)
        return 2
    if not app_start.refuse_strays(args.allow_strays):
        return 3
    rounds = 5 if args.quick else 21
    figs: dict[str, Figure] = {}
    failure = ""

    def want(*names: str) -> bool:
        return not only or bool(only & set(names))

    try:
        with (
            tempfile.TemporaryDirectory(prefix="shikumi-bench-") as tmp,
            Journal.open(Path(tmp) / "home") as j,
        ):
            built: rootfs.Rootfs | None = None
            if want("rootfs_build", "rootfs_size", "container_start", "docker_vs_hand"):
                try:
                    figs["rootfs_build"], figs["rootfs_size"], built = bench_rootfs(j, rounds)
                except Exception as e:
                    traceback.print_exc(file=sys.stderr)
                    why = f"the rootfs could not be built: {type(e).__name__}: {e}"
                    for n in ("rootfs_build", "rootfs_size", "container_start", "docker_vs_hand"):
                        figs[n] = not_measured(n, why)
            if built is not None and want("container_start", "docker_vs_hand"):
                root = built.root
                figs["container_start"] = _try(
                    "container_start", lambda: bench_container(j, root, rounds)
                )
                if want("docker_vs_hand"):
                    figs["docker_vs_hand"] = _try(
                        "docker_vs_hand", lambda: bench_docker(j, root, max(5, rounds // 3))
                    )
        if want("step_overhead"):
            figs["step_overhead"] = _try("step_overhead", lambda: bench_step_overhead(rounds))
        if want("step_to_view"):
            figs["step_to_view"] = _try(
                "step_to_view", lambda: bench_step_to_view(5 if args.quick else 15)
            )
        if want("app_start", "app_rss"):
            pair: list[Figure] = []

            def app_fig() -> Figure:
                pair.extend(bench_app(3 if args.quick else 5))
                return pair[0]

            figs["app_start"] = _try("app_start", app_fig)
            figs["app_rss"] = (
                pair[1] if pair else not_measured("app_rss", str(figs["app_start"]["reason"]))
            )
        if want("play_all"):
            figs["play_all"] = _try("play_all", bench_play_all)
    except app_start.AppDidNotExit as e:
        failure = str(e)
        for n in ("app_start", "app_rss"):
            figs[n] = not_measured(n, f"the app did not exit: {e}")
    if want("practice_snapshot"):
        figs["practice_snapshot"] = _try("practice_snapshot", lambda: bench_snapshot(rounds))
    if want("practice_prompt_to_checks"):
        figs["practice_prompt_to_checks"] = _try(
            "practice_prompt_to_checks", lambda: bench_prompt(rounds)
        )
    if want("practice_idle_cpu"):
        figs["practice_idle_cpu"] = _try(
            "practice_idle_cpu", lambda: bench_idle(5.0 if args.quick else 10.0)
        )
    figs = {k: figs[k] for k in BUDGETS if k in figs and (not only or k in only)}
    if args.save:
        Path(args.save).write_text(json.dumps(figs, indent=2, ensure_ascii=False) + "\n")
    if args.json:
        print(json.dumps(figs, indent=2, ensure_ascii=False))
    else:
        print_table(figs)
    if failure:
        print(f"bench: FAILED: {failure}", file=sys.stderr)
        return 1
    return 0


def print_table(figs: dict[str, Figure]) -> None:
    print(f"{'figure':26} {'value':>9}  {'unit':22} {'budget':>7}  {'ok':4} detail")
    for k, v in figs.items():
        budget = "" if v["budget"] is None else v["budget"]
        if v["reason"]:
            print(
                f"{k:26} {'—':>9}  {v['unit']!s:22} {budget!s:>7}  {'—':4} not measured: {v['reason']}"
            )
            continue
        ok = {True: "yes", False: "NO", None: "—"}[v["ok"]]  # type: ignore[index]
        print(f"{k:26} {v['value']!s:>9}  {v['unit']!s:22} {budget!s:>7}  {ok:4} {v['detail']}")


if __name__ == "__main__":
    os.environ.pop("TMUX", None)
    raise SystemExit(main())
