"""An internal error: one line for the user naming a log; the traceback in
HOME/log/crash-<time>-<pid>.log (0600), or in a private mkdtemp directory when the
home cannot be used — never a fixed path in /tmp."""

from __future__ import annotations

import os
import stat
import tempfile
from pathlib import Path

import pytest

from lab import cli


def _boom(monkeypatch: pytest.MonkeyPatch) -> None:
    def crash(args: object) -> int:
        raise RuntimeError("boom in doctor")

    monkeypatch.setattr(cli, "cmd_doctor", crash)


def test_the_crash_log_is_inside_the_home_and_private(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    from lab.safety.home import ensure_home

    home = ensure_home(tmp_path / "home")
    monkeypatch.setenv("SHIKUMI_HOME", str(home))
    _boom(monkeypatch)
    assert cli.main(["doctor"]) == 70
    err = capsys.readouterr().err
    assert len(err.splitlines()) == 1, err
    assert "internal error: RuntimeError: boom in doctor" in err
    logs = list((home / "log").glob("crash-*.log"))
    assert len(logs) == 1 and f"(details in {logs[0]})" in err
    assert stat.S_IMODE(logs[0].stat().st_mode) == 0o600
    assert stat.S_IMODE((home / "log").stat().st_mode) == 0o700
    text = logs[0].read_text()
    assert "Traceback" in text and "RuntimeError: boom in doctor" in text
    assert "Traceback" not in err


def test_an_unusable_home_logs_to_a_private_temp_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(tmp))
    for home in ("/etc", str(tmp_path / "not-made-yet")):
        monkeypatch.setenv("SHIKUMI_HOME", home)
        before = set(os.listdir("/etc"))
        try:
            raise ValueError("bad thing")
        except ValueError as e:
            where = Path(cli._log_crash(e))
        assert where.parent.parent == tmp and where.parent.name.startswith("shikumi-crash-")
        assert stat.S_IMODE(where.parent.stat().st_mode) == 0o700
        assert stat.S_IMODE(where.stat().st_mode) == 0o600
        assert "ValueError: bad thing" in where.read_text()
        assert set(os.listdir("/etc")) == before  # nothing written into a system directory
    assert not (tmp_path / "not-made-yet").exists()  # a home is not made just for a log


def test_no_fixed_path_in_tmp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.safety.home import ensure_home

    home = ensure_home(tmp_path / "home")
    monkeypatch.setenv("SHIKUMI_HOME", str(home))
    fixed = Path("/tmp/shikumi-last-error.txt")
    had = fixed.exists()
    try:
        raise RuntimeError("x")
    except RuntimeError as e:
        first = cli._log_crash(e)
        second = cli._log_crash(e)
    assert first != second  # one file per crash: never one shared path
    assert Path(first).parent == Path(second).parent == home / "log"
    assert fixed.exists() == had
