"""Sizes as views print them (decimal units, as `docker images` does: 1 kB = 1000 B)."""

from __future__ import annotations

from rich.filesize import decimal


def size_text(n: int) -> str:
    """``512 B``, ``2.0 kB``, ``5.8 MB``, ``1.2 GB`` (rich.filesize, one decimal)."""
    if n < 1000:
        return f"{n} B"  # rich says "bytes"; the views' columns keep the short unit
    return decimal(n, precision=1)
