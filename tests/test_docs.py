"""docs/authoring.md names every action, operation, view and check kind the engine has."""

from __future__ import annotations

from lab import views
from lab.lesson import checks, operations
from lab.lesson.model import ACTION_KINDS
from tests.support import REPO

DOC = (REPO / "docs" / "authoring.md").read_text()


def test_authoring_guide_lists_everything() -> None:
    missing = [f"action {k}" for k in ACTION_KINDS if f"`{k}`" not in DOC]
    missing += [f"operation {n}" for n in sorted(operations.names()) if f"| `{n}` |" not in DOC]
    missing += [f"view {n}" for n in sorted(views.names()) if f"| `{n}` |" not in DOC]
    missing += [f"check {n}" for n in sorted(checks.KINDS) if f"| `{n}` |" not in DOC]
    assert missing == [], "docs/authoring.md does not describe: " + ", ".join(missing)
