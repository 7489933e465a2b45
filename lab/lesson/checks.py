"""Checks: real predicates on kernel and file state, named by kind.

``KINDS[kind]`` maps each parameter to its type (a type or a tuple of types, as
``isinstance`` takes them); ``REQUIRED[kind]`` names the ones a check must
give. Every kind takes ``message`` (what it verifies, required) and
``message_ja``. ``spec(kind)`` gives ``{param: (type, required)}`` like the view
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
from lab.lesson.context import Context
from lab.lesson.model import Action, CheckResult
from lab.lesson.run_events import printed_only

NS_TYPES = ("mnt", "uts", "ipc", "pid", "net", "user", "cgroup")
PidSpec = (str, int)
_COMMON: dict[str, Any] = {"message": str, "message_ja": str}

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
}
for _params in KINDS.values():
    _params.update(_COMMON)

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
}
REQUIRED = {k: v | {"message"} for k, v in REQUIRED.items()}
ONE_OF: dict[str, tuple[str, ...]] = {"mount-present": ("target", "fstype")}
STREAMS = ("stdout", "stderr", "both")


def spec(kind: str) -> dict[str, tuple[Any, bool]]:
    """``{param: (type, required)}`` for *kind* (empty if the kind is unknown)."""
    return {p: (t, p in REQUIRED[kind]) for p, t in KINDS.get(kind, {}).items()}


class _Fail(Exception):
    """A check's predicate is false (the message is the reason)."""


Verdict = tuple[bool, str]  # (ok, what was seen)


def _read(path: str, limit: int = 1 << 20) -> str:
    try:
        with open(path, "rb") as f:
            return f.read(limit).decode("utf-8", "replace")
    except OSError as e:
        raise _Fail(f"cannot read {path}: {e.strerror}") from None


def _search(pattern: str, text: str, where: str) -> Verdict:
    try:
        m = re.search(pattern, text, re.MULTILINE)
    except re.error as e:
        raise _Fail(f"bad pattern /{pattern}/: {e}") from None
    if m:
        return True, f"{where} matches /{pattern}/: {m.group(0).strip()[:80]!r}"
    shown = text.strip().splitlines()[-1:] or [""]
    return False, f"{where} does not match /{pattern}/ (last line: {shown[0][:80]!r})"


def _path_exists(p: dict, ctx: Context) -> Verdict:
    path, want = p["path"], p.get("type", "")
    if not os.path.lexists(path):
        return False, f"{path} does not exist"
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
        return False, f"{path} is a {kind}, not a {want}"
    return True, f"{path} exists ({kind})"


def _path_missing(p: dict, ctx: Context) -> Verdict:
    path = p["path"]
    if os.path.lexists(path):
        return False, f"{path} still exists"
    return True, f"{path} does not exist"


def _file_contains(p: dict, ctx: Context) -> Verdict:
    return _search(p["pattern"], _read(p["path"]), p["path"])


def _stream(p: dict) -> str:
    s = p.get("stream", "stdout")
    if s not in STREAMS:
        raise _Fail(f"stream must be one of {', '.join(STREAMS)} (got {s!r})")
    return s


def _said(stream: str) -> str:
    return {"both": "the output (stdout and stderr)"}.get(stream, f"the {stream}")


def _output_matches(p: dict, ctx: Context) -> Verdict:
    of = p.get("of") or ctx.step_id
    stream = _stream(p)
    if of in ctx.tries:
        # a try: only what the learner's commands printed counts (their shell's transcript
        # without the typed lines, or in `play` the solution's output), never the lab's run
        mine = [r for r in ctx.results.get(of) or [] if r.kind in ("try", "solution")]
        if not mine:
            return False, f"nothing your shell showed matches /{p['pattern']}/ yet"
        last = mine[-1]
        text = {"stdout": last.stdout, "stderr": last.stderr}.get(stream, last.stdout + last.stderr)
        if last.kind == "try":
            text = printed_only(text)
        ok, seen = _search(p["pattern"], text, "what your commands printed")
        return (
            ok,
            seen
            if ok
            else f"nothing your shell showed matches /{p['pattern']}/ yet (typed lines left out)",
        )
    return _search(p["pattern"], ctx.output(of, stream), f"{_said(stream)} of step {of!r}")


def _exit_status(p: dict, ctx: Context) -> Verdict:
    of = p.get("of") or ctx.step_id
    last = ctx.last(of)
    if last is None:
        raise _Fail(f"step {of!r} has not run a command (yet)")
    ok = last.exit == p["status"]
    return ok, f"step {of!r} exited {last.exit} (expected {p['status']})"


def _short(command: str) -> str:
    """A command as a reason quotes it: its first line, cut short (a check's script can be long)."""
    lines = [x.strip() for x in command.strip().splitlines() if x.strip()] or [""]
    first = lines[0] if len(lines[0]) <= 60 else lines[0][:59] + "…"
    return first + (" …" if len(lines) > 1 and not first.endswith("…") else "")


def _clip(line: str, width: int = 100) -> str:
    """An error line cut in the middle, never at its end: `…: No such file or directory`
    is the part that says what went wrong."""
    line = line.strip()
    return (
        line if len(line) <= width else line[: width // 3] + "…" + line[-(width - width // 3 - 1) :]
    )


def _command(p: dict, ctx: Context) -> Verdict:
    r = ctx.run(p["run"], str(p.get("in", "")), 10.0)
    cmd = _short(p["run"])
    if r.error:
        raise _Fail(f"`{cmd}` could not start: {r.error}")
    if r.timed_out:
        raise _Fail(f"`{cmd}` did not finish within 10 s")
    want = p.get("status", 0)
    if r.exit != want:
        # the script's last word: its error, or what it printed (a check may echo why)
        said = (r.stderr.strip().splitlines() or r.stdout.strip().splitlines())[-1:] or [""]
        return False, f"`{cmd}` exited {r.exit} (expected {want}) {_clip(said[0])}".strip()
    if "pattern" in p:
        stream = _stream(p)
        text = {"stdout": r.stdout, "stderr": r.stderr, "both": r.stdout + r.stderr}[stream]
        return _search(p["pattern"], text, f"{_said(stream)} of `{cmd}`")
    return True, f"`{cmd}` exited {r.exit}"


def ns_links(pid: int, types: list[str]) -> dict[str, str]:
    """``{type: "uts:[4026531838]"}`` from /proc/PID/ns/*."""
    out = {}
    for t in types:
        if t not in NS_TYPES and t != "time":
            raise _Fail(f"unknown namespace type {t!r} (known: {', '.join(NS_TYPES)}, time)")
        try:
            out[t] = os.readlink(f"/proc/{pid}/ns/{t}")
        except FileNotFoundError:
            raise _Fail(f"process {pid} does not exist (or has no {t} namespace)") from None
        except OSError as e:
            raise _Fail(f"cannot read /proc/{pid}/ns/{t}: {e.strerror}") from None
    return out


def _ns_compare(same: bool) -> Callable[[dict, Context], Verdict]:
    def check(p: dict, ctx: Context) -> Verdict:
        a, b = ctx.pid(p["a"]), ctx.pid(p["b"])
        types = list(p.get("types") or NS_TYPES)
        la, lb = ns_links(a, types), ns_links(b, types)
        wrong = [t for t in types if (la[t] == lb[t]) != same]
        if wrong:
            rel = "differ" if same else "are the same"
            pairs = ", ".join(
                f"{t} {la[t].split(':', 1)[1]} vs {lb[t].split(':', 1)[1]}" for t in wrong
            )
            return False, f"pid {a} and pid {b}: {', '.join(wrong)} {rel} ({pairs})"
        rel = "the same" if same else "different"
        return True, f"pid {a} and pid {b} have {rel} {', '.join(types)} namespaces"

    return check


def _mount_present(p: dict, ctx: Context) -> Verdict:
    target, fstype = p.get("target"), p.get("fstype")
    if not target and not fstype:
        raise _Fail("mount-present needs target or fstype")
    where = p.get("in")
    pid: int | str = ctx.pid(where) if where not in (None, "") else "self"
    try:
        table = mounts.mounts(pid)
    except OSError as e:
        raise _Fail(f"cannot read the mounts of pid {pid}: {e.strerror}") from None
    found = [
        m
        for m in table
        if (not target or m.target == os.path.normpath(target))
        and (not fstype or m.fstype == fstype)
    ]
    what = " ".join(
        x for x in (f"{fstype} mount" if fstype else "mount", target and f"at {target}") if x
    )
    scope = f"in the mount namespace of pid {pid}" if where else "here"
    if found:
        m = found[-1]
        return True, f"{m.fstype} {m.source} is mounted on {m.target} {scope}"
    return False, f"no {what} {scope}"


def _process_running(p: dict, ctx: Context) -> Verdict:
    name = p["name"]
    sp = ctx.spawned.get(name)
    if sp is None:
        return False, f"no process named {name!r} was spawned"
    if not sp.alive():
        return False, f"{name!r} (pid {sp.pid}) is not running any more"
    return True, f"{name!r} is running as pid {sp.pid}"


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
}


def message_of(action: Action, lang: str = "en") -> str:
    p = action.params
    msg = (p.get("message_ja") if lang == "ja" else None) or p.get("message") or action.name
    return str(msg)


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
    except LabError as e:
        return CheckResult(kind, message, False, e.message)
    except Exception as e:  # a check never takes the runner down
        return CheckResult(kind, message, False, f"the check broke: {type(e).__name__}: {e}")
    return CheckResult(kind, message, ok, seen)
