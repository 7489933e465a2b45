"""`op expect` notes Docker images a learner will make by hand (`docker commit`, `import`,
`load`, `build`) before they exist, so cleanup removes them by name."""

from __future__ import annotations

from pathlib import Path

import pytest

from lab.errors import LabError
from lab.lesson import operations
from lab.safety.journal import Journal


def test_expect_journals_images_and_containers(tmp_path: Path) -> None:
    op = operations.get("expect")
    p = {"docker": ["shikumi-l12-box"], "images": ["shikumi-l12:v2", "shikumi-l12-flat"]}
    assert "docker image shikumi-l12:v2" in op.describe(p)
    with Journal.open(tmp_path / "home") as j:
        res = op.run(None, j, p)
        kinds = sorted((e.kind, e.target) for e in j.active)
        assert kinds == [
            ("docker-container", "shikumi-l12-box"),
            ("docker-image", "shikumi-l12-flat"),
            ("docker-image", "shikumi-l12:v2"),
        ]
        assert res.summary.startswith("3 thing(s)")
        for e in j.active:  # nothing to remove here: the journal only forgets them
            j.release(e)


def test_expect_refuses_an_image_the_lab_does_not_name(tmp_path: Path) -> None:
    with Journal.open(tmp_path / "home") as j, pytest.raises(LabError):
        operations.get("expect").run(None, j, {"images": ["alpine"]})
