"""Record real step results for the lesson screen's snapshot tests (tests/test_app_layout.py).

Runs lessons 05, 09 and 14 on this machine up to the steps the snapshots show, with
the real runner, and writes each step's result (commands, output, views' data, checks)
as JSON beside this file. Run it again (as root, under the kernel lock) when a view's
data class changes:

    flock /tmp/shikumi-kernel.lock python tests/steps/record.py

The snapshots then show real output without depending on the machine they run on.
"""

from __future__ import annotations

import dataclasses
import importlib
import json
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
STEPS = {"05-libraries": 5, "09-namespace-inodes": 4, "14-volumes": 6}  # lesson: step (1-based)


def encode(value: Any) -> Any:
    """JSON for a result: dataclasses tagged with their class, so ``decode`` rebuilds them."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        cls = type(value)
        fields = {f.name: encode(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"__class__": f"{cls.__module__}.{cls.__qualname__}", **fields}
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if isinstance(value, set | frozenset):
        return {"__set__": sorted((encode(v) for v in value), key=repr)}
    if isinstance(value, tuple):
        return {"__tuple__": [encode(v) for v in value]}
    if isinstance(value, list):
        return [encode(v) for v in value]
    if isinstance(value, Path):
        return {"__path__": str(value)}
    return value


def decode(value: Any) -> Any:
    if isinstance(value, dict):
        if "__class__" in value:
            module, _, name = value["__class__"].rpartition(".")
            cls = getattr(importlib.import_module(module), name)
            fields = {k: decode(v) for k, v in value.items() if k != "__class__"}
            return cls(**fields)
        if "__set__" in value:
            return {decode(v) for v in value["__set__"]}
        if "__tuple__" in value:
            return tuple(decode(v) for v in value["__tuple__"])
        if "__path__" in value:
            return Path(value["__path__"])
        return {k: decode(v) for k, v in value.items()}
    if isinstance(value, list):
        return [decode(v) for v in value]
    return value


def load(lesson_id: str) -> Any:
    """The recorded StepResult of *lesson_id*'s step."""
    return decode(json.loads((HERE / f"{lesson_id}.json").read_text()))


def record() -> None:
    sys.path.insert(0, str(REPO))
    from lab.tui import engine

    home = Path(tempfile.mkdtemp(prefix="shk-record-"))
    checks = engine.doctor_checks(home)
    for lesson_id, number in STEPS.items():
        lesson, problems = engine.load(REPO / "lessons" / lesson_id, "en")
        assert lesson is not None and not problems, problems
        session = engine.Session(lesson, home, "en", lambda _e: None, checks)
        try:
            for i in range(number):
                step = lesson.steps[i]
                with_solution = i < number - 1 and bool(step.of("try"))
                result = session.runner.run_step(i, solution=with_solution)
                print(lesson_id, i + 1, step.id, result.status, result.reason[:80])
            (HERE / f"{lesson_id}.json").write_text(json.dumps(encode(result), indent=1) + "\n")
        finally:
            session.close()
    shutil.rmtree(home, ignore_errors=True)  # our own temporary home, cleaned up by close()


if __name__ == "__main__":
    record()
