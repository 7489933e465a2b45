"""The classroom Vagrantfile: LEARNERS=N defines N VMs named learner-1 … learner-N,
no LEARNERS keeps the one VM, and a bad LEARNERS is one clear line. Checked with the
real vagrant where it is installed (provision.sh --with-test-tools on Debian); no
hypervisor is needed: `vagrant validate --ignore-provider` reads the file only."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VAGRANT = shutil.which("vagrant")
needs_vagrant = pytest.mark.skipif(VAGRANT is None, reason="vagrant is not installed")


def vagrant(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    assert VAGRANT is not None
    full = dict(
        os.environ, VAGRANT_DOTFILE_PATH=str(tmp_path / "dot"), VAGRANT_CHECKPOINT_DISABLE="1"
    )
    full.pop("LEARNERS", None)
    full.update(env)
    return subprocess.run(
        [VAGRANT, *args], cwd=ROOT, env=full, capture_output=True, text=True, timeout=240
    )


@needs_vagrant
def test_learners_3_validates_as_three_named_vms(tmp_path: Path) -> None:
    r = vagrant(tmp_path, "validate", "--ignore-provider", LEARNERS="3")
    assert r.returncode == 0 and "validated successfully" in r.stdout, r.stdout + r.stderr
    assert re.findall(r"==> (learner-\d+):", r.stdout) == ["learner-1", "learner-2", "learner-3"]


@needs_vagrant
def test_without_learners_one_vm(tmp_path: Path) -> None:
    r = vagrant(tmp_path, "validate", "--ignore-provider")
    assert r.returncode == 0 and "validated successfully" in r.stdout, r.stdout + r.stderr
    assert "learner-" not in r.stdout


@needs_vagrant
@pytest.mark.parametrize("bad", ["x", "-1", "2.5", "41"])
def test_a_bad_learners_is_one_line(tmp_path: Path, bad: str) -> None:
    r = vagrant(tmp_path, "validate", "--ignore-provider", LEARNERS=bad)
    assert r.returncode != 0
    assert (
        "LEARNERS" in r.stderr
        and "Traceback" not in r.stderr
        and len(r.stderr.strip().splitlines()) == 1
    ), r.stderr


def test_each_learner_gets_its_own_name_and_serve_port() -> None:
    text = (ROOT / "Vagrantfile").read_text()
    assert 'name = "learner-#{i}"' in text and "vm.hostname = name" in text
    assert 'host: 8100 + i, host_ip: "127.0.0.1"' in text
