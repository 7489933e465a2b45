"""Views: visualisations a lesson names in a ```view NAME block.

A view module has ``PARAMS`` (``{param: (type, required)}``), a pure
``collect(ctx, **params) -> <dataclass>`` and ``render(data, lang="en")`` giving
a Rich renderable. The app wraps ``render()`` output in its own widget; nothing
here imports Textual.

``ctx`` is a ``lab.lesson.context.Context``: ``ctx.pid(spec)`` (a number,
"self", "host" or a spawned name), ``ctx.run(command, in_name, timeout)`` (a
short command, through the journal), ``ctx.output(step_id, stream)`` (an
earlier step's output). Parameters arrive with variables already filled in.
"""

from __future__ import annotations

import importlib
from types import ModuleType
from typing import Any

from lab.errors import LabError

_BUILTIN = (
    "output",
    "table",
    "tree",
    "trees",
    "diff",
    "proctree",
    "compare",
    "nsinodes",
    "lddtree",
    "fstypes",
    "rootfs",
    "statuscompare",
    "netdiagram",
    "cgusage",
    "speedbars",
    "escape",
    "overlay",
    "layers",
    "savexport",
)
_registry: dict[str, ModuleType | str] = {n: f"lab.views.{n}" for n in _BUILTIN}


class UnknownView(LabError):
    pass


def register(name: str, module: ModuleType | str) -> None:
    """Register a view module (or its import path, imported on first use) as *name*."""
    _registry[name] = module


def names() -> set[str]:
    return set(_registry)


def get(name: str) -> ModuleType:
    entry = _registry.get(name)
    if entry is None:
        raise UnknownView(f"unknown view {name!r} (known: {', '.join(sorted(_registry))})")
    if isinstance(entry, str):
        entry = importlib.import_module(entry)
        _registry[name] = entry
    return entry


def params(name: str) -> dict[str, tuple[Any, bool]]:
    """``{param: (type, required)}`` of view *name*."""
    return dict(get(name).PARAMS)
