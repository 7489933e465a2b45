"""docs/authoring.md names every action, operation, view and check kind the engine has;
docs/slides.md maps the deck's hands-on items to lesson steps that exist, each a try."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from lab import views
from lab.lesson import checks, operations
from lab.lesson.loader import load_lesson
from lab.lesson.model import ACTION_KINDS
from tests.support import REPO

DOC = (REPO / "docs" / "authoring.md").read_text()


def test_authoring_guide_lists_everything() -> None:
    missing = [f"action {k}" for k in ACTION_KINDS if f"`{k}`" not in DOC]
    missing += [f"operation {n}" for n in sorted(operations.names()) if f"| `{n}` |" not in DOC]
    missing += [f"view {n}" for n in sorted(views.names()) if f"| `{n}` |" not in DOC]
    missing += [f"check {n}" for n in sorted(checks.KINDS) if f"| `{n}` |" not in DOC]
    assert missing == [], "docs/authoring.md does not describe: " + ", ".join(missing)


SLIDES = (REPO / "docs" / "slides.md").read_text()
REF = re.compile(r"\b(\d{2})#([A-Za-z0-9_-]+)")


def _tables() -> list[list[list[str]]]:
    """The Markdown tables of docs/slides.md before its solve-gate section, each as its
    body rows (cells split on unescaped `|`)."""
    tables: list[list[list[str]]] = []
    rows: list[list[str]] = []
    for line in SLIDES.split("## The solve gate")[0].splitlines():
        if line.startswith("|"):
            cells = [c.strip() for c in re.split(r"(?<!\\)\|", line.strip())[1:-1]]
            if not all(set(c) <= {"-", ":"} for c in cells):
                rows.append(cells)
        elif rows:
            tables.append(rows[1:])  # without the heading row
            rows = []
    if rows:
        tables.append(rows[1:])
    return tables


def _lessons() -> dict[str, Any]:
    out = {}
    for folder in sorted((REPO / "lessons").iterdir()):
        if (folder / "lesson.md").is_file():
            lesson, _ = load_lesson(folder)
            assert lesson is not None, folder
            out[folder.name[:2]] = lesson
    return out


def test_every_slide_row_names_steps_that_exist() -> None:
    lessons = _lessons()
    tables = _tables()
    assert len(tables) >= 2 and len(tables[0]) >= 20, "docs/slides.md lost its tables"
    missing = []
    for row in (r for t in tables for r in t):
        refs = REF.findall(row[2])
        assert refs, f"docs/slides.md row {row[0]!r} names no lesson#step"
        for num, step in refs:
            lesson = lessons.get(num)
            if lesson is None or step not in {s.id for s in lesson.steps}:
                missing.append(f"{num}#{step} (slides {row[0]})")
    assert missing == [], "docs/slides.md names steps no lesson has: " + ", ".join(missing)


def test_every_hands_on_row_is_a_learner_step() -> None:
    """The first table lists the deck's hands-on items: each row says **try**, and one of
    the steps it names has a try the learner types."""
    lessons = _lessons()
    for row in _tables()[0]:
        assert "**try**" in row[3], f"slides {row[0]}: no **try** in {row[3]!r}"
        tries = [
            f"{n}#{s}"
            for n, s in REF.findall(row[2])
            if any(st.id == s and st.of("try") for st in lessons[n].steps)
        ]
        assert tries, f"slides {row[0]}: none of the steps it names has a try"


def test_every_test_file_is_in_the_vm_subset_or_left_out_with_a_reason() -> None:
    """docs/reliability.md names the test files the Debian 12 VM runs and, for every
    other one, why it is left out: a new test file must be placed in one of the two."""
    import fnmatch

    doc = (REPO / "docs" / "reliability.md").read_text()
    start = doc.index("**The tests in the Debian 12 VM are a named subset**")
    section = doc[start : doc.index("The whole suite in the VM is one command", start)]
    names = set(re.findall(r"`(test_[a-z0-9_*]+)(?:\.py)?`", section))
    files = sorted(p.stem for p in (REPO / "tests").glob("test_*.py"))
    missing = [f for f in files if not any(fnmatch.fnmatch(f, n) for n in names)]
    assert not missing, f"test files neither run in the VM nor left out with a reason: {missing}"
    stale = [n for n in names if not any(fnmatch.fnmatch(f, n) for f in files)]
    assert not stale, f"docs/reliability.md names test files that do not exist: {stale}"
    table = section[: section.index("Every other test file is left out")]
    listed = (REPO / "tests" / "vm" / "subset.txt").read_text().split("\n")
    subset = {Path(line).stem for line in listed if line and not line.startswith("#")}
    assert set(re.findall(r"`(test_[a-z0-9_]+)\.py`", table)) == subset
