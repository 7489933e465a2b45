"""The learner's try shell: an interactive shell in a step's try context, journaled
with its own marker (so everything the learner starts there is found and killed),
its output recorded with util-linux `script --log-out` for the checks to read.

The shell reports each prompt in band: its prompt starts with an invisible marker
(an OSC sequence terminals ignore), and bash also marks, with ``PS0``, where a
command's output starts. The recorder writes both to the log, so the watcher
(lab/lesson/watch.py) wakes on each prompt and ``outputs()`` reads what commands
PRINTED apart from what was TYPED (the echo of the command line, the prompts).
Every value (the marker, the prompt's label, paths) reaches the shell through its
environment, set by ``env``'s argv: none is ever part of shell code.

A mixin of ``Runner``, which provides ``journal``, ``lesson``, ``ctx``, ``vars``,
``work``, ``try_in()`` and ``_ensure_work()``.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
from pathlib import Path
from typing import Any

from lab.host.dockerhost import with_docker_host
from lab.lesson import execute
from lab.lesson.model import ActionResult
from lab.lesson.run_events import transcript_text
from lab.safety import procs

PROMPT_MARK = b"\x1b]7770;p\x07"  # printed with every prompt: a command finished
OUTPUT_MARK = b"\x1b]7770;o\x07"  # bash's PS0: the command line ended, its output follows
# bash resets PS1 when it starts, so its prompt is set again before each prompt by
# this constant (the values come from the environment; promptvars off: never expanded)
PROMPT_COMMAND = 'shopt -u promptvars; PS1="$SHIKUMI_PS1"; PS0="$SHIKUMI_PS0"'
# sh (dash, busybox) takes PS1 from its environment, but the recorder starts it
# through `bash -c`, which drops PS1 from what it passes on: this constant command sets
# it again from $SHIKUMI_PS1 and becomes the interactive shell ("$0": the shell's own
# path). No rc file: a container without /proc could not read one handed on an fd.
SH_START = 'PS1="$SHIKUMI_PS1"; export PS1; exec "$0" -i'
_LABEL = re.compile(r"[^A-Za-z0-9._:-]")


def label_of(name: str) -> str:
    """A context's name as the prompt shows it: letters, digits and ._:- only."""
    return _LABEL.sub("", name)[:32] or "?"


def outputs(raw: bytes) -> str:
    """What the commands of a recorded session printed, as plain text: for each
    prompt, what follows the command line (after bash's output marker, else after
    the first line end), up to the next prompt. Prompts and typed lines are left out."""
    if PROMPT_MARK not in raw:  # a shell that does not report its prompt: all it showed
        return transcript_text(raw).strip("\n")
    parts = raw.split(PROMPT_MARK)[1:]
    out = []
    for part in parts:
        if OUTPUT_MARK in part:
            body = part.split(OUTPUT_MARK, 1)[1]
        else:
            nl = part.find(b"\n")
            body = part[nl + 1 :] if nl >= 0 else b""
        text = transcript_text(body).strip("\n")
        if text and text != "exit":
            out.append(text)
    return "\n".join(out)


class TryShell:
    journal: Any
    lesson: Any
    ctx: Any
    vars: Any
    work: Path
    _try_logs: dict[int, list[Path]]

    def try_in(self, step: Any) -> str:
        """The spawned process whose context the step's try shell joins ("" for the host)."""
        tries = step.of("try")
        return tries[0].attrs.get("in", "") if tries else ""

    def context_label(self, index: int) -> str:
        """The prompt's name of step *index*'s context: ``host``, a spawned name, a pid."""
        name = self.try_in(self.lesson.steps[index])
        if not name:
            return "host"
        if "{{" in name:  # in={{out.start}}: the pid it is
            return f"pid {self.ctx.pid(name)}"
        return label_of(name)

    def shell(self, index: int) -> list[str]:
        """argv of an interactive shell in the step's try context, its output recorded
        (util-linux `script --log-out`) so the checks and the watcher can read it.

        The shell is journaled before it starts, as a process with its own marker
        (in its environment from the first process on, so everything the learner
        starts there — `sleep &`, `setsid …` — carries it): leaving the step or the
        lesson, `shikumi cleanup` and recovery after a crash kill all of it."""
        self._ensure_work()
        step = self.lesson.steps[index]
        name = self.try_in(step)
        label = f"shikumi {label_of(self.lesson.number)} · {self.context_label(index)}"
        marker = f"shikumi-{self.journal.session}-try-{os.urandom(4).hex()}"
        entry = self.journal.record("process", f"try:{step.id}", marker=marker)
        self.__dict__.setdefault("_try_entries", {}).setdefault(index, []).append(entry)
        env = {
            **self.vars.shell_environ(),  # $SHIKUMI_OUT_<step>, $SHIKUMI_PID_<name>
            procs.MARK_VAR: marker,
            "SHIKUMI_HOME": str(self.journal.home),
            "SHIKUMI_WORK": str(self.work),
            "PERL_BADLANG": "0",  # perl in a bare rootfs: no locale warnings over the output
        }
        docker_host = with_docker_host(dict(os.environ)).get("DOCKER_HOST", "")
        if docker_host:  # the daemon the lab's own `docker` commands reach: the learner's too
            env["DOCKER_HOST"] = docker_host
        if not name:
            sh = shutil.which("bash") or "/bin/bash"
            inner = [sh, "--norc", "--noprofile", "-i"]
        else:
            pid = self.ctx.pid(name)
            sh = execute.shell_in(pid)
            if sh.endswith("bash"):
                interactive = [sh, "--norc", "--noprofile", "-i"]
            else:
                interactive = [sh, "-c", SH_START, sh]
            inner = execute.container_argv(pid, interactive)
        mark, out_mark = PROMPT_MARK.decode(), OUTPUT_MARK.decode()
        if sh.endswith("bash"):
            env["SHIKUMI_PS1"] = f"\\[{mark}\\]({label}) # "
            env["SHIKUMI_PS0"] = out_mark
            env["PROMPT_COMMAND"] = PROMPT_COMMAND
        else:
            env["SHIKUMI_PS1"] = f"{mark}({label}) # "  # sh takes it as it is
        head = ["env", "-C", str(self.work), *(f"{k}={v}" for k, v in env.items())]
        if not shutil.which("script"):
            return head + inner
        n = len(self._try_logs.get(index, []))
        log = self.work / f".try-{step.id}-{n}.log"
        log.unlink(missing_ok=True)
        self._try_logs.setdefault(index, []).append(log)
        rec = ["script", "--quiet", "--flush", "--return", "--append", "--log-out", str(log)]
        return [*head, *rec, "--command", shlex.join(inner)]

    def close_shells(self, index: int) -> list[str]:
        """Kill every shell of step *index* and all they started (their journal entries
        undone: the marked processes). Returns what could not be undone."""
        failed = []
        for entry in self.__dict__.get("_try_entries", {}).pop(index, []):
            result = self.journal.undo(entry)
            if not result.ok:
                failed.append(f"{entry.target}: {result.action}")
        return failed

    def try_log(self, index: int) -> Path | None:
        """The recording of the newest shell of step *index* (None if none was opened)."""
        logs = self._try_logs.get(index) or []
        return logs[-1] if logs else None

    def try_output(self, index: int) -> str | None:
        """What the commands of every shell of step *index* printed (None: no shell yet).
        A second visit to the shell adds to the first: "do A, then B" done over two
        visits is done."""
        logs = self._try_logs.get(index)
        if not logs:
            return None
        texts = []
        for log in logs:
            try:
                texts.append(outputs(log.read_bytes()))
            except OSError:
                continue
        return "\n".join(t for t in texts if t)

    def _ingest_try(self, index: int) -> None:
        text = self.try_output(index)
        if text is None:
            return
        step = self.lesson.steps[index]
        found = [r for r in self.ctx.results.get(step.id) or [] if r.kind != "try"]
        found.append(ActionResult("try", "(your shell)", exit=0, stdout=text))
        self.ctx.results[step.id] = found
        self.vars.outs[step.id] = text.strip()
