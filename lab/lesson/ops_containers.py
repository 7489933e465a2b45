"""Lab operations for lessons 10–12: overlay containers — create, run, changes, rm.

Lab containers are found by id: those made in this run (with their journal
entries, so ``container-rm`` undoes exactly them), else the directory under
HOME/containers.
"""

from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Any, ClassVar

from lab.errors import LabError
from lab.lesson.op_result import result as _result
from lab.lesson.op_result import set_out as _set_out
from lab.lesson.op_result import strs as _strs
from lab.ops import overlay
from lab.ops.image import store as images
from lab.safety.journal import Journal

# containers made by container-create in this process, by (home, id)
_MADE: dict[tuple[str, str], overlay.OverlayContainer] = {}


def find_container(journal: Journal, cid: str) -> overlay.OverlayContainer:
    c = _MADE.get((str(journal.home), cid))
    if c is not None and c.dir.is_dir():
        return c
    return overlay.open_container(journal, cid)


# -- containers ---------------------------------------------------------------------------


class ContainerCreate:
    """A container of an image: its layers unpacked as lowers, an empty upper, the overlay mounted."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "image": (str, True),
        "id": (str, True),
        "mount": (bool, False),  # default true
    }

    def describe(self, p: dict[str, Any]) -> str:
        c = f"$SHIKUMI_HOME/containers/{p['id']}"
        lines = [
            f"# docker create --name {p['id']} {p['image']} (pull = unpack each layer once):",
            "for d in $(layers of the image); do",
            "  mkdir -p $SHIKUMI_HOME/layers/$d && tar -C $SHIKUMI_HOME/layers/$d -xf $SHIKUMI_HOME/images/blobs/sha256/$d",
            "done",
            f"mkdir -p {c}/upper {c}/work {c}/merged",
        ]
        if p.get("mount", True):
            lines.append(
                f"mount -t overlay overlay -o lowerdir=$SHIKUMI_HOME/layers/<top>:…,"
                f"upperdir={c}/upper,workdir={c}/work {c}/merged"
            )
        return "\n".join(lines)

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        cid = str(p["id"])
        im = images.get(journal.home, str(p["image"]))
        lowers = images.unpack_layers(journal, im)
        c = overlay.create(journal, lowers, image=im.name or im.id, cid=cid)
        _MADE[(str(journal.home), cid)] = c
        lines = [f"container {cid} of {im.name}: {c.dir}"]
        lines += [f"  lower {i}: {lo}" for i, lo in enumerate(c.lowers)]
        if p.get("mount", True):
            overlay.mount(journal, c)
            lines.append(c.mount_command())
        _set_out(ctx, str(c.merged))
        return _result("\n".join(lines), c)


class ContainerRun:
    """Run a command to its end: in a mounted container (``id``), or, like `docker run --rm`,
    in a fresh container of ``image`` removed afterwards."""

    GIVES_OUT = True  # sets {{out.STEP}}

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {
        "id": (str, False),
        "image": (str, False),
        "command": (list, False),  # default: the image's CMD
    }

    def describe(self, p: dict[str, Any]) -> str:
        cmd = shlex.join(_strs(p.get("command"))) or "<the image's CMD>"
        if p.get("id"):
            m = f"$SHIKUMI_HOME/containers/{p['id']}/merged"
            return f"unshare -m -u -i -p -n --fork --root {m} --mount-proc {cmd}"
        return "\n".join(
            [
                f"# docker run --rm {p.get('image', '')} {cmd}   — by hand:",
                "mkdir upper work merged; mount -t overlay overlay -o lowerdir=…,upperdir=upper,workdir=work merged",
                f"unshare -m -u -i -p -n --fork --root merged --mount-proc {cmd}",
                "umount merged; rm -r upper work merged",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        cmd = _strs(p.get("command")) or None
        if p.get("id"):
            c = find_container(journal, str(p["id"]))
            env = None
            if c.image:
                try:
                    im = images.get(journal.home, c.image)
                    env = im.config.env_dict() or None
                    cmd = cmd or [*(im.config.entrypoint or []), *(im.config.cmd or [])]
                except LabError:
                    pass
            if not cmd:
                raise LabError("container-run needs a command")
            r = overlay.run(journal, c, cmd, env=env)
        elif p.get("image"):
            r = images.run(journal, images.get(journal.home, str(p["image"])), cmd)
        else:
            raise LabError("container-run needs id = CONTAINER or image = NAME")
        out = r.output.rstrip("\n")
        _set_out(ctx, out.strip())
        if r.returncode != 0:
            raise LabError(f"{shlex.join(r.argv)} exited {r.returncode}: {out}")
        return _result(out or "(no output)", r)


@dataclass
class ChangeList:
    container: str
    changes: list[overlay.Change] = field(default_factory=list)


class ContainerChanges:
    """`docker diff`: what the container's upper holds against its image (A / C / D)."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"id": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        u = f"$SHIKUMI_HOME/containers/{p['id']}/upper"
        return "\n".join(
            [
                f"# docker diff {p['id']}   — by hand: everything in the upper",
                f"find {u} -mindepth 1 -printf '%y %M %s %P\\n'",
                "# type c with size 0 = a whiteout (deleted); a file also in a lower = copied up (C)",
            ]
        )

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        c = find_container(journal, str(p["id"]))
        ch = overlay.changes(c)
        letter = {"added": "A", "modified": "C", "deleted": "D", "opaque": "C"}
        lines = [f"{letter[x.kind]} {x.path}" for x in ch] or ["(no changes)"]
        return _result("\n".join(lines), ChangeList(c.id, ch))


class ContainerRm:
    """`docker rm`: unmount, then remove the container's directory, its upper with it."""

    PARAMS: ClassVar[dict[str, tuple[Any, bool]]] = {"id": (str, True)}

    def describe(self, p: dict[str, Any]) -> str:
        c = f"$SHIKUMI_HOME/containers/{p['id']}"
        return f"umount {c}/merged\nrm -r {c}"

    def run(self, ctx: Any, journal: Journal, p: dict[str, Any]) -> Any:
        cid = str(p["id"])
        c = find_container(journal, cid)
        overlay.remove(journal, c)
        _MADE.pop((str(journal.home), cid), None)
        return _result(f"removed the container {cid} ({c.dir}), its upper with it", c)


OPS: dict[str, Any] = {
    "container-create": ContainerCreate(),
    "container-run": ContainerRun(),
    "container-changes": ContainerChanges(),
    "container-rm": ContainerRm(),
}
