"""The benchmark's own logic (no timing asserted): variants interleaved, every
figure in the --json contract, stray apps recognised, the container baseline the
very command line the lab runs."""

from __future__ import annotations

import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "bench"))

import app_start  # noqa: E402
import run  # noqa: E402

from lab.ops import container  # noqa: E402

CONTRACT = {"value", "unit", "budget", "ok"}


def test_variants_interleave_with_the_order_swapped_each_round() -> None:
    calls: list[str] = []

    def variant(name: str):
        def once() -> float:
            calls.append(name)
            return float(len(calls))

        return once

    got = run.interleave({"a": variant("a"), "b": variant("b")}, 4)
    assert calls == ["a", "b", "a", "b", "b", "a", "a", "b", "b", "a"]  # warm-up, then ABBA…
    assert got == {"a": [3.0, 6.0, 7.0, 10.0], "b": [4.0, 5.0, 8.0, 9.0]}


def test_a_figure_keeps_its_baseline_and_judges_its_budget() -> None:
    f = run.figure("container_start", 1.5, measured=6.0, baseline=4.0, runs=3)
    assert set(f) >= CONTRACT and f["ok"] is True and f["budget"] == 2.0
    assert (f["measured"], f["baseline"], f["ratio"], f["reason"]) == (6.0, 4.0, 1.5, None)
    assert run.figure("container_start", 2.5)["ok"] is False
    assert run.figure("docker_vs_hand", 49.0)["ok"] is False  # a minimum, not a maximum
    assert run.figure("docker_vs_hand", 51.0)["ok"] is True


def test_a_figure_not_measured_is_there_with_its_reason() -> None:
    f = run.not_measured("app_start", "tmux is not installed")
    assert set(f) >= CONTRACT and set(run.KEYS) <= set(f)
    assert (f["value"], f["ok"], f["reason"], f["budget"]) == (
        None,
        None,
        "tmux is not installed",
        1.0,
    )


def test_every_design_budget_has_a_figure() -> None:
    budgets = {name: b for name, (_, b, _) in run.BUDGETS.items()}
    assert budgets["play_all"] == 40.0 and budgets["container_start"] == 2.0
    assert all(b is not None for b in budgets.values())
    assert len(budgets) == 12


def test_the_container_baseline_is_the_labs_own_command_line() -> None:
    argv = container.argv(Path("/r"), ["/bin/true"], mount_proc=False)
    assert argv[0] == "unshare" and "--root" in argv and argv[-1] == "/bin/true"
    assert "chroot" not in argv and "--mount-proc" not in argv  # no extra exec, no /proc


def test_stray_apps_are_told_from_other_shikumi_commands() -> None:
    py = "/usr/bin/python3"
    assert app_start.shikumi_args([py, "-m", "lab"]) == []
    assert app_start.shikumi_args([py, "-m", "lab", "open", "07"]) == ["open", "07"]
    assert app_start.shikumi_args(["/usr/local/bin/shikumi", "play", "--all"]) == ["play", "--all"]
    assert app_start.shikumi_args([py, "-m", "pytest", "tests"]) is None
    assert app_start.shikumi_args(["sh", "-c", "python -m lab"]) is None
    assert app_start.is_app([]) and app_start.is_app(["open", "07"]) and app_start.is_app(["serve"])
    assert app_start.is_app(["--lang", "ja"])
    assert not app_start.is_app(["play", "--all"]) and not app_start.is_app(["cleanup"])
