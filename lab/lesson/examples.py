"""A text that a check's pattern matches: what a learner would type to fool it.

``example(pattern)`` builds one string the regular expression matches (literals
kept, classes and categories replaced by a character of theirs, repeats at their
minimum, the first branch of an alternation), or "" when it cannot. The solve gate
types these at the try's prompt (as a comment, and echoed) to prove that no try
passes on the keyboard alone.
"""

from __future__ import annotations

import re
from typing import Any

try:  # Python 3.11+: the parser module was renamed
    import re._parser as _sre  # type: ignore[import-not-found]
except ImportError:  # pragma: no cover
    import sre_parse as _sre  # type: ignore[no-redef]

_C = _sre  # opcodes live on the parser module's constants
_CATEGORY = {
    "CATEGORY_DIGIT": "1",
    "CATEGORY_NOT_DIGIT": "x",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "x",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
}


def _one_of(items: list[tuple[Any, Any]]) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    if negate:  # a character the class does not hold
        banned = {chr(v) for op, v in items if str(op) == "LITERAL"}
        return next(c for c in "xyz0-_ " if c not in banned)
    for op, v in items:
        name = str(op)
        if name == "LITERAL":
            return chr(v)
        if name == "RANGE":
            return chr(v[0])
        if name == "CATEGORY":
            return _CATEGORY.get(str(v), "x")
    return "x"


def _build(tokens: Any, depth: int = 0) -> str:
    if depth > 20:
        raise ValueError("too deep")
    out = []
    for op, v in tokens:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(v))
        elif name == "NOT_LITERAL":
            out.append("x" if chr(v) != "x" else "y")
        elif name == "ANY":
            out.append("x")
        elif name == "IN":
            out.append(_one_of(v))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            lo, _hi, sub = v
            out.append(_build(sub, depth + 1) * max(lo, 1 if lo else 0))
        elif name == "SUBPATTERN":
            out.append(_build(v[-1], depth + 1))
        elif name == "BRANCH":
            out.append(_build(v[1][0], depth + 1))
        elif name == "AT":
            continue
        elif name == "ATOMIC_GROUP":
            out.append(_build(v, depth + 1))
        elif name in ("ASSERT", "ASSERT_NOT", "GROUPREF", "GROUPREF_EXISTS"):
            raise ValueError(f"cannot build {name}")
        else:
            raise ValueError(f"cannot build {name}")
    return "".join(out)


def example(pattern: str) -> str:
    """One line the pattern matches (searched with re.MULTILINE), or "" if none was found."""
    try:
        text = _build(_sre.parse(pattern))
    except (ValueError, re.error, StopIteration, TypeError, IndexError):
        return ""
    try:
        ok = re.search(pattern, text, re.MULTILINE) is not None
    except re.error:
        return ""
    return text if ok and "\n" not in text else ""
