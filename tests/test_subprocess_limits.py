"""Every subprocess the lab starts has a time limit, and at its end the child is killed
(issue 12). A static check over lab/ (the AST, not a grep: aliases and comments cannot
fool it), then proc_run, the helper that kills a timed-out command's whole group."""

from __future__ import annotations

import ast
import subprocess
import time
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.host import proc_run
from lab.safety import procs

LAB = Path(__file__).resolve().parent.parent / "lab"

RUNNERS = {"run", "call", "check_call", "check_output"}  # subprocess.X(...) needs timeout=
NEVER = {  # ways to start a process with no limit at all
    ("os", "system"),
    ("os", "popen"),
    ("os", "fork"),
    ("os", "forkpty"),
    ("pty", "spawn"),
    ("pty", "fork"),
    ("subprocess", "getoutput"),
    ("subprocess", "getstatusoutput"),
}
# A Popen may only be started where its end is handled, each for the reason given.
POPEN_ALLOWED = {
    "lab/host/proc_run.py": "start(): finish() bounds it and kills its group",
    "lab/safety/resources.py": "spawn(): a long-running process recorded in the journal, "
    "killed (with everything carrying its marker) by the journal's undo",
    "lab/tui/screens/lesson_session.py": "the learner's interactive try shell, in the foreground "
    "terminal for as long as the learner works in it",
}
# a no-argument .wait() is unbounded; these are not processes the lab ran to an end
WAIT_ALLOWED = {
    ("lab/tui/screens/lesson_session.py", "worker"): "a Textual worker, not a process",
    ("lab/tui/screens/lesson_session.py", "shell"): "the learner's interactive try shell",
}


def _dotted(node: ast.expr) -> tuple[str, str] | None:
    if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name):
        return node.value.id, node.attr
    return None


def _has_timeout(call: ast.Call, positional_at: int | None = None) -> bool:
    for kw in call.keywords:
        if kw.arg == "timeout":
            return not (isinstance(kw.value, ast.Constant) and kw.value.value is None)
        if kw.arg is None:  # **kwargs: cannot be told statically
            return False
    return positional_at is not None and len(call.args) > positional_at


def problems_in(source: str, rel: str) -> list[str]:
    """Each subprocess start in *source* that has no time limit, as `rel:line: why`."""
    out = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.ImportFrom) and node.module in ("subprocess", "pty"):
            out.append(f"{rel}:{node.lineno}: `from {node.module} import …` (use the module)")
        elif isinstance(node, ast.Import):
            for a in node.names:
                if a.name in ("subprocess", "pty") and a.asname:
                    out.append(f"{rel}:{node.lineno}: `import {a.name} as {a.asname}`")
        if not isinstance(node, ast.Call):
            continue
        name = _dotted(node.func)
        line = f"{rel}:{node.lineno}"
        if name in NEVER:
            out.append(f"{line}: {'.'.join(name)}() starts a process no limit holds")
        elif name is not None and name[0] == "subprocess" and name[1] in RUNNERS:
            if not _has_timeout(node):
                out.append(f"{line}: subprocess.{name[1]}() without timeout=")
        elif name == ("proc_run", "run") and not _has_timeout(node):
            out.append(f"{line}: proc_run.run() without timeout=")
        elif name == ("subprocess", "Popen") and rel not in POPEN_ALLOWED:
            out.append(f"{line}: subprocess.Popen() outside {sorted(POPEN_ALLOWED)}: use proc_run")
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "communicate":
            if not _has_timeout(node, positional_at=1):
                out.append(f"{line}: .communicate() without timeout=")
        elif isinstance(node.func, ast.Attribute) and node.func.attr == "wait":
            recv = node.func.value.id if isinstance(node.func.value, ast.Name) else ""
            if not node.args and not node.keywords and (rel, recv) not in WAIT_ALLOWED:
                out.append(f"{line}: {recv or '…'}.wait() without a timeout")
    return out


def test_every_subprocess_in_lab_and_bench_has_a_time_limit() -> None:
    found = []
    files = sorted(LAB.rglob("*.py"))
    assert len(files) > 50  # really the whole package
    bench = sorted((LAB.parent / "bench").rglob("*.py"))
    assert bench  # the benchmarks start docker, tmux and the app: limited too
    for f in [*files, *bench]:
        rel = f.relative_to(LAB.parent).as_posix()
        found += problems_in(f.read_text(), rel)
    assert not found, "\n".join(found)


def test_the_popen_allowlist_names_real_uses() -> None:
    """An allowance nobody needs any more is removed, not kept as a hole."""
    for rel in POPEN_ALLOWED:
        assert "subprocess.Popen(" in (LAB.parent / rel).read_text(), rel


@pytest.mark.parametrize(
    ("code", "why"),
    [
        ("import subprocess\nsubprocess.run(['ls'])", "subprocess.run() without timeout="),
        ("import subprocess\nsubprocess.check_output(['ls'], timeout=None)", "without timeout="),
        ("import subprocess\nsubprocess.call(['ls'], **kw)", "subprocess.call() without"),
        ("import subprocess\np = subprocess.Popen(['ls'])", "Popen() outside"),
        ("p.communicate()", ".communicate() without timeout="),
        ("p.wait()", "p.wait() without a timeout"),
        ("import os\nos.system('ls')", "os.system()"),
        ("from subprocess import run\nrun(['ls'])", "from subprocess import"),
        ("import subprocess as sp\nsp.run(['ls'])", "import subprocess as sp"),
        ("from lab.ops import proc_run\nproc_run.run(['ls'])", "proc_run.run() without"),
    ],
)
def test_the_check_catches_a_call_without_a_limit(code: str, why: str) -> None:
    found = problems_in(code, "lab/x.py")
    assert any(why in p for p in found), found


def test_the_check_passes_calls_with_a_limit() -> None:
    code = (
        "import subprocess\n"
        "subprocess.run(['ls'], timeout=5)\n"
        "p.communicate(timeout=3)\n"
        "p.communicate(b'', 3)\n"
        "p.wait(timeout=1)\n"
        "proc_run.run(['ls'], timeout=2)\n"
        "x = 'os.fork()'\n"  # in a string (a script for a child python): not a call here
    )
    assert problems_in(code, "lab/x.py") == []


def test_proc_run_kills_the_whole_group_at_the_timeout(tmp_path: Path) -> None:
    pidfile = tmp_path / "pid"
    t0 = time.monotonic()
    with pytest.raises(subprocess.TimeoutExpired) as e:
        proc_run.run(
            ["sh", "-c", f"sleep 60 & echo $! > {pidfile}; wait"],
            timeout=0.5,
            capture_output=True,
        )
    assert time.monotonic() - t0 < 0.5 + proc_run.DRAIN + proc_run.REAP
    assert isinstance(e.value, LabError) and "did not finish within 0.5 s" in str(e.value)
    # the grandchild (what subprocess.run's own timeout leaves running) is gone too
    deadline = time.monotonic() + 2
    while procs.alive(int(pidfile.read_text())) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert not procs.alive(int(pidfile.read_text()))


def test_proc_run_is_subprocess_run_otherwise() -> None:
    r = proc_run.run(
        ["sh", "-c", "cat; echo err >&2; exit 3"],
        input="in\n",
        capture_output=True,
        text=True,
        timeout=10,
    )
    assert (r.returncode, r.stdout, r.stderr) == (3, "in\n", "err\n")
    with pytest.raises(subprocess.CalledProcessError):
        proc_run.run(["false"], check=True, timeout=10)
    with pytest.raises(FileNotFoundError):
        proc_run.run(["/nonexistent/shk-no-such-program"], timeout=10)


def test_proc_run_kills_the_group_on_an_exception(tmp_path: Path) -> None:
    """Ctrl-C (any exception) while waiting: the command does not live on."""
    pidfile = tmp_path / "pid"
    p = proc_run.start(["sh", "-c", f"echo $$ > {pidfile}; sleep 60"])
    while not pidfile.exists() or not pidfile.read_text().strip():
        time.sleep(0.02)

    class Boom(Exception):
        pass

    real, calls = p.communicate, []

    def explode_once(*a: object, **k: object) -> object:
        calls.append(1)
        if len(calls) == 1:
            raise Boom  # e.g. KeyboardInterrupt while waiting
        return real(*a, **k)  # type: ignore[arg-type]

    p.communicate = explode_once  # type: ignore[method-assign]
    with pytest.raises(Boom):
        proc_run.finish(p, 10)
    assert p.returncode is not None  # killed and reaped
    assert not procs.alive(int(pidfile.read_text()))
