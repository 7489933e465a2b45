"""Probe: can runc and crun run a container here? A real attempt, as every doctor check:
a bundle of one static busybox in a scratch directory, `TOOL spec`, `TOOL run` of
`busybox true` in the foreground (it deletes the container when it exits), then the
directory removed. Being installed is not enough: crun refuses a machine whose
cgroups are in hybrid mode (v1 controllers beside a v2 hierarchy that holds some),
and a sandbox may refuse what any runtime needs. Lesson 19 names these
requirements (``runtime.runc``, ``runtime.crun``).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from lab.doctor.probe import RUN_AS_ROOT, Check, one_line

NAMES = ("runtime.runc", "runtime.crun")
TIMEOUT = 20.0
PACKAGES = {"runc": "runc", "crun": "crun"}


def _bundle(tmp: Path, tool: str, busybox: str) -> Path:
    bundle = tmp / "bundle"
    (bundle / "rootfs" / "bin").mkdir(parents=True)
    shutil.copy(busybox, bundle / "rootfs" / "bin" / "busybox")
    subprocess.run([tool, "spec"], cwd=bundle, capture_output=True, timeout=TIMEOUT, check=True)
    cfg = json.loads((bundle / "config.json").read_text())
    cfg["process"]["terminal"] = False
    cfg["process"]["args"] = ["/bin/busybox", "true"]
    (bundle / "config.json").write_text(json.dumps(cfg))
    return bundle


def probe_runtime(tool: str) -> Check:
    name = f"runtime.{tool}"
    path = shutil.which(tool)
    if path is None:
        fix = f"apt-get install {PACKAGES[tool]} (or ./run.sh installs everything)"
        return Check(name, False, False, f"{tool} is not on PATH", fix)
    if os.geteuid() != 0:
        return Check(name, False, False, f"{tool} runs containers as root only here", RUN_AS_ROOT)
    busybox = shutil.which("busybox")
    if busybox is None:
        return Check(
            name,
            False,
            False,
            "no busybox to make a probe container of",
            "apt-get install busybox-static",
        )
    tmp = Path(tempfile.mkdtemp(prefix="shikumi-doctor-"))
    cid = f"shikumi-doctor-{os.getpid()}-{tool}"
    try:
        bundle = _bundle(tmp, tool, busybox)
        r = subprocess.run(
            [tool, "--root", str(tmp / "state"), "run", "--bundle", str(bundle), cid],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            timeout=TIMEOUT,
        )
    except (OSError, subprocess.SubprocessError) as e:
        return Check(
            name,
            False,
            False,
            f"{tool} could not be tried: {one_line(str(e))}",
            "report this as a bug",
        )
    finally:
        subprocess.run(
            [tool, "--root", str(tmp / "state"), "delete", "--force", cid],
            capture_output=True,
            timeout=TIMEOUT,
        )
        shutil.rmtree(tmp, ignore_errors=True)
    if r.returncode != 0:
        why = one_line(r.stderr) or one_line(r.stdout) or f"exit {r.returncode}"
        fix = (
            "a machine with cgroup v2 only (boot with systemd.unified_cgroup_hierarchy=1)"
            if "hybrid" in why
            else f"see `{tool} run` on a bundle: {why}"
        )
        return Check(name, False, False, f"{tool} cannot run a container here: {why}", fix)
    return Check(name, True, False, f"{path} ran a container (busybox true)", "")


def probe_all() -> list[Check]:
    return [probe_runtime("runc"), probe_runtime("crun")]
