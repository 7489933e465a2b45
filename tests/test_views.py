"""Views: collect() on real files and processes; render() shows the differences."""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

from rich.console import Console

from lab import views
from lab.lesson.runner import Runner
from lab.safety import procs
from lab.safety.journal import Journal
from tests.lessonkit import act, lesson, step


def text_of(renderable: object, width: int = 120) -> str:
    with open(os.devnull, "w") as sink:
        c = Console(record=True, width=width, file=sink)
        c.print(renderable)
        return c.export_text()


def ctx(tmp_path: Path, *steps):
    j = Journal.open(tmp_path / "home")
    return Runner(lesson(*steps), j), j


def test_registry() -> None:
    assert {"output", "table", "tree", "trees", "diff", "proctree", "compare"} <= views.names()
    assert views.params("tree")["path"] == (str, True)
    import pytest

    from lab.errors import LabError

    with pytest.raises(LabError, match="unknown view"):
        views.get("nope")


def test_views_do_not_import_textual() -> None:
    code = "import lab.views as v, sys\nfor n in v.names(): v.get(n)\nassert not any(m.startswith('textual') for m in sys.modules)"
    import sys

    assert subprocess.run([sys.executable, "-c", code]).returncode == 0


def test_table_from_status_and_os_release(tmp_path: Path) -> None:
    r, j = ctx(tmp_path)
    m = views.get("table")
    d = m.collect(
        r.ctx,
        path=f"/proc/{os.getpid()}/status",
        keys=["Name", "Pid", "Nope"],
        explain={"Pid": "its id"},
    )
    assert [row.key for row in d.rows] == ["Name", "Pid"] and d.rows[1].value == str(os.getpid())
    assert d.missing == ["Nope"]
    out = text_of(m.render(d))
    assert "its id" in out and "(not present)" in out
    rel = tmp_path / "os-release"
    rel.write_text('NAME="Test OS"\nID=test\n')
    assert [(x.key, x.value) for x in m.collect(r.ctx, path=str(rel)).rows] == [
        ("NAME", "Test OS"),
        ("ID", "test"),
    ]
    j.close()


def test_tree_marks_dirs_files_and_links(tmp_path: Path) -> None:
    root = tmp_path / "root"
    (root / "bin").mkdir(parents=True)
    (root / "bin" / "sh").write_text("x" * 2048)
    (root / "lib").symlink_to("usr/lib")
    r, j = ctx(tmp_path)
    m = views.get("tree")
    d = m.collect(r.ctx, path=str(root), depth=2, sizes=True)
    out = text_of(m.render(d))
    assert "bin/" in out and "sh  2K" in out and "lib -> usr/lib" in out
    j.close()


def test_trees_highlight_entries_on_one_side(tmp_path: Path) -> None:
    a, b = tmp_path / "a", tmp_path / "b"
    for d in (a, b):
        (d / "etc").mkdir(parents=True)
    (a / "proc").mkdir()
    (b / "extra").write_text("")
    r, j = ctx(tmp_path)
    m = views.get("trees")
    d = m.collect(r.ctx, left=str(a), right=str(b))
    assert d.left.only == {"proc"} and d.right.only == {"extra"}
    out = text_of(m.render(d))
    lines = {ln for ln in out.splitlines() if "only here" in ln}
    assert any("proc/" in ln for ln in lines) and any("extra" in ln for ln in lines)
    assert not any("etc" in ln for ln in lines)
    j.close()


def test_diff_of_files_and_commands(tmp_path: Path) -> None:
    (tmp_path / "l").write_text("same\nleft only\nend\n")
    (tmp_path / "r").write_text("same\nright only\nend\nextra\n")
    r, j = ctx(tmp_path)
    m = views.get("diff")
    d = m.collect(r.ctx, left=str(tmp_path / "l"), right=str(tmp_path / "r"))
    assert [row.tag for row in d.rows] == ["equal", "replace", "equal", "insert"]
    out = text_of(m.render(d))
    assert "2 line(s) differ" in out and "~ │ left only" in out.replace("┃", "│")
    d2 = m.collect(r.ctx, left_command="echo a", right_command="echo b")
    assert d2.changed == 1
    j.close()


def test_proctree_shows_parent_and_child(tmp_path: Path) -> None:
    r, j = ctx(tmp_path, step("s", act("spawn", "bash -c 'sleep 300 & wait'", name="child")))
    assert r.run_step(0).status == "passed"
    child = r.vars.pids["child"]
    deadline = time.monotonic() + 5  # the forked bash has exec'd sleep
    while procs.comm(child) != "sleep" and time.monotonic() < deadline:
        time.sleep(0.005)
    m = views.get("proctree")
    d = m.collect(
        r.ctx, pid="{{pid.child}}".replace("{{pid.child}}", str(r.vars.pids["child"])), ancestors=1
    )
    assert d.root.name == "bash" and d.root.children[0].name == "sleep"
    out = text_of(m.render(d))
    assert "this one" in out and "sleep 300" in out
    r.finish()
    j.close()


def test_compare_and_output(tmp_path: Path) -> None:
    r, j = ctx(tmp_path, step("s", act("run", "echo from-step")))
    r.run_step(0)
    m = views.get("compare")
    d = m.collect(
        r.ctx,
        columns=[
            {"label": "one", "command": "printf 'a\\nb\\n'"},
            {"label": "two", "command": "printf 'a\\nc\\n'"},
        ],
    )
    assert d.columns[0].unique == {"b"} and d.columns[1].unique == {"c"}
    out = text_of(m.render(d))
    assert "one" in out and "two" in out
    o = views.get("output")
    assert "from-step" in text_of(o.render(o.collect(r.ctx, of="s")))
    assert "hi" in text_of(o.render(o.collect(r.ctx, command="echo hi")))
    r.finish()
    j.close()
