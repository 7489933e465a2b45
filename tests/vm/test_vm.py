"""The lab in a real VM (tests/vm/run.sh --job smoke) as a test.

Skipped unless SHIKUMI_VM=1: a boot under TCG plus provisioning takes many
minutes (see docs/reliability.md, "Real VM"). Boots Debian 12 with systemd and
cgroup v2, runs the Vagrantfile's provisioning, `shikumi doctor --json` and
`shikumi play --json` of lessons 16, 14, 15 and 13 there, and checks what came
back: systemd was PID 1, /sys/fs/cgroup was cgroup2 with the four controllers
the lab uses, doctor saw v2 and each controller, every lesson passed with
nothing skipped and nothing leaked.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
LESSONS = ("16", "14", "15", "13")

pytestmark = [
    pytest.mark.ci_may_skip("the VM smoke runs only when SHIKUMI_VM=1 (it takes many minutes)"),
    pytest.mark.skipif(
        os.environ.get("SHIKUMI_VM") != "1",
        reason="SHIKUMI_VM=1 runs the lab in a real VM (tests/vm/run.sh)",
    ),
]


def _facts(path: Path) -> dict[str, str]:
    out = {}
    for line in path.read_text().splitlines():
        k, sep, v = line.partition("=")
        if sep:
            out[k] = v
    return out


def test_vm_smoke(tmp_path: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("tests/vm/run.sh needs root (debootstrap, mkfs.ext4 -d)")
    vm_timeout = int(os.environ.get("SHIKUMI_VM_TIMEOUT", "2400"))
    out = tmp_path / "vm"
    env = dict(os.environ, SHIKUMI_VM_ENV=f"LESSONS={','.join(LESSONS)}")
    cmd = [str(HERE / "run.sh"), "--job", "smoke", "--timeout", str(vm_timeout), "--out", str(out)]
    # the image build (when not cached) comes on top of the VM's own timeout
    r = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=vm_timeout + 2700)
    steps = (out / "steps.txt").read_text() if (out / "steps.txt").exists() else "(no steps.txt)"
    assert r.returncode == 0, f"{' '.join(cmd)} exited {r.returncode}\n{r.stdout[-3000:]}\n{steps}"

    facts = _facts(out / "facts.txt")
    assert facts["pid1"] == "systemd"
    assert facts["cgroupfs"] == "cgroup2fs"
    assert {"memory", "cpu", "pids", "cpuset"} <= set(facts["controllers"].split())

    checks = {c["name"]: c for c in json.loads((out / "doctor.out").read_text())["checks"]}
    assert checks["cgroup2"]["ok"], checks["cgroup2"]
    assert checks["cgroup"]["detail"].startswith("cgroup v2"), checks["cgroup"]
    for c in ("memory", "cpu", "pids", "cpuset"):
        assert checks[f"cgroup.{c}"]["ok"], checks[f"cgroup.{c}"]
        assert "cgroup v2" in checks[f"cgroup.{c}"]["detail"], checks[f"cgroup.{c}"]
    assert checks["docker.daemon"]["ok"], checks["docker.daemon"]

    for lesson in LESSONS:
        play = json.loads((out / f"play-{lesson}.out").read_text())
        (result,) = play["lessons"]
        assert result["failed"] == 0 and result["skipped"] == 0, result
        assert result["passed"] == result["steps"] > 0, result
        assert play["leaked"] == [], play["leaked"]
