"""The `shikumi` command contract: help everywhere, one-line errors, never a traceback."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from lab import cli
from lab.doctor import doctor
from lab.doctor.probe import Check
from tests.support import shikumi

SUBCOMMANDS = ["open", "list", "play", "check", "new", "doctor", "cleanup"]


@pytest.mark.parametrize("sub", SUBCOMMANDS)
def test_help_on_each_subcommand(sub: str) -> None:
    r = shikumi(sub, "--help")
    assert r.returncode == 0 and "usage: shikumi" in r.stdout


def test_unknown_lesson_is_one_clear_line(tmp_path) -> None:
    r = shikumi("play", "no-such-lesson", home=tmp_path / "home")
    assert r.returncode != 0
    assert "Traceback" not in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1, r.stderr
    assert "no-such-lesson" in r.stderr


def test_doctor_text_survives_brackets_in_details(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    fake = [
        Check("virt", True, False, "looked at [/sys/class/dmi/id, /.dockerenv]", ""),
        Check("tool.tree", False, False, "not found [x]", "apt-get install tree [now]"),
    ]
    monkeypatch.setattr(doctor, "run_checks", lambda home=None: fake)
    assert cli.main(["doctor"]) == 0
    out = capsys.readouterr().out
    assert "[/sys/class/dmi/id, /.dockerenv]" in out
    assert "apt-get install tree [now]" in out


def test_internal_errors_are_one_line_with_a_log(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path
) -> None:
    monkeypatch.setenv("SHIKUMI_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))  # the fallback log's dir

    def boom(home=None):
        raise RuntimeError("probe exploded")

    monkeypatch.setattr(doctor, "run_checks", boom)
    assert cli.main(["doctor"]) == 70
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "probe exploded" in err and "Traceback" not in err
    # the home was never made: the log is in a private temp dir (tests/test_crash_log.py)
    log = err.rsplit("(details in ", 1)[1].rstrip(")\n")
    assert Path(log).read_text().startswith("Traceback")
