"""Lab operations for lesson 13: the real Docker beside the lab's own image and
container (run, inspect, commit, save, load), through ``lab.ops.docker``.
"""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Any, ClassVar

from lab.errors import LabError
from lab.lesson.op_result import kb as _kb
from lab.lesson.op_result import result as _result
from lab.lesson.op_result import set_out as _set_out
from lab.lesson.op_result import strs as _strs
from lab.safety.home import require_inside
from lab.safety.journal import Journal

# -- the real Docker ----------------------------------------------------------------------


def _docker() -> Any:
    from lab.ops import docker

    why = docker.available()
    if why:
        raise LabError(why)
    return docker


class DockerRun:
    """`docker run --name shikumi-… IMAGE CMD` (detached: it keeps running; rm: removed after)."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "image": (str, True),
        "name": (str, True),
        "command": (list, False),
        "detach": (bool, False),
        "rm": (bool, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        flags = (" -d" if p.get("detach") else "") + (" --rm" if p.get("rm") else "")
        cmd = shlex.join(_strs(p.get("command")))
        return f"docker run{flags} --name {p['name']} --network none {p['image']} {cmd}".rstrip()

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        r = d.run(
            journal,
            str(p["image"]),
            _strs(p.get("command")),
            name=str(p["name"]),
            detach=bool(p.get("detach")),
            rm=bool(p.get("rm")),
        )
        out = (r.stdout + r.stderr).rstrip("\n")
        _set_out(ctx, r.stdout.strip())
        if r.returncode != 0:
            raise LabError(f"{shlex.join(r.argv)} exited {r.returncode}: {out}")
        return _result(out or "(no output)", r)


class DockerInspect:
    """`docker inspect`: a container's pid and its overlay's directories (LowerDir, UpperDir,
    MergedDir, WorkDir). With overlay2 they come from .GraphDriver.Data; with the containerd
    image store, whose inspect names none, from the container's root overlay mount.
    For a container, ``{{out.STEP}}`` is its pid as the host sees it."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"name": (str, True), "image": (bool, False)}

    def describe(self, p: dict[str, Any]) -> str:
        what = "image inspect" if p.get("image") else "inspect"
        return (
            f"docker {what} {p['name']} | grep -E '\"(Pid|LowerDir|UpperDir|MergedDir|WorkDir)\"'"
            + (
                ""
                if p.get("image")
                else "\n# the containerd image store: inspect has none; "
                "the overlay mounted at / in /proc/PID/mountinfo has them"
            )
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        ja = getattr(ctx, "lang", "en") == "ja"
        store = d.image_store()
        if p.get("image"):
            info = d.inspect_image(str(p["name"]))
            head = [f"image {p['name']}: {info.id[:19]}, {len(info.layers)} layer(s)"]
        else:
            info = d.inspect_container(str(p["name"]))
            head = [f"container {info.name}: pid {info.pid} on the host, running={info.running}"]
            _set_out(ctx, str(info.pid))
        g = info.graph
        head.append(("イメージストア：" if ja else "image store: ") + store.words(ja))
        if g.source == "mount":
            head.append(
                f"# docker inspect: GraphDriver.Data は null。/proc/{info.pid}/mountinfo の / "
                "（overlay）から読んだ"
                if ja
                else f"# docker inspect: GraphDriver.Data is null; read from the overlay "
                f"mounted at / in /proc/{info.pid}/mountinfo"
            )
        elif not g.upper:
            head.append(
                "# docker inspect はディレクトリを示さない（動いているコンテナの overlay だけがマウントされる）"
                if ja
                else "# docker inspect names no directories (only a running container's "
                "overlay is mounted)"
            )
        lines = [*head, f"GraphDriver.Name  {g.name}"]
        lines += [f"LowerDir          {lo}" for lo in g.lower]
        lines += [f"UpperDir          {g.upper}", f"MergedDir         {g.merged}"]
        lines.append(f"WorkDir           {g.work}")
        return _result("\n".join(lines), info)


class DockerCommit:
    """`docker commit CONTAINER shikumi-…`: Docker's own upper → a new layer."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "container": (str, True),
        "name": (str, True),
        "changes": (list, False),
    }

    def describe(self, p: dict[str, Any]) -> str:
        ch = "".join(f" --change {shlex.quote(c)}" for c in _strs(p.get("changes")))
        return f"docker commit{ch} {p['container']} {p['name']}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        im = d.commit(journal, str(p["container"]), str(p["name"]), _strs(p.get("changes")))
        return _result(f"committed {p['container']} as {p['name']}: {len(im.layers)} layers", im)


class DockerSave:
    """`docker save -o TAR shikumi-…` (Docker's own layout: what `image-load` reads)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"images": (list, True), "tar": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        return f"docker save -o {p['tar']} {' '.join(_strs(p['images']))}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        out = require_inside(p["tar"], journal.home)
        out.parent.mkdir(parents=True, exist_ok=True)
        d.save(_strs(p["images"]), out)
        return _result(f"docker saved {out}: {_kb(out.stat().st_size)}", str(out))


class DockerLoad:
    """`docker load -i TAR`: a tar the lab saved, into Docker (its tags must be shikumi-…)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"tar": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        return f"docker load -i {p['tar']}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        d = _docker()
        r = d.load(journal, Path(p["tar"]))
        return _result(r.output.strip(), r)


OPS: dict[str, Any] = {
    "docker-run": DockerRun(),
    "docker-inspect": DockerInspect(),
    "docker-commit": DockerCommit(),
    "docker-save": DockerSave(),
    "docker-load": DockerLoad(),
}
