"""Checks: real predicates on kernel and file state, named by kind.

``KINDS[kind]`` maps each parameter to its type (a type or a tuple of types, as
``isinstance`` takes them); ``REQUIRED[kind]`` names the ones a check must
give. Every kind takes ``message`` (what it verifies, required) and
``message_ja`` and may carry its own ``hint``/``hint_ja`` (shown first when it
fails); a kind with a ``pattern`` also takes ``says``/``says_ja``, what the
pattern looks for in words (the linter requires them with a pattern): a reason
(lab/lesson/check_words.py) says what was expected and what was seen in the
learner's language and never quotes a pattern or the check's command. ``spec(kind)`` gives ``{param: (type, required)}`` like the view
registry does. ``evaluate(action, ctx)`` never raises: a problem becomes a
failing ``CheckResult`` whose reason says what went wrong.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from typing import Any

from lab.errors import LabError
from lab.host import mounts
from lab.lesson import checks_proc
from lab.lesson.check_words import clip, say
from lab.lesson.context import Context, ContextError
from lab.lesson.model import Action, CheckResult
from lab.lesson.run_events import printed_only
from lab.lesson.variables import UnknownVariable

NS_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup")
PidSpec = (str, int)
_COMMON: dict[str, Any] = {"message": str, "message_ja": str, "hint": str, "hint_ja": str}
# what a check's pattern looks for, in words (a reason never quotes the pattern)
_SAYS: dict[str, Any] = {"says": str, "says_ja": str}

KINDS: dict[str, dict[str, Any]] = {
    "path-exists": {"path": str, "type": str},  # type: file | dir | symlink
    "path-missing": {"path": str},
    "file-contains": {"path": str, "pattern": str},
    "output-matches": {"pattern": str, "of": str, "stream": str},
    "exit-status": {"status": int, "of": str},
    "command": {"run": str, "status": int, "pattern": str, "in": str, "stream": str},
    "ns-differ": {"a": PidSpec, "b": PidSpec, "types": list},
    "ns-same": {"a": PidSpec, "b": PidSpec, "types": list},
    "mount-present": {"target": str, "fstype": str, "in": PidSpec},
    "process-running": {"name": str},
    **checks_proc.KINDS,
}
for _kind, _params in KINDS.items():
    _params.update(_COMMON)
    if "pattern" in _params:
        _params.update(_SAYS)

REQUIRED: dict[str, frozenset[str]] = {
    "path-exists": frozenset({"path"}),
    "path-missing": frozenset({"path"}),
    "file-contains": frozenset({"path", "pattern"}),
    "output-matches": frozenset({"pattern"}),
    "exit-status": frozenset({"status"}),
    "command": frozenset({"run"}),
    "ns-differ": frozenset({"a", "b"}),
    "ns-same": frozenset({"a", "b"}),
    "mount-present": frozenset(),  # target or fstype: see ONE_OF
    "process-running": frozenset({"name"}),
    **checks_proc.REQUIRED,
}
REQUIRED = {k: v | {"message"} for k, v in REQUIRED.items()}
ONE_OF: dict[str, tuple[str, ...]] = {"mount-present": ("target", "fstype"), **checks_proc.ONE_OF}
STREAMS = ("stdout", "stderr", "both")


def spec(kind: str) -> dict[str, tuple[Any, bool]]:
    """``{param: (type, required)}`` for *kind* (empty if the kind is unknown)."""
    return {p: (t, p in REQUIRED[kind]) for p, t in KINDS.get(kind, {}).items()}


class _Fail(Exception):
    """A check's predicate is false (the message is the reason)."""


Verdict = tuple[bool, str]  # (ok, what was seen)


def _read(path: str, lang: str, limit: int = 1 << 20) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError as e:
        raise _Fail(say("cannot.read", lang, path=path, why=e.strerror)) from None


def _says(p: dict, lang: str) -> str:
    """What the check's pattern looks for, in the learner's words."""
    says = str((p.get("says_ja") if lang == "ja" else None) or p.get("says") or "")
    return says or say("says.default", lang)


def _search(p: dict, text: str, where: str, lang: str) -> Verdict:
    """Whether *text* matches the check's pattern, said with its ``says`` words: the
    reason names what was looked for and quotes what was seen, never the pattern."""
    pattern, says = p["pattern"], _says(p, lang)
    try:
        m = re.search(pattern, text, re.MULTILINE)
    except re.error as e:  # an author's mistake (the linter catches it first)
        raise _Fail(f"the check's pattern is not valid: {e}") from None
    if m:  # quoted: the whole line it was found on (a match may be a fragment: ": OK")
        start = text.rfind("\n", 0, m.start()) + 1
        end = text.find("\n", m.start())
        line = text[start : end if end >= 0 else len(text)].strip() or m.group(0).strip()
        return True, say("found", lang, where=where, says=says, seen=clip(line))
    lines = text.strip().splitlines()
    if not lines:
        return False, say("not.found.empty", lang, where=where, says=says)
    return False, say("not.found", lang, where=where, says=says, last=clip(lines[-1])) + _cause(
        lines, lang
    )


_LINK = re.compile(r"^(\S+?)(?:@\S+)?\s+(DOWN|LOWERLAYERDOWN)\b")


def _cause(lines: list[str], lang: str) -> str:
    """What a check can tell of why it failed, from what it read: a link that is down
    (``ip -br link``/``addr`` lines), the usual reason an address or a route check fails."""
    for line in lines:
        m = _LINK.match(line)
        if m:
            key = "cause.lower" if m.group(2) == "LOWERLAYERDOWN" else "cause.down"
            return say(key, lang, link=m.group(1))
    return ""


def _kind_word(kind: str, lang: str) -> str:
    return say(f"kind.{kind}", lang)


def _path_exists(p: dict, ctx: Context) -> Verdict:
    path, want, lang = p["path"], p.get("type", ""), ctx.lang
    if not os.path.lexists(path):
        return False, say("path.none", lang, path=path)
    kind = "symlink" if os.path.islink(path) else "dir" if os.path.isdir(path) else "file"
    is_want = {
        "": True,
        "symlink": kind == "symlink",
        "dir": os.path.isdir(path),
        "file": os.path.isfile(path),
    }.get(want)
    if is_want is None:
        raise _Fail(f"type must be file, dir or symlink (got {want!r})")
    if not is_want:
        return False, say(
            "path.kind", lang, path=path, kind=_kind_word(kind, lang), want=_kind_word(want, lang)
        )
    return True, say("path.is", lang, path=path, kind=_kind_word(kind, lang))


def _path_missing(p: dict, ctx: Context) -> Verdict:
    path = p["path"]
    if os.path.lexists(path):
        return False, say("path.still", ctx.lang, path=path)
    return True, say("path.gone", ctx.lang, path=path)


def _file_contains(p: dict, ctx: Context) -> Verdict:
    where = say("where.file", ctx.lang, path=p["path"])
    return _search(p, _read(p["path"], ctx.lang), where, ctx.lang)


def _stream(p: dict) -> str:
    s = p.get("stream", "stdout")
    if s not in STREAMS:
        raise _Fail(f"stream must be one of {', '.join(STREAMS)} (got {s!r})")
    return s


def _output_matches(p: dict, ctx: Context) -> Verdict:
    of = p.get("of") or ctx.step_id
    stream, lang = _stream(p), ctx.lang
    last = ctx.last(of)
    if of in ctx.tries or (last is not None and last.kind == "try"):
        # a try: only what the learner's commands printed counts (their shell's output
        # without the typed lines, or in `play` the solution's output), never the lab's run
        mine = [r for r in ctx.results.get(of) or [] if r.kind in ("try", "solution")]
        if not mine:
            raise _Fail(
                say("not.found.empty", lang, where=say("where.try", lang), says=_says(p, lang))
            )
        last = mine[-1]
        text = {"stdout": last.stdout, "stderr": last.stderr}.get(stream, last.stdout + last.stderr)
        if last.kind == "try":
            text = printed_only(text)
        return _search(p, text, say("where.try", lang), lang)
    if last is None:  # the cause, in words: the step it reads has not run
        raise _Fail(say("step.not.run", lang, of=of))
    suffix = "" if stream == "stdout" else f".{stream}"
    where = say(("where.step" if of == ctx.step_id else "where.of") + suffix, lang, of=of)
    return _search(p, ctx.output(of, stream), where, lang)


def _exit_status(p: dict, ctx: Context) -> Verdict:
    of = p.get("of") or ctx.step_id
    last = ctx.last(of)
    if last is None:
        raise _Fail(say("step.not.run", ctx.lang, of=of))
    ok = last.exit == p["status"]
    return ok, say("exited", ctx.lang, of=of, exit=last.exit, want=p["status"])


# a bound against a hung command, not a wait: `docker run` of a check took over 10 s in a
# busy VM without KVM (the Debian 12 VM run), and a learner's slow VM is like it
CHECK_TIMEOUT = 30.0


def _command(p: dict, ctx: Context) -> Verdict:
    """The command itself is not quoted: a check's script often holds the very text
    (a grep pattern, a file name) the learner is asked to find."""
    lang = ctx.lang
    r = ctx.run(p["run"], str(p.get("in", "")), CHECK_TIMEOUT)
    if r.error:
        raise _Fail(say("cmd.start", lang, why=r.error))
    if r.timed_out:
        raise _Fail(say("cmd.slow", lang))
    want = p.get("status", 0)
    if r.exit != want:
        # the script's last word: its error, or what it printed (a check may echo why)
        said = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines())[-1:]
        if said and said[0].strip():
            return False, say("cmd.no.said", lang, exit=r.exit, want=want, said=clip(said[0]))
        return False, say("cmd.no", lang, exit=r.exit, want=want)
    if "pattern" in p:
        stream = _stream(p)
        text = {"stdout": r.stdout, "stderr": r.stderr, "both": r.stdout + r.stderr}[stream]
        return _search(p, text, say("where.command", lang), lang)
    return True, say("cmd.yes", lang, exit=r.exit)


def ns_links(pid: int, types: list[str], lang: str = "en") -> dict[str, str]:
    """``{type: "uts:[4026531838]"}`` from /proc/PID/ns/*."""
    out = {}
    for t in types:
        if t not in NS_TYPES and t != "time":
            raise _Fail(f"unknown namespace type {t!r} (known: {', '.join(NS_TYPES)}, time)")
        try:
            out[t] = os.readlink(f"/proc/{pid}/ns/{t}")
        except FileNotFoundError:
            raise _Fail(say("ns.no.proc", lang, pid=pid, type=t)) from None
        except OSError as e:
            raise _Fail(say("ns.no.read", lang, pid=pid, type=t, why=e.strerror)) from None
    return out


def _pid(ctx: Context, spec: Any) -> int:
    """``ctx.pid``, with a process not started yet said as the step to run first."""
    try:
        return ctx.pid(spec)
    except ContextError:
        name = str(spec)[4:] if str(spec).startswith("pid.") else str(spec)
        raise _Fail(say("proc.none", ctx.lang, name=name)) from None


def _ns_compare(same: bool) -> Callable[[dict, Context], Verdict]:
    def check(p: dict, ctx: Context) -> Verdict:
        a, b = _pid(ctx, p["a"]), _pid(ctx, p["b"])
        types = list(p.get("types") or NS_TYPES)
        la, lb = ns_links(a, types, ctx.lang), ns_links(b, types, ctx.lang)
        wrong = [t for t in types if (la[t] == lb[t]) != same]
        if wrong:
            pairs = ", ".join(
                f"{t} {la[t].split(':', 1)[1]} / {lb[t].split(':', 1)[1]}" for t in wrong
            )
            key = "ns.differ.bad" if same else "ns.same.bad"
            return False, say(key, ctx.lang, a=a, b=b, types=", ".join(wrong), pairs=pairs)
        key = "ns.same.ok" if same else "ns.differ.ok"
        return True, say(key, ctx.lang, a=a, b=b, types=", ".join(types))

    return check


def _mount_present(p: dict, ctx: Context) -> Verdict:
    target, fstype, lang = p.get("target"), p.get("fstype"), ctx.lang
    if not target and not fstype:
        raise _Fail("mount-present needs target or fstype")
    where = p.get("in")
    pid: int | str = _pid(ctx, where) if where not in (None, "") else "self"
    try:
        table = mounts.mounts(pid)
    except OSError as e:
        raise _Fail(say("mount.no.read", lang, pid=pid, why=e.strerror)) from None
    found = [
        m
        for m in table
        if (not target or m.target == os.path.normpath(target))
        and (not fstype or m.fstype == fstype)
    ]
    scope = say("mount.scope", lang, pid=pid) if where else ""
    if found:
        m = found[-1]
        return True, say(
            "mount.ok", lang, fstype=m.fstype, source=m.source, target=m.target, scope=scope
        )
    key = (
        "mount.none.both" if target and fstype else "mount.none.at" if target else "mount.none.type"
    )
    return False, say(key, lang, target=target, fstype=fstype, scope=scope)


def _process_running(p: dict, ctx: Context) -> Verdict:
    name = p["name"]
    sp = ctx.spawned.get(name)
    if sp is None:
        return False, say("proc.none", ctx.lang, name=name)
    if not sp.alive():
        return False, say("proc.dead", ctx.lang, name=name, pid=sp.pid)
    return True, say("proc.ok", ctx.lang, name=name, pid=sp.pid)


_HANDLERS: dict[str, Callable[[dict, Context], Verdict]] = {
    "path-exists": _path_exists,
    "path-missing": _path_missing,
    "file-contains": _file_contains,
    "output-matches": _output_matches,
    "exit-status": _exit_status,
    "command": _command,
    "ns-differ": _ns_compare(same=False),
    "ns-same": _ns_compare(same=True),
    "mount-present": _mount_present,
    "process-running": _process_running,
    **checks_proc.HANDLERS,
}


def message_of(action: Action, lang: str = "en") -> str:
    p = action.params
    msg = (p.get("message_ja") if lang == "ja" else None) or p.get("message") or action.name
    return str(msg)


def hint_of(action: Action, lang: str = "en") -> str:
    p = action.params
    return str((p.get("hint_ja") if lang == "ja" else None) or p.get("hint") or "")


def param_problems(kind: str, params: dict[str, Any]) -> list[str]:
    """What is wrong with *params* for *kind* (missing, unknown, wrong type)."""
    if kind not in KINDS:
        return [f"unknown check kind {kind!r} (known: {', '.join(sorted(KINDS))})"]
    known = KINDS[kind]
    out = [f"missing parameter {r!r}" for r in sorted(REQUIRED[kind]) if r not in params]
    for name, value in params.items():
        if name not in known:
            out.append(f"unknown parameter {name!r} (known: {', '.join(sorted(known))})")
        elif not isinstance(value, known[name]) or (isinstance(value, bool) and known[name] is int):
            out.append(f"parameter {name!r} has the wrong type ({type(value).__name__})")
    one = ONE_OF.get(kind)
    if one and not any(params.get(x) for x in one):
        out.append(f"needs one of: {', '.join(one)}")
    return out


def evaluate(action: Action, ctx: Context) -> CheckResult:
    """Run the check *action* against the real state now."""
    r = _evaluate(action, ctx)
    r.hint = hint_of(action, ctx.lang)
    return r


def _evaluate(action: Action, ctx: Context) -> CheckResult:
    kind = action.name
    message = message_of(action, ctx.lang)
    problems = param_problems(kind, action.params)
    if problems:
        return CheckResult(kind, message, False, "; ".join(problems))
    try:
        params = ctx.vars.fill_all(action.params)
        ok, seen = _HANDLERS[kind](params, ctx)
    except _Fail as e:
        return CheckResult(kind, message, False, str(e))
    except UnknownVariable as e:  # a value from a step not run yet: name the step
        head, _, rest = e.name.partition(".")
        why = (
            say("var.pid", ctx.lang, name=rest)
            if head == "pid"
            else say("var.out", ctx.lang, of=rest)
        )
        return CheckResult(kind, message, False, why)
    except LabError as e:
        return CheckResult(kind, message, False, e.message)
    except Exception as e:  # a check never takes the runner down
        why = f"{type(e).__name__}: {e}"
        return CheckResult(kind, message, False, say("broke", ctx.lang, why=why))
    return CheckResult(kind, message, ok, seen)
