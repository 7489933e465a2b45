"""Building images by hand from a Dockerfile: one layer per RUN / COPY."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from lab.errors import LabError
from lab.host import mounts
from lab.ops import rootfs
from lab.ops.image import build, layers
from lab.ops.image import store as images
from lab.safety.journal import Journal
from tests.support import need_root, need_tool


@pytest.fixture()
def journal(tmp_path: Path):
    with Journal.open(tmp_path / "home") as j:
        yield j
    assert not mounts.under(str(tmp_path / "home"))


@pytest.fixture()
def base(journal: Journal) -> images.Image:
    need_root()
    need_tool("ldd", "unshare")
    r = rootfs.build(journal, journal.home / "rootfs", programs=[*rootfs.DEFAULT_PROGRAMS, "rm"])
    return images.import_dir(journal, r.root, "shikumi-rootfs")


def test_parse() -> None:
    ins = build.parse('# c\nFROM x AS b\nRUN a \\\n  && b\n\nCMD ["sh"]\n')
    assert [(i.op, i.args, i.line) for i in ins] == [
        ("FROM", "x AS b", 2),
        ("RUN", "a  && b", 3),
        ("CMD", '["sh"]', 6),
    ]
    with pytest.raises(LabError, match="line 2"):
        build.parse("FROM x\nEXPOSE 80\n")
    with pytest.raises(LabError):
        build.parse("RUN x\n")


def test_one_layer_per_instruction(journal: Journal, base: images.Image, tmp_path: Path) -> None:
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    (ctx / "greeting").write_text("hello from COPY\n")
    (ctx / "hello.sh").write_text('echo "$GREETING from $(pwd)"; cat /work/greeting\n')
    df = (
        "FROM shikumi-rootfs\n"
        "RUN mkdir /work && echo built > /work/built.txt && rm /etc/hostname\n"
        "COPY greeting hello.sh /work/\n"
        "ENV GREETING=hi\n"
        "WORKDIR /work\n"
        'CMD ["/bin/sh", "hello.sh"]\n'
    )
    res = build.build(journal, ctx, "shikumi-built", df)
    im = res.image
    assert len(im.layers) == len(base.layers) + 2  # RUN and COPY; ENV, WORKDIR, CMD: config only
    hist = im.config.history
    assert [h.empty_layer for h in hist] == [False, False, False, True, True, True]
    assert hist[1].created_by.startswith("/bin/sh -c mkdir /work")
    assert "COPY greeting hello.sh /work/" in hist[2].created_by
    assert hist[-1].created_by == '/bin/sh -c #(nop)  CMD ["/bin/sh" "hello.sh"]'
    assert im.config.cmd == ["/bin/sh", "hello.sh"] and im.config.working_dir == "/work"
    assert im.config.env_dict()["GREETING"] == "hi"
    assert [s.layer is not None for s in res.steps] == [False, True, True, False, False, False]
    # the RUN layer holds what the command wrote, and the whiteout of what it removed
    d = images.analyze(im)
    run_layer, copy_layer = d.layers[1], d.layers[2]
    assert {x.path for x in run_layer.added} >= {"work", "work/built.txt"}
    assert [x.path for x in run_layer.deleted] == ["etc/hostname"]
    assert {x.path for x in copy_layer.added} == {"work/greeting", "work/hello.sh"}
    assert build.short_history(im)[1].split()[-1] == "/etc/hostname"
    out = images.run(journal, im)
    assert out.returncode == 0 and out.output == "hi from /work\nhello from COPY\n", out.output
    # fewer RUN lines, fewer layers
    df2 = "FROM shikumi-rootfs\nRUN mkdir /a\nRUN mkdir /b\nRUN mkdir /c\n"
    df1 = "FROM shikumi-rootfs\nRUN mkdir /a && mkdir /b && mkdir /c\n"
    assert len(build.build(journal, ctx, "shikumi-three", df2).image.layers) == len(base.layers) + 3
    assert len(build.build(journal, ctx, "shikumi-one", df1).image.layers) == len(base.layers) + 1
    # a failing RUN says which line and why, and leaves nothing mounted
    with pytest.raises(LabError, match=r"line 2.*exited"):
        build.build(journal, ctx, "shikumi-bad", "FROM shikumi-rootfs\nRUN ls /nope\n")
    assert not mounts.under(str(journal.home))


def test_scratch_and_two_stages(journal: Journal, base: images.Image, tmp_path: Path) -> None:
    need_tool("busybox")
    ctx = tmp_path / "ctx"
    ctx.mkdir()
    shutil.copy(shutil.which("busybox"), ctx / "busybox")
    (ctx / "note").write_text("from scratch\n")
    # FROM scratch + COPY: a static busybox is a whole image
    small = build.build(
        journal,
        ctx,
        "shikumi-small",
        'FROM scratch\nCOPY busybox /bin/busybox\nCOPY note /note\nCMD ["/bin/busybox", "cat", "/note"]\n',
    ).image
    assert len(small.layers) == 2 and len(small.config.history) == 3
    assert images.run(journal, small).output == "from scratch\n"
    # two stages: build an artefact with the big rootfs, copy only it into the small image
    df = (
        "FROM shikumi-rootfs AS builder\n"
        "RUN mkdir -p /out && echo 'echo made in the builder stage' > /out/app.sh\n"
        "FROM shikumi-small\n"
        "COPY --from=builder /out/app.sh /app.sh\n"
        'CMD ["/bin/busybox", "sh", "/app.sh"]\n'
    )
    res = build.build(journal, ctx, "shikumi-app", df)
    app = res.image
    assert set(res.stages) == {"builder", "1"}
    assert len(app.layers) == len(small.layers) + 1
    assert "COPY --from=builder /out/app.sh /app.sh" in app.config.history[-2].created_by
    assert images.run(journal, app).output == "made in the builder stage\n"
    assert app.size < res.stages["builder"].size  # the builder's rootfs is not in it
    files = layers.merged_files(app.layer_paths)
    assert "app.sh" in files and "out/app.sh" not in files and "usr/bin/ls" not in files


def test_hello_py_or_sh(journal: Journal, base: images.Image, tmp_path: Path) -> None:
    python = build.has_python(base)
    df = build.hello_context(tmp_path / "ctx", "shikumi-rootfs", python)
    assert (tmp_path / "ctx" / ("hello.py" if python else "hello.sh")).exists()
    im = build.build(journal, tmp_path / "ctx", "shikumi-hello", Path(df)).image
    assert len(im.layers) == len(base.layers) + 2
    assert images.run(journal, im).output == "Hello\n"
