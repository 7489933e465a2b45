"""What the linter checks names against: views, check kinds, requirements.

The real lists live with their owners — ``lab.views`` (``names()``,
``params(name)``), ``lab.lesson.checks`` (``KINDS``, ``spec(kind)``) and
``lab.ops.doctor.requirement_names()``. ``Registry.default()`` reads them; a
missing one is ``None`` and that part of the lesson goes unchecked. Tests pass a
fixed ``Registry`` to lint against.

A parameter spec may be given as ``{name: type}``, ``{name: (type, required)}``,
``{name: (type1, type2)}`` (isinstance style), ``X | None`` (optional), a
``Literal[...]``, ``list[str]``, a dataclass or a function signature; ``Param``
is the one form the linter uses.
"""

from __future__ import annotations

import dataclasses
import inspect
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class Param:
    types: tuple[type, ...] = ()  # accepted types; () = anything
    required: bool = False
    choices: tuple[Any, ...] = ()  # a Literal's values
    items: tuple[type, ...] = ()  # element types of a list

    def describe(self) -> str:
        if self.choices:
            return "one of " + ", ".join(repr(c) for c in self.choices)
        names = [_TYPE_WORDS.get(t, t.__name__) for t in self.types if t is not type(None)]
        return " or ".join(dict.fromkeys(names)) or "anything"

    def problem(self, value: Any) -> str:
        """'' if *value* fits, else what it should be."""
        if self.choices:
            return "" if value in self.choices else f"should be {self.describe()}"
        if not self.types:
            return ""
        ok = any(_fits(value, t) for t in self.types)
        if ok and isinstance(value, list) and self.items:
            ok = all(any(_fits(v, t) for t in self.items) for v in value)
            if not ok:
                words = " or ".join(_PLURAL.get(t, t.__name__) for t in self.items)
                return f"should be a list of {words}"
        return (
            ""
            if ok
            else f"should be {self.describe()}, not {_TYPE_WORDS.get(type(value), type(value).__name__)}"
        )


_TYPE_WORDS: dict[type, str] = {
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "true or false",
    list: "a list",
    dict: "a table",
}

_PLURAL: dict[type, str] = {
    str: "strings",
    int: "integers",
    float: "numbers",
    bool: "true/false values",
    list: "lists",
    dict: "tables",
}


def _fits(value: Any, t: type) -> bool:
    if isinstance(value, bool) and t is not bool:
        return t is object
    if t is float:
        return isinstance(value, int | float)
    try:
        return isinstance(value, t)
    except TypeError:
        return True


def param_from(annotation: Any, required: bool = True) -> Param:
    """A ``Param`` from a type annotation or an isinstance-style tuple."""
    if isinstance(annotation, Param):
        return annotation
    if annotation is None or annotation is Any or annotation is inspect.Parameter.empty:
        return Param((), required)
    if isinstance(annotation, tuple):
        if len(annotation) == 2 and isinstance(annotation[1], bool):
            return param_from(annotation[0], annotation[1])
        parts = [param_from(a, required) for a in annotation]
        return Param(tuple(t for p in parts for t in p.types), required)
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin in (typing.Union, types.UnionType):
        optional = type(None) in args
        parts = [param_from(a) for a in args if a is not type(None)]
        flat = tuple(t for p in parts for t in p.types)
        items = tuple(t for p in parts for t in p.items)
        return Param(flat, required and not optional, items=items)
    if origin is typing.Literal:
        return Param((), required, choices=args)
    if origin in (list, tuple, set):
        items = tuple(t for a in args if a is not Ellipsis for t in param_from(a).types)
        return Param((list,), required, items=items)
    if origin is dict:
        return Param((dict,), required)
    if isinstance(annotation, type):
        return Param((annotation,), required)
    return Param((), required)


def spec_from(obj: Any) -> dict[str, Param]:
    """``{name: Param}`` from any of the spec forms in the module docstring."""
    if obj is None:
        return {}
    if hasattr(obj, "params") and not isinstance(obj, dict) and not callable(obj.params):
        return spec_from(obj.params)
    if isinstance(obj, dict):
        return {str(k): param_from(v) for k, v in obj.items()}
    if dataclasses.is_dataclass(obj) and isinstance(obj, type):
        hints = _hints(obj)
        out = {}
        for f in dataclasses.fields(obj):
            has_default = (
                f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING
            )
            out[f.name] = param_from(hints.get(f.name, Any), not has_default)
        return out
    if callable(obj):
        try:
            sig = inspect.signature(obj)
        except (TypeError, ValueError):
            return {}
        hints = _hints(obj)
        return {
            n: param_from(hints.get(n, p.annotation), p.default is inspect.Parameter.empty)
            for n, p in sig.parameters.items()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        }
    return {}


def _hints(obj: Any) -> dict[str, Any]:
    try:
        return typing.get_type_hints(obj)
    except Exception:
        return {}


@dataclass
class Registry:
    views: dict[str, dict[str, Param]] | None = None  # None: not known, not checked
    checks: dict[str, dict[str, Param]] | None = None
    ops: dict[str, dict[str, Param]] | None = None
    requirements: set[str] | None = None
    one_of: dict[str, tuple[str, ...]] = field(default_factory=dict)  # check kind -> at least one

    @classmethod
    def default(cls) -> Registry:
        return cls(_views(), _checks(), _ops(), _requirements(), _one_of())


def _guard(fn: Callable[[], Any]) -> Any:
    try:
        return fn()
    except Exception:  # an owner module missing or broken: that part goes unchecked
        return None


def _views() -> dict[str, dict[str, Param]] | None:
    def read() -> dict[str, dict[str, Param]]:
        import lab.views as views

        return {n: spec_from(views.params(n)) for n in sorted(views.names())}

    return _guard(read)


def _checks() -> dict[str, dict[str, Param]] | None:
    def read() -> dict[str, dict[str, Param]]:
        from lab.lesson import checks

        spec = getattr(checks, "spec", None)
        return {k: spec_from(spec(k) if spec else v) for k, v in checks.KINDS.items()}

    return _guard(read)


def _ops() -> dict[str, dict[str, Param]] | None:
    def read() -> dict[str, dict[str, Param]]:
        from lab.lesson import operations

        return {n: spec_from(operations.params(n)) for n in sorted(operations.names())}

    return _guard(read)


def _one_of() -> dict[str, tuple[str, ...]]:
    def read() -> dict[str, tuple[str, ...]]:
        from lab.lesson import checks

        return dict(getattr(checks, "ONE_OF", {}))

    return _guard(read) or {}


def _requirements() -> set[str] | None:
    def read() -> set[str]:
        from lab.ops.doctor import requirement_names

        return set(requirement_names())

    return _guard(read)
