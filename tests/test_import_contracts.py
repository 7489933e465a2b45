"""The house's rules, checked: the import-linter contracts in pyproject.toml
(rooms layered, Textual only under lab.tui, no import cycles) and no module over
400 lines (docs/architecture.md)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def test_import_contracts_hold() -> None:
    exe = shutil.which("lint-imports") or str(Path(sys.executable).parent / "lint-imports")
    if not Path(exe).exists():
        pytest.skip("import-linter is not installed (pip install -e '.[test]')")
    r = subprocess.run([exe, "--no-cache"], cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr[-2000:]
    assert "3 kept, 0 broken" in r.stdout, r.stdout[-2000:]


def test_no_module_is_over_400_lines() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in sorted((ROOT / "lab").rglob("*.py"))
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > MAX_LINES
    }
    assert not long, f"modules over {MAX_LINES} lines (split them by what they hold): {long}"


def test_every_room_is_a_package() -> None:
    """import-linter sees a room only if it is a package with an __init__.py."""
    for room in (
        "safety",
        "host",
        "doctor",
        "ops",
        "ops/image",
        "lesson",
        "views",
        "tui",
        "commands",
    ):
        assert (ROOT / "lab" / room / "__init__.py").is_file(), room
