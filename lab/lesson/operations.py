"""Lab operations a lesson can run in-process with an ```op NAME block.

A shell command is the right tool for most steps; an operation is for work
that later lessons and the benchmarks reuse (building the rootfs) and that
must go through the lesson's journal. Each operation says what it will do,
in the shell commands a learner could type for the same result, before it
runs (``describe``), and returns typed data that views show (``of = STEP``).
"""

from __future__ import annotations

import json
import shlex
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from lab.errors import LabError
from lab.lesson import (
    ops_containers,
    ops_docker,
    ops_images,
    ops_netvol,
    ops_oci,
    ops_registry,
    ops_runtime,
    ops_users,
)
from lab.lesson.op_result import OpResult
from lab.ops import rootfs, runc
from lab.safety.home import require_inside
from lab.safety.journal import Journal


@dataclass
class RootfsResult:
    rootfs: rootfs.Rootfs
    estimate: rootfs.CopyEstimate | None
    tar: str = ""
    tar_bytes: int = 0


class _Rootfs:
    """Build a rootfs from the ldd closure of some programs (or busybox), optionally tar it."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "root": (str, True),
        "programs": (list, False),
        "scripts": (dict, False),  # path inside -> text, or "@assets/NAME" for a file in assets/
        "busybox": (bool, False),
        "tar": (str, False),
        "estimate": (bool, False),  # also size up the slides' cp -r /bin /lib /usr… (no copying)
    }

    def describe(self, p: dict[str, Any]) -> str:
        root = p["root"]
        if p.get("busybox"):
            lines = [
                f"mkdir -p {root}/bin",
                f"cp $(which busybox) {root}/bin/",
                f"for a in sh ls cat …; do ln -s busybox {root}/bin/$a; done",
            ]
        else:
            progs = " ".join(p.get("programs") or rootfs.DEFAULT_PROGRAMS)
            lines = [
                f"# the files {progs} need, as ldd reports them:",
                f"for f in $(ldd $(which {progs}) | grep -o '/[^ ]*' | sort -u) $(which {progs}); do",
                f'    cp --parents -L "$f" {root}/',
                "done",
            ]
        for path in p.get("scripts") or {}:
            lines.append(f"install -m 755 … {root}{path}")
        if p.get("tar"):
            lines.append(f"tar -C {root} -cf {p['tar']} .")
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> OpResult:
        root = require_inside(p["root"], journal.home)
        scripts = {str(k): _script_text(str(v), ctx) for k, v in (p.get("scripts") or {}).items()}
        if root.exists():  # rebuilt from scratch: the lesson's work is disposable
            from lab.safety.remove import safe_rmtree

            safe_rmtree(str(root), journal.home)
        if p.get("busybox"):
            built = rootfs.build_busybox(journal, root, scripts)
        else:
            built = rootfs.build(
                journal, root, [str(x) for x in p.get("programs") or []] or None, scripts
            )
        est = rootfs.estimate_copy_all() if p.get("estimate") else None
        out = RootfsResult(built, est)
        lines = [
            f"built {root} in {built.seconds * 1000:.0f} ms: {len(built.files)} files, {built.bytes / 1e6:.1f} MB ({built.method})"
        ]
        if p.get("tar"):
            tar = require_inside(p["tar"], journal.home)
            tar.parent.mkdir(parents=True, exist_ok=True)
            out.tar, out.tar_bytes = str(tar), rootfs.to_tar(root, tar)
            lines.append(f"packed {tar}: {out.tar_bytes / 1e6:.1f} MB")
        if est:
            lines.append(
                f"the slides' cp -r of {' '.join(est.paths)} would copy {est.bytes / 1e9:.2f} GB in {est.files} files"
            )
        return OpResult("\n".join(lines), out)


class _Unpack:
    """Unpack a rootfs tar into a directory (the slides' /var/lib/containers/test)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"tar": (str, True), "dest": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        return f"mkdir -p {p['dest']} && tar -C {p['dest']} -xf {p['tar']}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> OpResult:
        from lab.safety.resources import make_dir

        dest = require_inside(p["dest"], journal.home)
        make_dir(journal, dest)
        rootfs.from_tar(Path(p["tar"]), dest)
        n = sum(1 for _ in dest.rglob("*"))
        return OpResult(
            f"unpacked {p['tar']} into {dest}: {n} entries", {"dest": str(dest), "entries": n}
        )


class _Expect:
    """Write into the journal what the step's commands, or the learner at the try
    prompt, are about to create by hand (`ip netns add`, `ip link add`, an iptables
    rule): recorded before it exists, like everything the lab makes, so `shikumi
    cleanup` removes it even if the lab is killed before the lesson's cleanup runs."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "netns": (list, False),
        "links": (list, False),
        "iptables": (
            list,
            False,
        ),  # rules as typed: "-t nat -A OUTPUT … -m comment --comment shikumi-…"
        "docker": (list, False),  # container names, shikumi-…: `docker rm -f` at the end
        "images": (list, False),  # Docker image names, shikumi-…: `docker rmi -f` at the end
        "networks": (list, False),  # Docker network names, shikumi-…: `docker network rm`
        "runc": (list, False),  # container ids under HOME/runc: `runc delete --force`
    }

    def describe(self, p: dict[str, Any]) -> str:
        lines = [
            "# the lab notes these in its journal before they exist, to remove them afterwards:"
        ]
        lines += [f"#   network namespace {n}" for n in p.get("netns") or []]
        lines += [f"#   link {n}" for n in p.get("links") or []]
        lines += [f"#   iptables {r}" for r in p.get("iptables") or []]
        lines += [f"#   docker network {n}" for n in p.get("networks") or []]
        lines += [f"#   docker container {n}" for n in p.get("docker") or []]
        lines += [f"#   docker image {n}" for n in p.get("images") or []]
        lines += [f"#   runc container {n} (runc --root HOME/runc)" for n in p.get("runc") or []]
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> OpResult:
        for name in p.get("netns") or []:
            journal.record("netns", str(name))
        for name in p.get("links") or []:
            journal.record("link", str(name))
        for rule in p.get("iptables") or []:
            table, chain, spec = _split_rule(str(rule))
            # by_comment: a learner's mistyped rule carrying the same comment goes too
            journal.record(
                "iptables", f"{table}/{chain}", table=table, chain=chain, rule=spec, by_comment=True
            )
        # a network before the containers: undone after them (the journal undoes newest first)
        for name in p.get("networks") or []:
            journal.record("docker-network", str(name))
        for name in p.get("docker") or []:
            journal.record("docker-container", str(name))
        for name in p.get("images") or []:
            journal.record("docker-image", str(name))
        for cid in p.get("runc") or []:
            runc.record(journal, str(cid))
        n = sum(len(p.get(k) or []) for k in self.PARAMS)
        return OpResult(
            f"{n} thing(s) noted in the journal: removed when the lesson ends, or by shikumi cleanup",
            None,
        )


def _split_rule(rule: str) -> tuple[str, str, list[str]]:
    """("nat", "OUTPUT", spec) from "-t nat -A OUTPUT spec…" (the append form a learner types)."""
    args = shlex.split(rule)
    table, chain, spec = "filter", "", []
    i = 0
    while i < len(args):
        if args[i] == "-t" and i + 1 < len(args):
            table, i = args[i + 1], i + 2
        elif args[i] in ("-A", "-I") and i + 1 < len(args):
            chain, i = args[i + 1], i + 2
        else:
            spec.append(args[i])
            i += 1
    if not chain:
        raise LabError(f"an iptables rule to expect needs -A CHAIN: {rule!r}")
    return table, chain, spec


def _script_text(value: str, ctx: Any) -> str:
    if value.startswith("@assets/"):
        path = Path(ctx.vars.fill("{{assets}}")) / value[len("@assets/") :]
        try:
            return path.read_text()
        except OSError as e:
            raise LabError(f"cannot read {path}: {e.strerror}") from None
    return value


def _registry() -> dict[str, Any]:
    # the operations of the later lessons live beside this module, one module per
    # part of the course (their shared result type is in op_result)
    ops: dict[str, Any] = {"rootfs": _Rootfs(), "unpack": _Unpack(), "expect": _Expect()}
    for part in (
        ops_images.OPS,
        ops_containers.OPS,
        ops_docker.OPS,
        ops_netvol.OPS,
        ops_runtime.OPS,
        ops_oci.OPS,
        ops_users.OPS,
        ops_registry.OPS,
    ):
        clash = set(ops) & set(part)
        if clash:
            raise RuntimeError(f"operation names defined twice: {sorted(clash)}")
        ops.update(part)
    return ops


_REGISTRY: dict[str, Any] = _registry()


def names() -> set[str]:
    return set(_REGISTRY)


def params(name: str) -> dict[str, tuple[Any, bool]]:
    return dict(get(name).PARAMS)


def get(name: str) -> Any:
    try:
        return _REGISTRY[name]
    except KeyError:
        raise LabError(
            f"unknown operation {name!r} (known: {', '.join(sorted(_REGISTRY))})"
        ) from None


def _arg(v: Any) -> str:
    """A parameter as the lesson file wrote it: lists and booleans in TOML's spelling
    (``cmd=["/bin/sh"]``, not the shell-quoted ``cmd='['"'"'/bin/sh'"'"']'``)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, list | tuple):
        return "[" + ", ".join(json.dumps(x) if isinstance(x, str) else _arg(x) for x in v) + "]"
    return shlex.quote(str(v))


def shown(name: str, p: dict[str, Any]) -> str:
    """What the learner sees before the operation runs."""
    args = " ".join(f"{k}={_arg(v)}" for k, v in p.items() if k != "scripts")
    return f"# lab operation: {name} {args}\n# by hand, that is:\n" + get(name).describe(p)


__all__ = ["OpResult", "get", "names", "params", "shown"]
