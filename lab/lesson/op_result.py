"""What an operation returns, and the two things every operation module shares.

Kept apart from ``operations`` (the registry, which imports every operation
module) so the operation modules need not import the registry back.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass
class OpResult:
    summary: str  # a few lines shown as the operation's output
    data: Any  # typed data for views


def result(summary: str, data: Any) -> OpResult:
    return OpResult(summary, data)


def set_out(ctx: Any, value: str) -> None:
    """Give the step a value for ``{{out.STEP}}``, as a `run` does with its stdout."""
    vars_ = getattr(ctx, "vars", None)
    if vars_ is not None and getattr(ctx, "step_id", ""):
        vars_.outs[ctx.step_id] = value


def strs(v: Any) -> list[str]:
    """A list parameter as strings (none given: an empty list)."""
    return [str(x) for x in v or []]


def kb(n: float) -> str:
    """A size for an operation's summary line."""
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    return f"{n / 1e3:.1f} kB"
