"""The learner's try shell: an interactive shell in a step's try context, journaled
with its own marker (so everything the learner starts there is found and killed),
its session recorded with util-linux `script` for the checks to read.

A mixin of ``Runner``, which provides ``journal``, ``lesson``, ``ctx``, ``vars``,
``work``, ``try_in()`` and ``_ensure_work()``.
"""

from __future__ import annotations

import os
import shlex
import shutil
from pathlib import Path
from typing import Any

from lab.host.dockerhost import with_docker_host
from lab.lesson import execute
from lab.lesson.model import ActionResult
from lab.lesson.run_events import transcript_text
from lab.safety import procs


class TryShell:
    journal: Any
    lesson: Any
    ctx: Any
    vars: Any
    work: Path
    _try_logs: dict[int, Path]

    def try_in(self, step: Any) -> str:
        """The spawned process whose context the step's try shell joins ("" for the host)."""
        tries = step.of("try")
        return tries[0].attrs.get("in", "") if tries else ""

    def shell(self, index: int) -> list[str]:
        """argv of an interactive shell in the step's try context, its session
        recorded (util-linux `script`) so the checks can read what happened.

        The shell is journaled before it starts, as a process with its own marker
        (exported in the shell, so everything the learner starts there — `sleep &`,
        `setsid …` — carries it): the lesson's end, `shikumi cleanup` and recovery
        after a crash kill all of it."""
        argv = self._shell_argv(index)
        if not shutil.which("script"):
            return argv
        log = self.work / f".try-{self.lesson.steps[index].id}.log"
        log.unlink(missing_ok=True)
        self._try_logs[index] = log
        return ["script", "--quiet", "--flush", "--return", "--command", shlex.join(argv), str(log)]

    def _ingest_try(self, index: int) -> None:
        log = self._try_logs.pop(index, None)
        if log is None or not log.exists():
            return
        text = transcript_text(log.read_bytes())
        step = self.lesson.steps[index]
        found = self.ctx.results.get(step.id) or []
        if found and found[-1].kind == "try":
            # a second visit to the shell adds to the first: "do A, then B" done over two
            # visits is done (the checks read everything the learner's shells showed)
            text = found[-1].stdout.rstrip("\n") + "\n" + text
        r = ActionResult("try", "(your shell)", exit=0, stdout=text)
        self.ctx.results.setdefault(step.id, []).append(r)
        self.vars.outs[step.id] = text.strip()

    def _shell_argv(self, index: int) -> list[str]:
        self._ensure_work()
        step = self.lesson.steps[index]
        name = self.try_in(step)
        marker = f"shikumi-{self.journal.session}-try-{os.urandom(4).hex()}"
        self.journal.record("process", f"try:{step.id}", marker=marker)
        exports = (
            f"export {procs.MARK_VAR}={shlex.quote(marker)}"
            f" SHIKUMI_HOME={shlex.quote(str(self.journal.home))}"
            f" SHIKUMI_WORK={shlex.quote(str(self.work))}"
        )
        exports += " PERL_BADLANG=0"  # perl in a bare rootfs: no locale warnings over the output
        docker_host = with_docker_host(dict(os.environ)).get("DOCKER_HOST", "")
        if docker_host:  # the daemon the lab's own `docker` commands reach: the learner's too
            exports += f" DOCKER_HOST={shlex.quote(docker_host)}"
        if not name:
            ps1 = shlex.quote("(shikumi) # ")
            script = (
                f"cd {shlex.quote(str(self.work))} && {exports} PS1={ps1} && exec bash --norc -i"
            )
            return ["bash", "-c", script]
        pid = self.ctx.pid(name)
        sh = execute.shell_in(pid)
        shown = name if "{{" not in name else f"pid {pid}"  # in={{out.start}}: the pid it is
        ps1 = shlex.quote(f"(shikumi:{shown}) # ")
        interactive = f"{sh} --norc -i" if sh.endswith("bash") else f"{sh} -i"
        script = f"{exports} PS1={ps1}; exec {interactive}"
        return execute.container_argv(pid, [sh, "-c", script])
