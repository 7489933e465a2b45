"""`shikumi progress [--json] [--export]` and `shikumi class report`: three learners'
homes, each exported by the real command, make one page; a damaged, a foreign and
a newer export each get one line naming the file and the page is made from the rest."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from lab import cli
from lab.commands.report_html import COLOURS
from lab.lesson import export
from lab.lesson.progress import Progress
from lab.safety.home import ensure_home
from tests.support import shikumi

# what three learners did (lesson, step, kind of work): the same calls the app makes
LEARNERS = {
    "aiko": [
        ("01-where-am-i", "distro", dict(attempt=True, seconds=60), "passed"),
        ("01-where-am-i", "kernel", dict(attempt=True, seconds=120, hints=1), "passed"),
        ("02-processes", "fork-exec", dict(attempt=True, seconds=200, prediction="b"), "passed"),
    ],
    "ben": [
        ("01-where-am-i", "distro", dict(attempt=True, seconds=90), "passed"),
        (
            "01-where-am-i",
            "kernel",
            dict(attempt=True, seconds=300, hints=2, solution=True),
            "passed",
        ),
        ("02-processes", "fork-exec", dict(attempt=True, seconds=400, hints=1), "failed"),
    ],
    "chika": [
        ("01-where-am-i", "distro", dict(attempt=True, seconds=30), "passed"),
        ("01-where-am-i", "kernel", dict(attempt=True, seconds=45, hints=1), "passed"),
    ],
}


def make_home(root: Path, learner: str) -> Path:
    home = ensure_home(root / f"home-{learner}")
    p = Progress.load(home)
    for lesson, step, what, status in LEARNERS[learner]:
        assert p.note(lesson, step, **what) == ""
        assert p.mark(lesson, step, status) == ""
    return home


def exported(tmp_path: Path, learner: str) -> Path:
    """The learner's export, written by the real command in its own home."""
    home = make_home(tmp_path, learner)
    out = tmp_path / f"{learner}.json"
    r = shikumi("progress", "--export", str(out), "--name", learner, home=home)
    assert r.returncode == 0, r.stderr
    assert f"learner {learner}" in r.stderr
    return out


def test_the_step_ids_used_here_are_real() -> None:
    from lab.lesson import catalog

    ids = {
        lesson.id: {s.id for s in lesson.steps}
        for _, lesson, _ in catalog.load_all()
        if lesson is not None
    }
    for rows in LEARNERS.values():
        for lesson, step, _, _ in rows:
            assert step in ids[lesson], (lesson, step)


def test_progress_table_json_and_export_to_stdout(tmp_path: Path) -> None:
    home = make_home(tmp_path, "ben")
    r = shikumi("progress", home=home)
    assert r.returncode == 0, r.stderr
    assert "01-where-am-i" in r.stdout and "done with the solution" in r.stdout
    assert "tried, not done" in r.stdout and "6:40" in r.stdout  # 400 s on 02 fork-exec
    r = shikumi("progress", "--lang", "ja", home=home)
    assert "解答で完了" in r.stdout
    r = shikumi("progress", "--export", "-", "--name", "ben", home=home)
    data = json.loads(r.stdout)
    assert data["format"] == export.FORMAT and data["version"] == export.VERSION
    assert data["learner"] == "ben" and data["host"]
    kernel = next(
        s
        for le in data["lessons"]
        if le["id"] == "01-where-am-i"
        for s in le["steps"]
        if s["id"] == "kernel"
    )
    assert (kernel["status"], kernel["hints"], kernel["solutions"], kernel["seconds"]) == (
        "passed",
        2,
        1,
        300.0,
    )
    assert kernel["title"]["en"] and kernel["title"]["ja"]
    assert kernel["done"] is True
    assert (
        json.loads(shikumi("progress", "--json", "--name", "ben", home=home).stdout)["lessons"]
        == data["lessons"]
    )


def test_an_empty_home_says_so_and_the_default_name_is_login_at_host(tmp_path: Path) -> None:
    home = tmp_path / "empty"
    r = shikumi("progress", home=home)
    assert r.returncode == 0 and "no progress yet" in r.stdout
    r = shikumi("progress", "--export", "-", home=home)
    learner = json.loads(r.stdout)["learner"]
    assert re.fullmatch(r"[^@\s]+@[^@\s]+", learner), learner


@pytest.fixture
def three(tmp_path: Path) -> list[Path]:
    return [exported(tmp_path, name) for name in LEARNERS]


def test_three_homes_make_one_report(tmp_path: Path, three: list[Path]) -> None:
    out = tmp_path / "report.html"
    r = shikumi("class", "report", *map(str, three), "-o", str(out))
    assert r.returncode == 0, r.stderr
    assert "3 learner(s)" in r.stderr
    page = out.read_text()
    assert "<script" not in page and "http://" not in page.replace(
        'xmlns="http://www.w3.org/2000/svg"', ""
    )
    for name in LEARNERS:
        assert f'<th class="who">{name}</th>' in page
    # the cells, row by row: aiko 01 distro done, kernel hinted; ben kernel by solution
    rows = re.findall(r'<tr><th class="who">(\w+)</th>(.*?)</tr>', page)
    cells = {who: re.findall(r'class="c (\w+)"', row) for who, row in rows}
    assert cells["aiko"][:2] == ["done", "hinted"]
    assert cells["ben"][:2] == ["done", "solution"]
    assert cells["chika"][:2] == ["done", "hinted"]
    assert "tried" in cells["ben"] and "not_reached" in cells["chika"]
    # where the class needed help: 01 kernel first (3 of 3 learners), then 02 fork-exec
    helped = re.findall(r"<tr><td>([\w-]+)</td><td>(.*?)</td>", page.split('class="help"')[1])
    assert [h[0] for h in helped[:2]] == ["01-where-am-i", "02-processes"]
    # the time chart: one bar per lesson, 02 the longest (600 s over 2 learners)
    bars = re.findall(r'<rect x="\d+" y="[\d.]+" width="([\d.]+)"', page)
    assert len(bars) == 2 and float(bars[1]) > float(bars[0])
    assert "5.0 min · 2 learners" in page


def test_bad_exports_are_named_and_left_out(tmp_path: Path, three: list[Path]) -> None:
    damaged = tmp_path / "damaged.json"
    damaged.write_text(three[0].read_text()[:200])  # cut short in the copy
    foreign = tmp_path / "foreign.json"
    foreign.write_text(json.dumps({"name": "package.json of something else"}))
    newer = tmp_path / "newer.json"
    data = json.loads(three[1].read_text())
    data["version"] = export.VERSION + 1
    newer.write_text(json.dumps(data))
    missing = tmp_path / "missing.json"
    out = tmp_path / "report.html"
    files = [*three, damaged, foreign, newer, missing]
    r = shikumi("class", "report", *map(str, files), "-o", str(out), "--lang", "ja")
    assert r.returncode == 0, r.stderr
    lines = [ln for ln in r.stderr.splitlines() if "left out" in ln]
    assert len(lines) == 5  # four bad files, and the summary line
    assert f"{damaged}: damaged export (not JSON" in r.stderr
    assert f"{foreign}: not a shikumi progress export" in r.stderr
    assert f"{newer}: made by a newer shikumi (format version {export.VERSION + 1}" in r.stderr
    assert f"{missing}: cannot read it" in r.stderr
    assert "Traceback" not in r.stderr
    page = out.read_text()
    assert page.count('<th class="who">') == 3 and "除外したファイル" in page
    assert "学習者 × ステップ" in page


def test_no_usable_export_writes_nothing(tmp_path: Path) -> None:
    bad = tmp_path / "bad.json"
    bad.write_bytes(b"\xff\xfe not text")
    out = tmp_path / "report.html"
    r = shikumi("class", "report", str(bad), "-o", str(out))
    assert r.returncode == 1 and not out.exists()
    assert "not UTF-8" in r.stderr and "no usable export" in r.stderr


@pytest.mark.parametrize(
    "mutate, why",
    [
        (lambda d: d.update(version="1"), "is not a format version"),
        (lambda d: d.update(learner=""), "no learner name"),
        (lambda d: d.update(lessons={}), '"lessons" is not a list'),
        (lambda d: d["lessons"][0]["steps"].append(3), "has no id"),
    ],
)
def test_shapes_that_are_damaged(tmp_path: Path, mutate, why: str) -> None:
    home = make_home(tmp_path, "aiko")
    data = export.build(Progress.load(home), [], "aiko")
    mutate(data)
    path = tmp_path / "x.json"
    path.write_text(json.dumps(data))
    with pytest.raises(export.ExportError, match=re.escape(why)) as e:
        export.read(path)
    assert str(e.value).startswith(f"{path}: ") and "\n" not in str(e.value)


def test_every_kind_has_a_colour_and_a_word() -> None:
    from lab.commands.report_html import WORDS

    assert set(COLOURS) == set(export.KINDS)
    for lang in ("en", "ja"):
        assert set(WORDS[lang]) == set(WORDS["en"])


def test_class_needs_report(capsys) -> None:
    assert cli.main(["class"]) == 1
    assert "class report" in capsys.readouterr().err
