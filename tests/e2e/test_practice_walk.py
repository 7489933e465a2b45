"""End to end: a learner walks a lesson doing every try in the shell beside the app.

For each of lessons 05, 07, 08, 10, 14, 15, 16, 21, 22 and 23 (one test each, so
each runs alone): the real app (`python -m lab open NN`) in a real tmux of its own; the
learner runs each step in order with the app's own keys (r, n); at a try step
they press `t` and type the step's solution into the pane beside, line by line
with `send-keys`, as they would type it. The solution is the lesson's own (read
with the lesson loader, never copied here); its ``{{values}}`` are typed as the
shell variables the pane has (``$SHIKUMI_WORK``, ``$SHIKUMI_OUT_<step>``,
``$SHIKUMI_PID_<name>``). The app's pane is read with capture-pane: every check of
the step turns green, What changed lists what the step is about; leaving the step
(n) closes the pane and kills all the shell started. At the lesson's first try the
learner is lazy first: an empty command leaves the step not done, and `h` shows the
failing check's own hint. Quitting leaves nothing behind.

Drives the kernel: run it under the lock (`flock /tmp/shikumi-kernel.lock`).
"""

from __future__ import annotations

import os
import re
import shutil
import sys
import time
import uuid
from pathlib import Path

import pytest

from lab.lesson.loader import load_lesson
from lab.lesson.model import Step
from lab.lesson.variables import PATTERN, env_name
from tests.e2e.test_practice_tmux import Tmux as PracticeTmux

REPO = Path(__file__).resolve().parent.parent.parent
LESSONS = {
    "05": "05-libraries",
    "07": "07-chroot",
    "08": "08-unshare",
    "10": "10-images-overlay",
    "14": "14-volumes",
    "15": "15-networking",
    "16": "16-cgroups",
    "21": "21-user-namespaces",
    "22": "22-registry",
    "23": "23-docker-plumbing",
}
# what the What changed panel must list after each try's solution: what the step is
# about (the file written, the mount made, the link plugged, the limit set)
CHANGED: dict[tuple[str, str], str] = {
    ("05", "ldd"): "+ files: $SHIKUMI_HOME/work/05-libraries/ldd.txt",
    ("05", "restore"): "+ files: $SHIKUMI_HOME/",
    ("05", "again"): "files: $SHIKUMI_HOME/",
    ("07", "shell"): "+ files: $SHIKUMI_HOME/containers/test/tmp/note.txt",
    ("07", "proc-mounted"): "+ files: $SHIKUMI_HOME/containers/test/ps.txt",
    ("08", "hostname-yours"): "hostname",
    ("08", "mount-proc-yours"): "+ processes:",
    ("10", "yours"): "+ files: $SHIKUMI_HOME/containers/web/upper/root/notes.txt",
    ("14", "bind"): "/srv (",
    ("14", "write"): "+ files:",
    ("14", "tmpfs"): "+ mounts:",
    # the container's own tmpfs, walked through /proc/PID/root (lab/host/nsview.py)
    ("14", "readonly"): "+ files: ro:/tmp/ok.txt",
    ("15", "mine"): "+ namespaces:",
    ("15", "second"): "+ links:",
    ("15", "forward-yours"): "+ iptables: nat -A OUTPUT -d 127.0.0.1/32",
    ("15", "testweb"): "+ links:",  # docker run -p: the container's veth on docker0
    ("16", "memlimit"): "cgroups:",
    ("16", "quota"): "cgroups:",
    ("16", "throttle"): "+ files:",
    ("16", "pidsmax"): "cgroups:",
    ("21", "by-hand"): " uid_map 0 ",  # + namespaces: user:[N] uid_map 0 1001 1
    ("21", "subuid"): "+ files: /etc/subuid",
    ("21", "newuidmap"): " uid_map 1 ",  # the subordinate range, by newuidmap
    ("21", "rootlesskit"): " uid_map 1 ",  # … by rootlesskit, in a namespace of its own
    ("22", "layer"): "+ files: $SHIKUMI_HOME/work/22-registry/layer.digest",
    # docker pull: the image, by digest (read from the daemon: lab/host/dockerview.py)
    ("22", "pull"): "+ docker: image 127.0.0.1:",
    ("22", "tag"): "+ files: $SHIKUMI_HOME/registry/l22/storage/docker/registry/v2/blobs/",
    ("23", "port"): "+ files: $SHIKUMI_HOME/work/23-docker-plumbing/port.txt",
    ("23", "dns"): "+ links:",  # the new network's bridge and the containers' veths
    ("23", "stop"): "mounts:",  # the stopped containers' roots unmounted
    # docker pause: the container's cgroup frozen (v1 freezer.state, v2 cgroup.freeze)
    ("23", "pause"): ":docker/",
}
STEP_WAIT = 90.0  # one step of the lab's own (a build, a download from the local cache)
TYPE_WAIT = 30.0  # from the solution typed to every check green
LIST_SHOWS = "Press Enter to open it."  # the lesson list, back from the lesson
READY = re.compile(r"(\(shikumi [^)]*\) #|^>)\s*$")  # the prompt, or bash's PS2


class Tmux(PracticeTmux):  # the practice test's tmux driver, plus typing a line
    def type(self, pane: str, line: str) -> None:
        """One line as typed: its characters literally (-l), then Enter; then, as a
        learner does, wait for the shell to be back at its prompt (or asking for the
        rest of an ``if``) and read what the app shows before the next line."""
        self("send-keys", "-t", pane, "-l", line)
        self("send-keys", "-t", pane, "Enter")
        time.sleep(0.3)
        end = time.monotonic() + TYPE_WAIT
        while time.monotonic() < end:
            lines = [x for x in self.screen(pane).splitlines() if x.strip()]
            if lines and READY.search(lines[-1]):
                break
            time.sleep(0.1)
        time.sleep(0.5)


def as_typed(step: Step) -> list[str]:
    """The step's solution as the learner types it in the pane: its lines, each
    ``{{value}}`` written as the shell variable the pane holds."""

    def var(m: re.Match[str]) -> str:
        name = m.group(1)
        head, _, rest = name.partition(".")
        if name in ("work", "home"):
            return "${SHIKUMI_" + name.upper() + "}"
        if head == "out":
            return "${" + env_name(rest) + "}"
        if head == "pid":
            return "${SHIKUMI_PID_" + re.sub(r"[^A-Za-z0-9_]", "_", rest) + "}"
        raise AssertionError(f"a solution uses {{{{{name}}}}}: not a value the shell holds")

    body = "\n".join(a.body for a in step.of("solution"))
    return [line for line in PATTERN.sub(var, body).splitlines() if line.strip()]


def head(text: str, n: int = 28) -> str:
    """The start of a message as the screen shows it on one line."""
    return text[:n]


def _try_marked(home: Path) -> list[int]:
    """Processes of *home* carrying a try shell's marker (the shells, all they started)."""
    needle = f"SHIKUMI_HOME={home}".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    env = f.read().split(b"\0")
            except OSError:
                continue
            marked = any(e.startswith(b"SHIKUMI_MARK=") and b"-try-" in e for e in env)
            if marked and needle in env:
                found.append(int(name))
    return found


def _cmdline(pid: int) -> bytes:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return b""


def _ours(home: Path) -> list[int]:
    needle = f"SHIKUMI_HOME={home}".encode()
    found = []
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/environ", "rb") as f:
                    if needle in f.read().split(b"\0"):
                        found.append(int(name))
            except OSError:
                continue
    return found


def _mounts_under(home: Path) -> list[str]:
    with open("/proc/self/mountinfo") as f:
        return [line.split()[4] for line in f if line.split()[4].startswith(str(home))]


def lazy_first(t: Tmux, app: str, shell: str, step: Step) -> None:
    """The lazy learner: an empty command, then `h`. The step stays not done and the
    hint shown is the first failing check's own (or the step's first hint)."""
    t.type(shell, "")
    shown = t.wait(app, "not yet")
    checks = step.of("check")
    failing = next(a for a in checks if f"✓ {head(a.params['message'])}" not in shown)
    t("send-keys", "-t", app, "h")
    hint = failing.params.get("hint") or step.hints_in("en")[0]
    words = re.split(r"[`*{\[]", hint.strip())[0].strip()
    shown = t.wait(app, "Hint 1/", *([head(words, 20)] if len(words) >= 12 else []))
    assert "Every check holds" not in shown


@pytest.mark.parametrize("number", sorted(LESSONS))
def test_walk_every_try_beside_the_app(tmp_path: Path, open_home: Path, number: str) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("tmux", "script", "chroot", "ldd", "unshare", "nsenter"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    lesson, problems = load_lesson(REPO / "lessons" / LESSONS[number])
    assert lesson is not None, problems
    tries = [i for i, st in enumerate(lesson.steps) if st.of("try")]
    assert {(number, lesson.steps[i].id) for i in tries} <= set(CHANGED), "an expectation each"
    home = open_home  # lesson 21's ordinary user must reach it (tmp_path is under a 0700 folder)
    exit_file = tmp_path / "exit-status"
    t = Tmux(f"shikumi-walk-{uuid.uuid4().hex[:8]}")
    env = f"SHIKUMI_HOME={home} LANG=C.UTF-8 TERM=xterm-256color PYTHONPATH={REPO}"
    command = (
        f"cd {REPO} && env -u COLUMNS -u LINES {env} {sys.executable} -m lab open {number};"
        f" echo $? > {exit_file}; sleep 5"
    )
    t("new-session", "-d", "-s", "app", "-x", "240", "-y", "60", command)
    total = len(lesson.steps)
    try:
        app = t.panes("app")[0]
        for i, step in enumerate(lesson.steps[: tries[-1] + 1]):
            t.wait(app, f"Step {i + 1}/{total}", timeout=STEP_WAIT)
            t("send-keys", "-t", app, "r")
            if step.of("predict"):  # the question first: run without guessing (s)
                t.wait(app, "Predict first", timeout=STEP_WAIT)
                t("send-keys", "-t", app, "s")
            if i not in tries:
                t.wait(app, "✓ passed", timeout=STEP_WAIT)
                t("send-keys", "-t", app, "n")
                continue
            t.wait(app, "your turn: press t", timeout=STEP_WAIT)
            t("send-keys", "-t", app, "t")
            end = time.monotonic() + 10
            while len(t.panes("app")) < 2 and time.monotonic() < end:
                time.sleep(0.1)
            shell = next(p for p in t.panes("app") if p != app)
            t.wait(shell, f"(shikumi {number} · ")
            t.wait(app, "What changed")
            if i == tries[0]:
                lazy_first(t, app, shell, step)
            listed = []  # What changed as the learner saw it after each line
            for line in as_typed(step):
                t.type(shell, line)
                listed.append(t.screen(app).split("What changed", 1)[-1])
            green = [f"✓ {head(a.params['message'])}" for a in step.of("check")]
            shown = t.wait(app, "Every check holds", *green, timeout=TYPE_WAIT)
            listed.append(shown.split("What changed", 1)[-1])
            expect = CHANGED[(number, step.id)]
            assert any(expect in x for x in listed), "\n".join(listed)
            assert _try_marked(home), "the learner's shell runs, marked"
            if i == tries[-1]:  # the last try: leave the whole lesson, a job running
                t.type(shell, "sleep 4545 &")
                assert any(b"4545" in _cmdline(p) for p in _try_marked(home))
                t("send-keys", "-t", app, "Escape")
                t.wait(app, LIST_SHOWS)
            else:  # leaving the step (n) closes the pane
                t("send-keys", "-t", app, "n")
            end = time.monotonic() + 10
            while (len(t.panes("app")) > 1 or _try_marked(home)) and time.monotonic() < end:
                time.sleep(0.1)
            assert t.panes("app") == [app], f"step {i + 1}: the pane closed"
            assert _try_marked(home) == [], f"step {i + 1}: nothing the shell started survives"
        # out of the lesson: its session rolled back (the journal empty), the state gone
        end = time.monotonic() + 20
        while list((home / "journal").glob("*.jsonl")) and time.monotonic() < end:
            time.sleep(0.1)
        assert not list((home / "journal").glob("*.jsonl")), "leaving the lesson undid it all"
        assert not (home / "practice.json").exists()
        assert _mounts_under(home) == []
        t("send-keys", "-t", app, "q")
        end = time.monotonic() + 60
        while not exit_file.exists() and time.monotonic() < end:
            time.sleep(0.1)
        assert exit_file.read_text().strip() == "0"
    finally:
        t("kill-server")
    time.sleep(0.3)
    assert _ours(home) == [], "nothing the lesson started survives"
    assert _mounts_under(home) == []
    assert not list((home / "journal").glob("*.jsonl")), "the journal is empty"
    assert not (home / "practice.json").exists()


def test_the_shell_follows_the_window_resized(tmp_path: Path) -> None:
    """Beside the app on a wide window, below it on a narrow one: the shell's pane moves
    when the window is resized with it open (lesson 05's first try, on the host)."""
    if os.geteuid() != 0:
        pytest.skip("needs root")
    for tool in ("tmux", "script", "ldd"):
        if shutil.which(tool) is None:
            pytest.skip(f"needs {tool}")
    home = tmp_path / "home"
    t = Tmux(f"shikumi-walk-{uuid.uuid4().hex[:8]}")
    env = f"SHIKUMI_HOME={home} LANG=C.UTF-8 TERM=xterm-256color PYTHONPATH={REPO}"
    command = f"cd {REPO} && env -u COLUMNS -u LINES {env} {sys.executable} -m lab open 05"
    t("new-session", "-d", "-s", "app", "-x", "200", "-y", "50", command)

    def where(pane: str) -> tuple[int, int]:
        out = t("display-message", "-p", "-t", pane, "#{pane_left} #{pane_top}").split()
        return int(out[0]), int(out[1])

    def settles(pane: str, below: bool) -> None:
        end = time.monotonic() + 10
        while time.monotonic() < end:
            left, top = where(pane)
            if (top > 0 and left == 0) if below else (left > 0 and top == 0):
                return
            time.sleep(0.1)
        raise AssertionError(f"the pane never went {'below' if below else 'beside'}")

    try:
        app = t.panes("app")[0]
        t.wait(app, "Step 1/8")
        t("send-keys", "-t", app, "r")
        t.wait(app, "your turn: press t")
        t("send-keys", "-t", app, "t")
        end = time.monotonic() + 10
        while len(t.panes("app")) < 2 and time.monotonic() < end:
            time.sleep(0.1)
        shell = next(p for p in t.panes("app") if p != app)
        t.wait(shell, "(shikumi 05 · host) #")
        settles(shell, below=False)
        t("resize-window", "-t", "app", "-x", "110", "-y", "50")
        settles(shell, below=True)
        t.type(shell, "echo still here")
        t.wait(shell, "still here")  # the same shell, moved
        t("resize-window", "-t", "app", "-x", "200", "-y", "50")
        settles(shell, below=False)
        t("send-keys", "-t", app, "q")
        end = time.monotonic() + 20
        while len(t.panes("app")) > 0 and time.monotonic() < end:
            time.sleep(0.1)
    finally:
        t("kill-server")
    time.sleep(0.3)
    assert _ours(home) == []
