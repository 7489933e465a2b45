"""What the linter checks names against: views, check kinds, requirements.

The real lists live with their owners — ``lab.views`` (``names()``,
``params(name)``), ``lab.lesson.checks`` (``KINDS``, ``spec(kind)``) and
``lab.doctor.doctor.requirement_names()``. ``Registry.default()`` reads them; one
that cannot be read (its module fails to import, or raises) is ``None`` and that
part of the lesson goes unchecked — and the failure is in ``Registry.errors``,
which the linter reports as an error naming the module and the exception, so
`shikumi check` never passes over a broken module. Tests pass a fixed
``Registry`` to lint against.

A parameter spec may be given as ``{name: type}``, ``{name: (type, required)}``,
``{name: (type1, type2)}`` (isinstance style), ``X | None`` (optional), a
``Literal[...]``, ``list[str]``, a dataclass or a function signature; ``Param``
is the one form the linter uses.
"""

from __future__ import annotations

import dataclasses
import inspect
import traceback
import types
import typing
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
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
    errors: list[RegistryError] = field(default_factory=list)  # owners that could not be read

    @classmethod
    def default(cls) -> Registry:
        errors: list[RegistryError] = []
        return cls(
            _guard(_views, "views", errors),
            _guard(_checks, "check kinds", errors),
            _guard(_ops, "operations", errors),
            _guard(_requirements, "requirements", errors),
            _guard(_one_of, "check kinds", errors) or {},
            errors,
        )


@dataclass(frozen=True)
class RegistryError:
    """An owner module that failed: where (file and line, as well as known) and why."""

    what: str  # what goes unchecked: "views", "operations", ...
    module: str  # the module that failed, e.g. lab.views.tree
    path: Path  # its file (or the package's, when unknown)
    line: int
    error: str  # "SyntaxError: invalid syntax"

    @property
    def message(self) -> str:
        return (
            f"cannot lint lesson {self.what}: module {self.module} failed to import: {self.error}"
        )


_LAB_DIR = Path(__file__).resolve().parent.parent  # the lab package


def _module_of(path: Path) -> str:
    try:
        rel = path.resolve().relative_to(_LAB_DIR.parent)
    except ValueError:
        return path.stem
    parts = list(rel.with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _culprit(e: BaseException) -> tuple[str, Path, int]:
    """The module that failed, its file and line: a syntax error's own file; an import
    of a missing module names that module; else the innermost frame in the lab."""
    if isinstance(e, SyntaxError) and e.filename:
        path = Path(e.filename)
        return _module_of(path), path, int(e.lineno or 1)
    frames = [
        f
        for f in traceback.extract_tb(e.__traceback__)
        if Path(f.filename).resolve().is_relative_to(_LAB_DIR)
        and Path(f.filename).resolve() != Path(__file__).resolve()
    ]
    if frames:
        f = frames[-1]
        path = Path(f.filename)
        if isinstance(e, ModuleNotFoundError) and e.name:
            return e.name, path, int(f.lineno or 1)
        return _module_of(path), path, int(f.lineno or 1)
    name = getattr(e, "name", None) or "lab"
    return str(name), _LAB_DIR / "__init__.py", 1


def _guard(fn: Callable[[], Any], what: str, errors: list[RegistryError]) -> Any:
    try:
        return fn()
    except Exception as e:  # an owner module broken: that part goes unchecked, said loudly
        module, path, line = _culprit(e)
        err = RegistryError(what, module, path, line, f"{type(e).__name__}: {e}")
        if err not in errors:
            errors.append(err)
        return None


def _views() -> dict[str, dict[str, Param]]:
    import lab.views as views

    return {n: spec_from(views.params(n)) for n in sorted(views.names())}


def _checks() -> dict[str, dict[str, Param]]:
    from lab.lesson import checks

    spec = getattr(checks, "spec", None)
    return {k: spec_from(spec(k) if spec else v) for k, v in checks.KINDS.items()}


def _ops() -> dict[str, dict[str, Param]]:
    from lab.lesson import operations

    return {n: spec_from(operations.params(n)) for n in sorted(operations.names())}


def _one_of() -> dict[str, tuple[str, ...]]:
    from lab.lesson import checks

    return dict(getattr(checks, "ONE_OF", {}))


def _requirements() -> set[str]:
    from lab.doctor.doctor import requirement_names

    return set(requirement_names())
