"""Sizes as views print them (decimal units, as `docker images` does)."""

from __future__ import annotations


def size_text(n: int) -> str:
    if n >= 1e6:
        return f"{n / 1e6:.1f} MB"
    if n >= 1e3:
        return f"{n / 1e3:.1f} kB"
    return f"{n} B"
