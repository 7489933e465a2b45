"""Cheap, real checks of the set-up layer: run.sh, provision.sh, .ci/run, Vagrantfile, README."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCRIPTS = ["run.sh", "assets/provision.sh", ".ci/run", "tests/fresh/run-in-fresh-debian.sh"]


@pytest.mark.parametrize("script", SCRIPTS)
def test_script_parses_and_is_strict(script: str) -> None:
    path = ROOT / script
    assert path.is_file(), f"{script} is missing"
    r = subprocess.run(["bash", "-n", str(path)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    text = path.read_text()
    assert text.startswith("#!/usr/bin/env bash"), f"{script}: no bash shebang"
    assert "set -euo pipefail" in text, f"{script}: no set -euo pipefail"
    assert os.access(path, os.X_OK), f"{script} is not executable"


def test_readme_quick_start_has_exactly_the_two_commands() -> None:
    readme = (ROOT / "README.md").read_text()
    m = re.search(r"^## Quick start\n(.*?)(?=^## )", readme, re.S | re.M)
    assert m, "README has no '## Quick start' section"
    blocks = re.findall(r"```[a-z]*\n(.*?)```", m.group(1), re.S)
    assert len(blocks) == 1, f"Quick start should hold one code block, found {len(blocks)}"
    commands = [line.strip() for line in blocks[0].splitlines() if line.strip()]
    assert commands == ["./run.sh", "./run.sh test"]


def test_ci_runs_run_sh_test() -> None:
    text = (ROOT / ".ci/run").read_text()
    assert re.search(r"^exec (bash )?\./run\.sh test\s*$", text, re.M)
    assert "CI=true" in text


def test_vagrantfile_parses() -> None:
    ruby = shutil.which("ruby")
    if ruby is None:
        pytest.skip("ruby is not installed (apt-get install ruby) to check the Vagrantfile")
    r = subprocess.run([ruby, "-c", str(ROOT / "Vagrantfile")], capture_output=True, text=True)
    assert r.returncode == 0 and "Syntax OK" in r.stdout, r.stdout + r.stderr


def test_vagrantfile_uses_the_shared_set_up() -> None:
    text = (ROOT / "Vagrantfile").read_text()
    assert "assets/provision.sh" in text
    assert "run.sh setup" in text


def test_run_sh_refuses_non_root_with_one_line() -> None:
    if os.geteuid() != 0:
        r = subprocess.run(["bash", str(ROOT / "run.sh"), "doctor"], capture_output=True, text=True)
    else:
        nobody = shutil.which("setpriv")
        if nobody is None:
            pytest.skip("setpriv (util-linux) is not installed to drop root")
        r = subprocess.run(
            [
                nobody,
                "--reuid=65534",
                "--regid=65534",
                "--clear-groups",
                "bash",
                str(ROOT / "run.sh"),
                "doctor",
            ],
            capture_output=True,
            text=True,
            cwd="/",
        )
    assert r.returncode == 1
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "sudo" in lines[0], r.stderr
    assert r.stdout == ""


def test_provision_help_and_unknown_option() -> None:
    r = subprocess.run(
        ["bash", str(ROOT / "assets/provision.sh"), "--help"], capture_output=True, text=True
    )
    assert r.returncode == 0 and "--start-docker" in r.stdout
    r = subprocess.run(
        ["bash", str(ROOT / "assets/provision.sh"), "--bogus"], capture_output=True, text=True
    )
    assert r.returncode != 0 and "unknown option" in r.stderr
