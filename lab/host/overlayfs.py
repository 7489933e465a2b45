"""How overlayfs marks a deletion on disk, read back: a whiteout is a character
device 0/0, an opaque directory carries the xattr trusted.overlay.opaque=y; and a
walk of a directory (an upper layer) in a stable order."""

from __future__ import annotations

import os
import stat
from collections.abc import Iterable
from pathlib import Path

OPAQUE_XATTR = "trusted.overlay.opaque"


def is_whiteout(st: os.stat_result) -> bool:
    return stat.S_ISCHR(st.st_mode) and st.st_rdev == 0


def is_opaque(path: str | os.PathLike[str]) -> bool:
    try:
        return os.getxattr(path, OPAQUE_XATTR, follow_symlinks=False) == b"y"
    except OSError:
        return False


def _walk_sub(root: Path, rel: str) -> Iterable[tuple[str, os.stat_result]]:
    for name in sorted(os.listdir(root / rel)):
        child = f"{rel}/{name}"
        st = os.lstat(root / child)
        yield child, st
        if stat.S_ISDIR(st.st_mode):
            yield from _walk_sub(root, child)


def walk(root: Path) -> list[tuple[str, os.stat_result]]:
    """Every entry under *root*, sorted, each directory before what it holds."""
    out: list[tuple[str, os.stat_result]] = []
    for name in sorted(os.listdir(root)):
        st = os.lstat(root / name)
        out.append((name, st))
        if stat.S_ISDIR(st.st_mode):
            out.extend(_walk_sub(root, name))
    return out
