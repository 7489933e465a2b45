"""Running a lesson's steps for real: commands, spawned processes, views, checks.

No Textual here: the headless player and the app's workers (from a thread)
both drive a ``Runner`` and listen to its events. Everything a step creates
goes through the journal; ``finish()`` runs the lesson's cleanup blocks and
rolls the journal back to where the runner started.
"""

from __future__ import annotations

import subprocess
import threading
import time
from collections.abc import Callable
from pathlib import Path

from lab import views
from lab.errors import LabError
from lab.lesson import checks, execute, operations, spawn, typist
from lab.lesson.context import Context
from lab.lesson.model import (
    Action,
    ActionResult,
    CheckResult,
    Lesson,
    Step,
    StepResult,
    StepStatus,
    ViewResult,
)
from lab.lesson.run_events import (
    ActionFinished,
    ActionStarted,
    CheckDone,
    Event,
    Output,
    StepFinished,
    ViewReady,
    judge,
    transcript_text,
)
from lab.lesson.try_shell import TryShell
from lab.lesson.variables import Variables
from lab.safety import resources
from lab.safety.journal import Journal, Report
from lab.safety.runlock import RunLock

DEFAULT_TIMEOUT = 60.0
CLEANUP_TIMEOUT = 30.0


class _Cancelled(Exception): ...


class Runner(TryShell):
    def __init__(
        self,
        lesson: Lesson,
        journal: Journal,
        lang: str = "en",
        on_event: Callable[[Event], None] | None = None,
        doctor_checks: list | None = None,
    ) -> None:
        self.lesson = lesson
        self.journal = journal
        self.lang = lang
        self.on_event = on_event
        self._doctor = doctor_checks
        self._mark = journal.mark()
        self.work = journal.home / "work" / lesson.id
        self.vars = Variables(home=journal.home, work=self.work, lesson=lesson.path)
        tries = frozenset(s.id for s in lesson.steps if s.of("try"))
        self.ctx = Context(self.vars, lang=lang, runner=self._run_short, tries=tries)
        self._work_ready = False
        self._started: list[int] = []  # steps run, in order (their cleanups run at finish)
        self._try_logs: dict[int, list[Path]] = {}  # step index -> its shells' recordings
        self._lock = RunLock(journal.home)  # one lesson at a time per home, held until finish()

    # -- helpers -----------------------------------------------------------------------
    def _emit(self, event: Event) -> None:
        if self.on_event is not None:
            self.on_event(event)

    def _ensure_work(self) -> None:
        if self._work_ready:
            return
        self._lock.acquire(f"lesson {self.lesson.id}")
        if self.work.exists():  # left by an earlier run: ours now, removed at finish
            self.journal.record("dir", str(self.work))
        else:
            resources.make_dir(self.journal, self.work)
        self._work_ready = True

    def env(self) -> dict[str, str]:
        """The environment of every command: the lab's, and the steps' outputs as
        SHIKUMI_OUT_<STEP> (data a command may read, never code filled into it)."""
        return execute.base_env(self.journal.home, self.work, self.vars.environ())

    def _pid_for(self, in_name: str) -> int | None:
        return self.ctx.pid(in_name) if in_name else None

    def _run_short(self, command: str, in_name: str, timeout: float) -> execute.Completed:
        self._ensure_work()
        argv = execute.command_argv(command, self._pid_for(in_name))
        return execute.run(
            self.journal, argv, name="check", cwd=self.work, env=self.env(), timeout=timeout
        )

    # -- requirements --------------------------------------------------------------------
    def missing(self, step: Step) -> list[str]:
        """Unmet requirements of the lesson and *step*, each with its fix."""
        reqs = list(dict.fromkeys([*self.lesson.requires, *step.requires]))
        if not reqs:
            return []
        from lab.doctor import doctor

        if self._doctor is None:
            self._doctor = doctor.run_checks(self.journal.home)
        out = []
        for c in doctor.missing(reqs, self._doctor):
            out.append(f"{c.name}: {c.detail}" + (f" — fix: {c.fix}" if c.fix else ""))
        return out

    # -- actions ---------------------------------------------------------------------------
    def _run_action(
        self, step: Step, index: int, a: Action, cancel: threading.Event | None, in_name: str
    ) -> ActionResult:
        kind = a.kind
        try:
            command = self.vars.fill_shell(a.body.strip())
            pid = self._pid_for(in_name)
        except LabError as e:
            r = ActionResult(kind, a.body.strip(), exit=None, ok=False, note=e.message)
            self._emit(ActionFinished(step.id, index, r))
            return r
        timeout = float(a.attrs.get("timeout") or step.timeout or DEFAULT_TIMEOUT)
        if kind == "cleanup":
            timeout = min(timeout, CLEANUP_TIMEOUT)
        shown = command if not in_name else f"[in {self.vars.fill_known(in_name)}] {command}"
        self._emit(ActionStarted(step.id, index, kind, shown))
        c = execute.run(
            self.journal,
            execute.command_argv(command, pid),
            name=f"{kind}:{step.id}",
            cwd=self.work,
            env=self.env(),
            timeout=timeout,
            cancel=cancel,
            on_line=lambda stream, text: self._emit(Output(step.id, index, stream, text)),
        )
        expected = None if kind == "cleanup" else a.expect
        ok, note = judge(c, expected, timeout, self.lang)
        r = ActionResult(
            kind,
            shown,
            c.exit,
            expected,
            c.stdout,
            c.stderr,
            c.seconds,
            ok=ok,
            note=note,
            timed_out=c.timed_out,
        )
        if kind in ("run", "solution"):
            self.ctx.results.setdefault(step.id, []).append(r)
            self.vars.outs[step.id] = c.stdout.strip()
        self._emit(ActionFinished(step.id, index, r))
        if c.cancelled:
            raise _Cancelled
        return r

    def _spawn(self, step: Step, index: int, a: Action) -> ActionResult:
        name = a.attrs.get("name", "")
        t0 = time.monotonic()
        try:
            if not name:
                raise LabError("a spawn needs name=NAME")
            command = self.vars.fill_shell(a.body.strip())
            in_name = a.attrs.get("in", "")
            pid = self._pid_for(in_name)
        except LabError as e:
            r = ActionResult("spawn", a.body.strip(), ok=False, note=e.message)
            self._emit(ActionFinished(step.id, index, r))
            return r
        self._emit(ActionStarted(step.id, index, "spawn", command))
        argv = (
            spawn.argv_for(command)
            if pid is None
            else execute.container_argv(pid, [execute.shell_in(pid), "-c", command])
        )
        log = self.work / f".spawn-{name}.log"
        try:
            sp = spawn.start(self.journal, name, argv, cwd=self.work, env=self.env(), log=log)
        except OSError as e:
            r = ActionResult("spawn", command, ok=False, note=f"could not start: {e.strerror or e}")
            self._emit(ActionFinished(step.id, index, r))
            return r
        secs = time.monotonic() - t0
        if not sp.alive():
            status = sp.popen.poll()
            tail = log.read_text(errors="replace").strip().splitlines()[-3:]
            note = f"{name} exited at once (status {status})" + (
                ": " + " / ".join(tail) if tail else ""
            )
            self.journal.undo(sp.entry)
            r = ActionResult("spawn", command, exit=status, seconds=secs, ok=False, note=note)
        else:
            self.ctx.spawned[name] = sp
            self.vars.pids[name] = sp.pid
            r = ActionResult(
                "spawn", command, seconds=secs, pid=sp.pid, note=f"{name} runs as pid {sp.pid}"
            )
        self._emit(ActionFinished(step.id, index, r))
        return r

    def _op(self, step: Step, index: int, a: Action) -> ActionResult:
        t0 = time.monotonic()
        try:
            params = self.vars.fill_all(dict(a.params))
            op = operations.get(a.name)
            command = operations.shown(a.name, params)
        except LabError as e:
            r = ActionResult("op", f"op {a.name}", ok=False, note=e.message)
            self._emit(ActionFinished(step.id, index, r))
            return r
        self._emit(ActionStarted(step.id, index, "op", command))
        try:
            res = op.run(self.ctx, self.journal, params)
        except subprocess.TimeoutExpired as e:  # proc_run's CommandTimeout too: a step timeout
            msg = getattr(e, "message", "") or f"did not finish within {e.timeout:g} s: stopped"
            r = ActionResult("op", command, stderr=msg, ok=False, note=msg, timed_out=True)
        except LabError as e:
            r = ActionResult("op", command, exit=1, stderr=e.message, ok=False, note=e.message)
        except OSError as e:
            msg = f"{e.strerror or e}" + (f": {e.filename}" if e.filename else "")
            r = ActionResult("op", command, exit=1, stderr=msg, ok=False, note=msg)
        else:
            self.ctx.op_results[step.id] = res.data
            for line in res.summary.splitlines():
                self._emit(Output(step.id, index, "stdout", line))
            r = ActionResult("op", command, exit=0, stdout=res.summary + "\n")
        r.seconds = time.monotonic() - t0
        self._emit(ActionFinished(step.id, index, r))
        return r

    def _view(self, step: Step, a: Action, emit: bool = True) -> ViewResult:
        try:
            params = self.vars.fill_all(dict(a.params))
            module = views.get(a.name)
            data = module.collect(self.ctx, **params)
            v = ViewResult(a.name, params, data)
        except LabError as e:
            v = ViewResult(a.name, dict(a.params), None, e.message)
        except Exception as e:  # a broken view is reported, never raised
            v = ViewResult(a.name, dict(a.params), None, f"{type(e).__name__}: {e}")
        if emit:
            self._emit(ViewReady(step.id, v))
        return v

    def _forget_after(self, mark: int) -> None:
        for name, sp in list(self.ctx.spawned.items()):
            if sp.entry.seq > mark:
                del self.ctx.spawned[name]
                self.vars.pids.pop(name, None)

    # -- steps ------------------------------------------------------------------------------
    def run_step(
        self, index: int, cancel: threading.Event | None = None, solution: bool = False
    ) -> StepResult:
        step = self.lesson.steps[index]
        t0 = time.monotonic()
        self.ctx.step_id, self.ctx.cancel = step.id, cancel
        miss = self.missing(step)
        if miss:
            res = StepResult(step.id, "skipped", reason="missing " + "; ".join(miss))
            self._emit(StepFinished(res))
            return res
        self._ensure_work()
        mark = self.journal.mark()
        if index not in self._started:
            self._started.append(index)
        self.ctx.results.pop(step.id, None)
        self._try_logs.pop(index, None)  # the stage is set again: the learner's turn too
        res = StepResult(step.id, "passed")
        try:
            self._step_body(step, res, cancel, solution)
        except _Cancelled:
            res.status = "cancelled"
        if res.status == "cancelled" or (cancel is not None and cancel.is_set()):
            res.status, res.reason = "cancelled", "cancelled: what this step started was undone"
            self.journal.rollback(mark)
            self._forget_after(mark)
        res.seconds = time.monotonic() - t0
        self._emit(StepFinished(res))
        return res

    def _fail(self, res: StepResult, status: StepStatus, reason: str) -> None:
        res.status, res.reason = status, reason

    def _step_body(
        self, step: Step, res: StepResult, cancel: threading.Event | None, solution: bool
    ) -> None:
        for i, a in enumerate(step.actions):
            if a.kind not in ("run", "spawn", "op"):
                continue
            if a.kind == "run":
                r = self._run_action(step, i, a, cancel, a.attrs.get("in", ""))
            elif a.kind == "op":
                r = self._op(step, i, a)
            else:
                r = self._spawn(step, i, a)
            res.actions.append(r)
            if not r.ok:
                status: StepStatus = "timeout" if r.timed_out else "failed"
                return self._fail(res, status, f"`{r.command}`: {r.note}")
        if solution and not self.run_solutions(step, res, cancel):
            return None
        for a in step.of("view"):
            if cancel is not None and cancel.is_set():
                raise _Cancelled
            v = self._view(step, a)
            res.views.append(v)
            if v.error:
                return self._fail(res, "failed", f"view {v.name}: {v.error}")
        res.checks = self.check_step(self.lesson.steps.index(step))
        bad = [c for c in res.checks if not c.ok]
        if bad:
            self._fail(
                res, "failed", "; ".join(f"check failed: {c.message}: {c.reason}" for c in bad)
            )
        return None

    def run_solutions(self, step: Step, res: StepResult, cancel: threading.Event | None) -> bool:
        """Run the step's solutions in its try context (where the learner's shell is);
        False (and *res* failed) when one fails. A try's are typed into its try shell."""
        if step.of("try"):  # what they start in the background lives on, as the learner's
            typist.solve(self, self.lesson.steps.index(step), res, cancel)
            return res.status == "passed"
        for i, a in enumerate(step.actions):
            if a.kind == "solution":
                r = self._run_action(step, i, a, cancel, a.attrs.get("in") or self.try_in(step))
                res.actions.append(r)
                if not r.ok:
                    status: StepStatus = "timeout" if r.timed_out else "failed"
                    self._fail(res, status, f"solution `{r.command}`: {r.note}")
                    return False
        return True

    def check_step(self, index: int) -> list[CheckResult]:
        """Evaluate the step's checks now (after the learner tried it themselves).

        What the learner typed and saw in the try-it-yourself shell counts as the
        step's output, so `output-matches` checks judge their own commands.
        """
        step = self.lesson.steps[index]
        self.ctx.step_id = step.id
        self._ingest_try(index)
        out = []
        for a in step.of("check"):
            r = checks.evaluate(a, self.ctx)
            out.append(r)
            self._emit(CheckDone(step.id, r))
        return out

    def refresh_views(self, index: int) -> list[ViewResult]:
        """The step's views collected again, in order (after the learner changed things in
        their own shell: a second cable on the bridge is drawn only if it is looked at again)."""
        step = self.lesson.steps[index]
        self.ctx.step_id = step.id
        return [self._view(step, a, emit=False) for a in step.actions if a.kind == "view"]

    def finish(self) -> Report:
        """Run the cleanup blocks (newest step first), then undo the journal back to the start."""
        warnings = []
        for index in reversed(self._started):
            step = self.lesson.steps[index]
            for i, a in reversed(list(enumerate(step.actions))):
                if a.kind != "cleanup":
                    continue
                in_name = a.attrs.get("in", "")
                if in_name and in_name not in self.ctx.spawned:
                    continue
                try:
                    r = self._run_action(step, i, a, None, in_name)
                except _Cancelled:
                    continue
                if r.exit != 0:
                    warnings.append(f"cleanup of step {step.id!r} exited {r.exit}: {r.note}")
        report = self.journal.rollback(self._mark)
        report.warnings.extend(warnings)
        self.ctx.spawned.clear()
        self.vars.pids.clear()
        self._started.clear()
        self._work_ready = False
        self._lock.release()
        return report


__all__ = ["Runner", "transcript_text"]  # transcript_text: for the tests that read a try
