"""A view, check or operation module that fails to import is a lint error naming the
module and the exception — never a part of the lessons silently left unchecked."""

from __future__ import annotations

import importlib
import subprocess
import sys
from pathlib import Path

import pytest

import lab.views
from lab.lesson import catalog
from lab.lesson.lint import lint
from lab.lesson.lint_registry import Registry
from tests.support import REPO


def test_the_real_registry_reads_without_errors() -> None:
    reg = Registry.default()
    assert reg.errors == []
    assert reg.views and reg.checks and reg.ops and reg.requirements


def test_a_module_with_a_syntax_error_is_a_lint_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "shk_broken_view.py").write_text("x = 1\ndef broken(:\n    pass\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    monkeypatch.delitem(sys.modules, "shk_broken_view", raising=False)

    def names() -> list[str]:  # as if lab.views imported a view module that is broken
        importlib.import_module("shk_broken_view")
        return []

    monkeypatch.setattr(lab.views, "names", names)
    reg = Registry.default()
    assert reg.views is None  # that part cannot be checked ...
    assert [e.module for e in reg.errors] == ["shk_broken_view"]
    err = reg.errors[0]
    assert err.path == tmp_path / "shk_broken_view.py" and err.line == 2
    assert err.error.startswith("SyntaxError")
    problems = lint(catalog.find()[:1], reg)  # ... and the linter says so
    mine = [p for p in problems if p.path == err.path]
    assert len(mine) == 1 and mine[0].severity == "error"
    assert "shk_broken_view" in mine[0].message and "SyntaxError" in mine[0].message
    assert str(mine[0]).startswith(f"{err.path}:2: cannot lint lesson views")


def test_a_missing_module_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    from lab.lesson import operations

    def names() -> list[str]:  # as if an operation module imported a module not installed
        importlib.import_module("shk_no_such_module")
        return []

    monkeypatch.setattr(operations, "names", names)
    reg = Registry.default()
    assert reg.ops is None and reg.views is not None
    assert len(reg.errors) == 1
    e = reg.errors[0]
    assert (e.what, e.module) == ("operations", "shk_no_such_module")
    assert e.error == "ModuleNotFoundError: No module named 'shk_no_such_module'"


def test_shikumi_check_fails_when_a_view_module_cannot_be_imported() -> None:
    code = (
        "import sys; sys.modules['lab.views'] = None\n"  # `import lab.views` now fails
        "from lab.cli import main; raise SystemExit(main(['check']))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, timeout=120
    )
    assert r.returncode == 1, r.stdout + r.stderr
    lines = [ln for ln in r.stdout.splitlines() if "cannot lint lesson views" in ln]
    assert len(lines) == 1, r.stdout
    assert "module lab.views failed to import: ModuleNotFoundError" in lines[0]
    assert "Traceback" not in r.stdout + r.stderr
