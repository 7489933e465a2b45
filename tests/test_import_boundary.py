"""lab.ops and lab.lesson never pull in Textual (the design's layer rule)."""

from __future__ import annotations

import pkgutil
import subprocess
import sys

import lab.lesson
import lab.ops


def _modules(pkg: object) -> list[str]:
    return [m.name for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + ".")]  # type: ignore[attr-defined]


def test_ops_and_lesson_import_no_textual() -> None:
    names = ["lab.ops", "lab.lesson", *_modules(lab.ops), *_modules(lab.lesson)]
    code = (
        "import importlib, sys\n"
        f"for n in {names!r}: importlib.import_module(n)\n"
        "bad = sorted(m for m in sys.modules if m == 'textual' or m.startswith('textual.'))\n"
        "print(len(sys.modules)); raise SystemExit(1 if bad else 0)\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, f"textual imported by lab.ops / lab.lesson: {r.stdout}{r.stderr}"
    assert len(names) >= 5, names  # the walk really found the modules
