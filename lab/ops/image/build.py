"""`docker build` by hand, for a Dockerfile subset: FROM (a local image, an earlier
stage, or scratch; `AS name`), RUN, COPY (`--from=STAGE`), CMD, ENV, WORKDIR.

Each RUN runs `sh -c` in a container made the lab's way (the layers so far as
overlay lowers, a fresh upper, new namespaces, merged as /); its upper becomes
the layer. COPY writes its files into a layer of their own. CMD, ENV and WORKDIR
change only the config: their history entries say ``empty_layer``.
"""

from __future__ import annotations

import json
import os
import secrets
import shlex
import shutil
import stat
import time
from dataclasses import dataclass, field
from pathlib import Path

from lab.errors import LabError
from lab.ops import overlay
from lab.ops.image import layers, oci
from lab.ops.image import store as images
from lab.ops.image.oci import Descriptor, History, ImageConfig
from lab.ops.image.store import Image
from lab.safety.journal import Journal
from lab.safety.resources import make_dir

SUPPORTED = ("FROM", "RUN", "COPY", "CMD", "ENV", "WORKDIR")
HELLO_PY = 'print("Hello")\n'
HELLO_SH = "echo Hello\n"


@dataclass
class Instruction:
    op: str  # FROM RUN COPY CMD ENV WORKDIR
    args: str  # the rest of the line, continuations joined
    line: int  # 1-based line number in the Dockerfile

    @property
    def text(self) -> str:
        return f"{self.op} {self.args}"


@dataclass
class BuildStep:
    stage: str
    instruction: str
    created_by: str
    layer: Descriptor | None  # None: config only
    seconds: float
    output: str = ""


@dataclass
class BuildResult:
    image: Image
    steps: list[BuildStep]
    stages: dict[str, Image] = field(default_factory=dict)

    @property
    def layer_steps(self) -> list[BuildStep]:
        return [s for s in self.steps if s.layer is not None and s.stage == self.steps[-1].stage]


@dataclass
class _Stage:
    name: str
    config: ImageConfig
    layers: list[Descriptor]


def parse(text: str) -> list[Instruction]:
    """The instructions of a Dockerfile (comments dropped, `\\` continuations joined)."""
    out: list[Instruction] = []
    pending, start = "", 0
    for n, raw in enumerate(text.splitlines(), start=1):
        line = raw.strip()
        if not pending and (not line or line.startswith("#")):
            continue
        if not pending:
            start = n
        if line.endswith("\\"):
            pending += line[:-1] + " "
            continue
        full = (pending + line).strip()
        pending = ""
        op, _, args = full.partition(" ")
        if op.upper() not in SUPPORTED:
            raise LabError(
                f"Dockerfile line {start}: {op} is not supported here (only {', '.join(SUPPORTED)})"
            )
        out.append(Instruction(op.upper(), args.strip(), start))
    if pending:
        raise LabError("the Dockerfile ends in a line continuation")
    if not out or out[0].op != "FROM":
        raise LabError("a Dockerfile starts with FROM")
    return out


def _exec_form(args: str) -> list[str] | None:
    if args.startswith("["):
        try:
            v = json.loads(args)
        except ValueError:
            return None
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            return v
    return None


def _nop(text: str) -> str:
    return f"/bin/sh -c #(nop)  {text}"


def build(
    j: Journal, context: Path, name: str, dockerfile: str | Path | None = None
) -> BuildResult:
    """Build *name* from the Dockerfile (text, a path, or CONTEXT/Dockerfile)."""
    context = Path(context)
    if dockerfile is None:
        text = (context / "Dockerfile").read_text()
    elif isinstance(dockerfile, Path):
        text = dockerfile.read_text()
    else:
        text = dockerfile
    steps: list[BuildStep] = []
    stages: dict[str, Image] = {}
    st: _Stage | None = None
    for ins in parse(text):
        t0 = time.perf_counter()
        where = f"Dockerfile line {ins.line}"
        if ins.op == "FROM":
            if st is not None:
                stages[st.name] = images.write_image(j, "", st.config, st.layers)
            words = ins.args.split()
            base = words[0] if words else ""
            sname = words[2] if len(words) == 3 and words[1].lower() == "as" else str(len(stages))
            if base == "scratch":
                st = _Stage(sname, ImageConfig(history=[]), [])
            else:
                im = stages.get(base) or images.get(j.home, base)
                st = _Stage(sname, im.config.copy(), list(im.layers))
            steps.append(BuildStep(sname, ins.text, "", None, time.perf_counter() - t0))
            continue
        assert st is not None
        layer, output = None, ""
        if ins.op == "RUN":
            cmd = _exec_form(ins.args) or ["/bin/sh", "-c", ins.args]
            created_by = " ".join(cmd) if _exec_form(ins.args) else f"/bin/sh -c {ins.args}"
            layer, output = _run(j, st, cmd, where)
        elif ins.op == "COPY":
            created_by, layer = _copy(j, st, ins.args, context, stages, where)
        elif ins.op == "CMD":
            st.config.cmd = _exec_form(ins.args) or ["/bin/sh", "-c", ins.args]
            created_by = _nop("CMD [" + " ".join(json.dumps(x) for x in st.config.cmd) + "]")
        elif ins.op == "ENV":
            pairs = _env_pairs(ins.args, where)
            for k, v in pairs:
                st.config.set_env(k, v)
            created_by = _nop("ENV " + " ".join(f"{k}={v}" for k, v in pairs))
        else:  # WORKDIR
            st.config.working_dir = os.path.normpath(
                os.path.join(st.config.working_dir or "/", ins.args)
            )
            created_by = _nop(f"WORKDIR {st.config.working_dir}")
        if layer is not None:
            st.layers.append(layer)
        st.config.history.append(History(created_by, empty_layer=layer is None))
        steps.append(
            BuildStep(st.name, ins.text, created_by, layer, time.perf_counter() - t0, output)
        )
    assert st is not None
    final = images.write_image(j, name, st.config, st.layers)
    stages[st.name] = final
    return BuildResult(final, steps, stages)


def _env_pairs(args: str, where: str) -> list[tuple[str, str]]:
    words = shlex.split(args)
    if words and "=" not in words[0]:
        if len(words) < 2:
            raise LabError(f"{where}: ENV needs a value")
        return [(words[0], " ".join(words[1:]))]
    pairs = []
    for w in words:
        k, sep, v = w.partition("=")
        if not sep or not k:
            raise LabError(f"{where}: ENV {w!r} is not KEY=VALUE")
        pairs.append((k, v))
    return pairs


def _stage_image(j: Journal, st: _Stage) -> Image:
    return images.write_image(j, "", st.config, st.layers)


def _run(j: Journal, st: _Stage, cmd: list[str], where: str) -> tuple[Descriptor, str]:
    c = images.new_container(j, _stage_image(j, st))
    try:
        res = overlay.run(j, c, cmd, env=st.config.env_dict(), workdir=st.config.working_dir)
        if res.returncode != 0:
            raise LabError(
                f"{where}: RUN {' '.join(cmd)} exited {res.returncode}: {res.output.strip()[-500:]}"
            )
        overlay.unmount(j, c)
        tmp = images._tmp(j)
        layers.from_dir(c.upper, tmp, overlay=True)
        return images.add_layer(j, tmp, move=True), res.output
    finally:
        overlay.remove(j, c)


def _no_links(root: Path, rel: str, where: str) -> Path:
    """root/rel, refusing a path that goes through a symlink (it could lead out of root)."""
    cur = root
    parts = [p for p in rel.split("/") if p not in ("", ".")]
    if ".." in parts:
        raise LabError(f"{where}: {rel!r} leaves the build context")
    for p in parts[:-1]:
        cur = cur / p
        if cur.is_symlink():
            raise LabError(
                f"{where}: {rel!r} goes through the symlink {cur.name!r}; name the real path"
            )
    return root.joinpath(*parts) if parts else root


def _copy(
    j: Journal, st: _Stage, args: str, context: Path, stages: dict[str, Image], where: str
) -> tuple[str, Descriptor]:
    words = shlex.split(args)
    src_stage = ""
    while words and words[0].startswith("--"):
        flag = words.pop(0)
        if flag.startswith("--from="):
            src_stage = flag.split("=", 1)[1]
        else:
            raise LabError(f"{where}: COPY {flag} is not supported here")
    if len(words) < 2:
        raise LabError(f"{where}: COPY needs a source and a destination")
    *srcs, dest = words
    if not dest.startswith("/"):
        dest = os.path.join(st.config.working_dir or "/", dest)
    merged = layers.merged_files(images.write_image(j, "", st.config, st.layers).layer_paths)
    existing = merged.get(layers.norm(dest))
    into_dir = (
        dest.endswith("/") or len(srcs) > 1 or (existing is not None and existing.kind == "dir")
    )
    staging, entry = make_dir(j, j.home / "build" / secrets.token_hex(6))
    src_c = None
    try:
        if src_stage:
            src_img = stages.get(src_stage) or images.get(j.home, src_stage)
            src_c = images.new_container(j, src_img)
            root = src_c.merged
        else:
            root = context
        for s in srcs:
            src = _no_links(root, s, where)
            if not os.path.lexists(src):
                raise LabError(
                    f"{where}: COPY {s}: no such file in {'stage ' + src_stage if src_stage else 'the build context'}"
                )
            is_dir = stat.S_ISDIR(os.lstat(src).st_mode)
            target = os.path.join(dest, os.path.basename(src)) if into_dir and not is_dir else dest
            out = staging / layers.norm(target)
            out.parent.mkdir(parents=True, exist_ok=True)
            if is_dir:
                shutil.copytree(src, out, symlinks=True, dirs_exist_ok=True)
            elif os.path.islink(src):
                os.symlink(os.readlink(src), out)
            else:
                shutil.copy2(src, out)
        tmp = images._tmp(j)
        layers.from_dir(staging, tmp, overlay=False)
        desc = images.add_layer(j, tmp, move=True)
    finally:
        if src_c is not None:
            overlay.remove(j, src_c)
        if entry is not None:
            j.undo(entry)
    how = f"--from={src_stage} " if src_stage else ""
    return _nop(f"COPY {how}{' '.join(srcs)} {dest}"), desc


# -- the slides' example ------------------------------------------------------------------


def has_python(image: Image) -> bool:
    """Whether python3 runs in the image: the program and its standard library are there."""
    files = layers.merged_files(image.layer_paths)
    prog = any(p in files for p in ("usr/bin/python3", "bin/python3", "usr/local/bin/python3"))
    return prog and any(
        p.startswith(("usr/lib/python3", "usr/local/lib/python3")) and p.endswith("/os.py")
        for p in files
    )


def hello_context(dest: Path, base: str, python: bool) -> Path:
    """The slides' build context: hello.py and its Dockerfile (or the same with sh
    when the base image has no python3). Returns the Dockerfile's path."""
    dest.mkdir(parents=True, exist_ok=True)
    if python:
        (dest / "hello.py").write_text(HELLO_PY)
        cmd, script = '["python3", "/work/hello.py"]', "hello.py"
    else:
        (dest / "hello.sh").write_text(HELLO_SH)
        cmd, script = '["/bin/sh", "/work/hello.sh"]', "hello.sh"
    df = dest / "Dockerfile"
    df.write_text(f"FROM {base}\nRUN mkdir /work\nCOPY {script} /work\nCMD {cmd}\n")
    return df


def short_history(image: Image) -> list[str]:
    """One line per history entry, like `docker history` (newest last)."""
    return [
        f"{oci.short(d.digest) if d else '<config>':12}  {d.size if d else 0:>9}  {h.created_by}"
        for h, d in image.history()
    ]
