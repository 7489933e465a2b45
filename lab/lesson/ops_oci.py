"""Operations for lessons 19–20: an OCI bundle, a runc container, runc's start time.

Registered in ``lab.lesson.operations``. Every runc container lives under the
lab's own runc root (``runc --root HOME/runc``) and is journaled before it
exists, so cleanup deletes it (``runc delete --force``) even after a crash.
"""

from __future__ import annotations

import shlex
from typing import Any, ClassVar

from lab.errors import LabError
from lab.lesson.op_result import result as _result
from lab.lesson.op_result import set_out as _set_out
from lab.lesson.op_result import strs as _strs
from lab.ops import runc, speed
from lab.safety.home import require_inside
from lab.safety.journal import Journal
from lab.safety.resources import make_dir


def _marker(journal: Journal) -> str:
    # what the leak check looks for in a process's environment: this session's prefix
    return f"shikumi-{journal.session}-runc"


class RuncBundle:
    """`runc spec` in a bundle directory (unless it holds a config.json), then config.json made fit for the lab:
    no terminal, the command, the hostname (and the lab's marker in the environment)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "bundle": (str, True),  # the bundle directory (inside the home); rootfs/ beside config.json
        "command": (list, True),
        "hostname": (str, False),
        "rootfs": (str, False),  # an absolute root path instead of BUNDLE/rootfs
    }

    def describe(self, p: dict[str, Any]) -> str:
        args = ", ".join(f'"{a}"' for a in _strs(p.get("command")))
        edits = [".process.terminal = false", f".process.args = [{args}]"]
        if p.get("hostname"):
            edits.append(f'.hostname = "{p["hostname"]}"')
        if p.get("rootfs"):
            edits.append(f'.root.path = "{p["rootfs"]}"')
        return "\n".join(
            [
                f"cd {p['bundle']} && test -e config.json || runc spec",
                f"jq '{' | '.join(edits)}' config.json > c.json && mv c.json config.json",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        bundle = require_inside(p["bundle"], journal.home)
        make_dir(journal, bundle)
        if not (bundle / "config.json").is_file():  # kept if the step ran `runc spec` itself
            runc.spec(bundle)
        cfg = runc.prepare_config(
            bundle,
            _strs(p["command"]),
            hostname=str(p.get("hostname") or ""),
            marker=_marker(journal),
            rootfs=str(p.get("rootfs") or ""),
        )
        root = cfg.get("root", {})
        ns = [n.get("type", "") for n in cfg.get("linux", {}).get("namespaces", [])]
        lines = [
            f"{bundle}/config.json (ociVersion {cfg.get('ociVersion', '?')})",
            f"  process.args  {shlex.join(_strs(p['command']))}",
            f"  root          {root.get('path')} (readonly: {str(root.get('readonly')).lower()})",
            f"  hostname      {cfg.get('hostname', '')}",
            f"  namespaces    {' '.join(ns)}",
        ]
        return _result("\n".join(lines), cfg)


class RuncRun:
    """`runc --root HOME/runc run -d --bundle BUNDLE ID`: the container keeps running;
    ``{{out.STEP}}`` is its pid as the host sees it."""

    GIVES_OUT = True

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"bundle": (str, True), "id": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        root = "$SHIKUMI_HOME/runc"
        return "\n".join(
            [
                f"runc --root {root} run -d --bundle {p['bundle']} {p['id']} </dev/null >{p['bundle']}/{p['id']}.log 2>&1",
                f"runc --root {root} state {p['id']}",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        bundle = require_inside(p["bundle"], journal.home)
        if not (bundle / "config.json").is_file():
            raise LabError(f"{bundle} holds no config.json (run ```op runc-bundle first)")
        st = runc.run_detached(journal, bundle, str(p["id"]), bundle / f"{p['id']}.log")
        _set_out(ctx, str(st.pid))
        return _result(
            f"container {st.id}: {st.status}, pid {st.pid} on the host, bundle {st.bundle}", st
        )


class RuncSpeed:
    """Time `runc run` of a container that runs `true` (foreground: create, start, wait,
    delete), beside the same container by hand; `speedbars` draws both."""

    GIVES_OUT = True

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "root": (str, True),  # the rootfs (inside the home)
        "bundle": (str, True),  # a bundle directory made for the timing (inside the home)
        "runs": (int, False),  # default 10
        "tool": (str, False),  # runc (default) or crun
    }

    def describe(self, p: dict[str, Any]) -> str:
        tool = p.get("tool") or "runc"
        return "\n".join(
            [
                f'cd {p["bundle"]} && {tool} spec   # then .root.path = "{p["root"]}", .process.args = ["/bin/true"]',
                f"for i in $(seq {p.get('runs') or 10}); do",
                f"    /usr/bin/time -f %e {tool} --root $SHIKUMI_HOME/runc run --bundle {p['bundle']} t$i",
                "done",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        tool = str(p.get("tool") or "runc")
        if tool not in ("runc", "crun"):
            raise LabError(f"tool must be runc or crun (got {tool!r})")
        why = runc.available(tool)
        if why:
            raise LabError(why)
        root = require_inside(p["root"], journal.home)
        bundle = require_inside(p["bundle"], journal.home)
        make_dir(journal, bundle)
        runc.spec(bundle)
        runc.prepare_config(bundle, speed.true_cmd(root), marker=_marker(journal), rootfs=str(root))
        runs = int(p.get("runs") or 10)
        hand = speed.by_hand(root, runs)
        timed = runc.time_runs(journal, bundle, runs, tool)
        cmp = speed.Comparison(hand, timed)
        ratio = cmp.ratio or 0.0
        out = (
            f"by hand: median {hand.median * 1000:.1f} ms over {runs} runs\n"
            f"{timed.label}: median {timed.median * 1000:.1f} ms over {runs} runs "
            f"({ratio:.1f}× the by-hand start)"
        )
        _set_out(ctx, out)
        return _result(out, cmp)


OPS: dict[str, Any] = {
    "runc-bundle": RuncBundle(),
    "runc-run": RuncRun(),
    "runc-speed": RuncSpeed(),
}
