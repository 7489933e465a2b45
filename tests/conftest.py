"""Shared test set-up.

Under CI=true a test that skips for want of root, Docker or a kernel feature
fails instead: CI installs all of them, so a skip there hides a broken set-up.
A test that can never run on this kind of machine says so with
``@pytest.mark.ci_may_skip("why")``.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "ci_may_skip(reason): this test may skip even in CI (say why)"
    )


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> object:
    outcome = yield
    report = outcome.get_result()
    if (
        IN_CI
        and report.skipped
        and not hasattr(report, "wasxfail")
        and item.get_closest_marker("ci_may_skip") is None
    ):
        reason = report.longrepr[2] if isinstance(report.longrepr, tuple) else str(report.longrepr)
        report.outcome = "failed"
        report.longrepr = f"skipped under CI=true, where everything should be installed: {reason}"


# -- host integrity over the whole suite -------------------------------------------------
# Every file in the host's /usr/bin, /usr/sbin, /usr/lib, /usr/lib64 and /etc is
# fingerprinted (size, mtime, ctime, mode) before the first test and after the last,
# and the files lessons copy or hide are hashed: any difference fails the run.
_HOST: dict[str, Any] = {}


@pytest.fixture(scope="session", autouse=True)
def _host_integrity() -> Iterator[None]:
    if os.geteuid() != 0 or os.environ.get("SHIKUMI_HOST_CHECK", "1" if IN_CI else "0") != "1":
        yield
        return
    from tests.harness import state

    hashed = state.lesson_files()
    before = state.host_fingerprint(hashed)
    _HOST.update(hashed=hashed, before=before)
    yield
    _HOST["changed"] = state.changed(before, state.host_fingerprint(hashed))


@pytest.hookimpl(tryfirst=True)  # before the terminal reporter prints its summary
def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    if _HOST.get("changed"):
        session.exitstatus = 1


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(_reliability_line(), bold=True)
    if "changed" not in _HOST:
        return
    changed = _HOST["changed"]
    line = (
        f"host integrity: {len(_HOST['before'])} host files fingerprinted ({len(_HOST['hashed'])} hashed)"
        f" before and after the suite: {len(changed)} changed"
    )
    terminalreporter.write_line(line, red=bool(changed), green=not changed)
    for c in changed[:20]:
        terminalreporter.write_line(f"  changed: {c}", red=True)


# -- the reliability counts, printed at the end of every run -----------------------------
_COUNTS: dict[str, int] = {"fuzz": 0, "signals": 0}


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Count every example hypothesis runs (fuzzing), by wrapping each @given test's body."""
    for item in items:
        hyp = getattr(getattr(item, "obj", None), "hypothesis", None)
        inner = getattr(hyp, "inner_test", None)
        if inner is None or getattr(inner, "_shikumi_counted", False):
            continue

        def counted(*a: Any, _inner: Any = inner, **kw: Any) -> Any:
            _COUNTS["fuzz"] += 1
            return _inner(*a, **kw)

        counted._shikumi_counted = True  # type: ignore[attr-defined]
        hyp.inner_test = counted


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    name = report.nodeid.lower()
    if report.when == "call" and report.passed and ("signal" in name or "sigterm" in name):
        _COUNTS["signals"] += 1


def _reliability_line() -> str:
    from tests.harness import kill

    parts = []
    res = kill.LAST
    if res is not None:
        parts.append(
            f"kills {res.attempted} attempted, {res.real} real over {len(res.lessons)} lessons,"
            f" leaks {len(res.leaks)}, host changes {len(res.host_changes)}"
        )
    if "changed" in _HOST:
        parts.append(f"host changes over the suite {len(_HOST['changed'])}")
    parts.append(f"fuzz cases {_COUNTS['fuzz']}")
    parts.append(f"signal cases {_COUNTS['signals']}")
    return "reliability: " + "; ".join(parts)


@pytest.fixture
def open_home() -> Iterator[Any]:
    """A lab home that lesson 21's ordinary user can reach (as /var/lib/shikumi is):
    pytest's own tmp_path lives under /tmp/pytest-of-root, mode 0700, which no other
    user may pass through, so lesson 21's first check would rightly fail there."""
    import shutil
    import tempfile
    from pathlib import Path

    top = Path(tempfile.mkdtemp(prefix="shikumi-open-"))
    top.chmod(0o755)
    try:
        yield top / "home"
    finally:
        shutil.rmtree(top, ignore_errors=True)
