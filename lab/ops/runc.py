"""runc, the OCI runtime, beside the lab: bundles and containers under the lab's home.

The lab keeps its runc containers apart from the machine's own (`/run/runc`, and
Docker's under containerd): every `runc` it runs, and every one a lesson shows the
learner, takes ``--root HOME/runc``. A container is written to the journal
("runc-container", its id, ``root=``) before `runc run` makes it, so cleanup
deletes it (`runc --root … delete --force ID`) even after a crash.

A bundle is a directory holding ``config.json`` (from `runc spec`) and the root
filesystem; ``prepare_config`` makes the few changes the lessons need (no
terminal, the command, the hostname, a marker the leak check finds the
container's processes by).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.ops.speed import Timing
from lab.safety.journal import Entry, Journal

RUNC_DIR = "runc"  # HOME/runc: the lab's runc state root
ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")
TIMEOUT = 60.0


TOOLS = ("runc", "crun")


def root_of(home: Path, tool: str = "runc") -> Path:
    """The lab's state root in *home* for *tool* (`runc --root` of every lab container):
    HOME/runc, and HOME/crun for crun (whose state runc cannot read, nor crun runc's)."""
    if tool not in TOOLS:
        raise LabError(f"the lab runs runc or crun (got {tool!r})")
    return Path(home) / (RUNC_DIR if tool == "runc" else tool)


def available(tool: str = "runc") -> str:
    """ "" when *tool* (runc or crun) is installed, else why not, with the fix."""
    if shutil.which(tool):
        return ""
    return f"{tool} is not installed (assets/provision.sh installs it: apt-get install {tool})"


def check_id(cid: str) -> str:
    if not ID_RE.match(cid):
        raise LabError(f"not a container id runc takes: {cid!r} (letters, digits, _ . -)")
    return cid


def runc(
    root: Path, args: Sequence[str], timeout: float = TIMEOUT, tool: str = "runc"
) -> subprocess.CompletedProcess[str]:
    """`runc --root ROOT ARGS…`, its output captured (stdin from /dev/null)."""
    why = available(tool)
    if why:
        raise LabError(why)
    return subprocess.run(
        [tool, "--root", str(root), *args],
        capture_output=True,
        text=True,
        stdin=subprocess.DEVNULL,
        timeout=timeout,
    )


@dataclass
class State:
    """`runc state ID`: what runc keeps in ROOT/ID/state.json, as the OCI spec names it."""

    id: str
    pid: int
    status: str  # creating | created | running | stopped
    bundle: str
    raw: dict = field(default_factory=dict)


def state(root: Path, cid: str) -> State | None:
    """The container's state, or None if runc does not know it."""
    r = runc(root, ["state", check_id(cid)])
    if r.returncode != 0:
        return None
    d = json.loads(r.stdout)
    return State(d["id"], int(d.get("pid") or 0), d.get("status", ""), d.get("bundle", ""), d)


def ids(root: Path) -> list[str]:
    """The containers runc has under *root* (none when the root does not exist)."""
    if not root.is_dir():
        return []
    r = runc(root, ["list", "-q"])
    return r.stdout.split() if r.returncode == 0 else []


def record(j: Journal, cid: str, root: Path | None = None, tool: str = "runc") -> Entry:
    """Note a container in the journal before it exists (the lab's, or the learner's)."""
    where = root or root_of(j.home, tool)
    return j.record("runc-container", check_id(cid), root=str(where), tool=tool)


def spec(bundle: Path) -> dict:
    """`runc spec` in *bundle*: the default config.json, as runc writes it."""
    bundle.mkdir(parents=True, exist_ok=True)
    cfg = bundle / "config.json"
    if cfg.exists():
        cfg.unlink()
    why = available()
    if why:
        raise LabError(why)
    r = subprocess.run(
        ["runc", "spec"], cwd=bundle, capture_output=True, text=True, timeout=TIMEOUT
    )
    if r.returncode != 0:
        raise LabError(f"runc spec failed: {r.stderr.strip()}")
    return json.loads(cfg.read_text())


def prepare_config(
    bundle: Path,
    args: Sequence[str],
    hostname: str = "",
    marker: str = "",
    rootfs: str = "",
) -> dict:
    """Change the bundle's config.json as a lesson needs it: no terminal (the lab and
    `runc run -d` give the container no tty), the command, the hostname, and
    SHIKUMI_MARK=*marker* in its environment (the leak check finds the container's
    processes by it). *rootfs*: an absolute root path, for a bundle that shares one."""
    path = bundle / "config.json"
    try:
        cfg = json.loads(path.read_text())
    except (OSError, ValueError) as e:
        raise LabError(f"cannot read {path}: {e}") from None
    proc = cfg.setdefault("process", {})
    proc["terminal"] = False
    proc["args"] = list(args)
    if marker:
        env = [e for e in proc.get("env", []) if not e.startswith("SHIKUMI_MARK=")]
        proc["env"] = [*env, f"SHIKUMI_MARK={marker}"]
    if hostname:
        cfg["hostname"] = hostname
    if rootfs:
        cfg.setdefault("root", {})["path"] = rootfs
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(cfg, indent="\t") + "\n")
    os.replace(tmp, path)
    return cfg


def run_detached(j: Journal, bundle: Path, cid: str, log: Path) -> State:
    """`runc --root HOME/runc run -d --bundle BUNDLE ID`, its output to *log*; journaled
    first. Returns the running container's state."""
    root = root_of(j.home)
    if (root / check_id(cid)).is_dir():  # a step run again: its container of the last run goes
        runc(root, ["delete", "--force", cid])
    record(j, cid, root)
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        r = subprocess.run(
            ["runc", "--root", str(root), "run", "-d", "--bundle", str(bundle), cid],
            stdin=subprocess.DEVNULL,
            stdout=out,
            stderr=out,
            timeout=TIMEOUT,
        )
    if r.returncode != 0:
        raise LabError(f"runc run {cid} failed (exit {r.returncode}): {log.read_text()[-400:]}")
    st = state(root, cid)
    if st is None:
        raise LabError(f"runc ran {cid} but does not know it")
    return st


def delete(j: Journal | None, root: Path, cid: str) -> None:
    """`runc delete --force ID` (kills what still runs)."""
    runc(root, ["delete", "--force", check_id(cid)])
    if j is not None:
        for e in j.active:
            if e.kind == "runc-container" and e.target == cid:
                j.release(e)


def _run_once(j: Journal, bundle: Path, tool: str, cid: str) -> tuple[float, str]:
    """One foreground `TOOL run` of *bundle*, journaled first: (seconds, "" or its error)."""
    root = root_of(j.home, tool)
    entry = record(j, cid, root, tool)
    t0 = time.perf_counter()
    r = subprocess.run(
        [tool, "--root", str(root), "run", "--bundle", str(bundle), cid],
        stdin=subprocess.DEVNULL,
        capture_output=True,
        timeout=TIMEOUT,
    )
    dt = time.perf_counter() - t0
    j.undo(entry)  # gone already (`run` deletes it at its end): cheap
    err = r.stderr.decode(errors="replace").strip() or f"exit {r.returncode}"
    return dt, "" if r.returncode == 0 else err


def time_runs(j: Journal, bundle: Path, runs: int = 10, tool: str = "runc") -> Timing:
    """Time `runc run ID` (foreground: create, start, wait, delete) of a bundle whose
    command exits at once, *runs* times, after one run not timed (the first start
    reads the binary and the rootfs from disk); each container is journaled first."""
    root = root_of(j.home, tool)
    t = Timing(f"{tool} run", f"{tool} --root {root} run --bundle {bundle} ID")
    for i in range(-1, runs):
        dt, err = _run_once(j, bundle, tool, f"shk-speed-{os.getpid()}-{i + 1}")
        if err:
            raise LabError(f"{tool} run failed: {err}")
        if i >= 0:
            t.runs.append(dt)
    return t
