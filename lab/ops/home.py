"""The lab's home: where everything the lab creates lives, and path checks."""

from __future__ import annotations

import os
from pathlib import Path

from lab.errors import PathOutsideHome

DEFAULT_ROOT_HOME = Path("/var/lib/shikumi")


def home_dir() -> Path:
    """$SHIKUMI_HOME, else /var/lib/shikumi as root, else the user's data dir."""
    env = os.environ.get("SHIKUMI_HOME")
    if env:
        return Path(env).expanduser().absolute()
    if os.geteuid() == 0:
        return DEFAULT_ROOT_HOME
    data = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(data) / "shikumi"


def ensure_home(home: Path | None = None) -> Path:
    """Create the home (0755, never world-writable) and return its real path."""
    home = home or home_dir()
    home.mkdir(parents=True, exist_ok=True, mode=0o755)
    st = home.stat()
    if st.st_mode & 0o002:
        os.chmod(home, st.st_mode & ~0o002)
    return home.resolve()


def is_inside(path: str | os.PathLike[str], home: str | os.PathLike[str]) -> bool:
    """True if *path* names something strictly inside *home*.

    The parent directory is resolved (so `..` and symlinked parents cannot
    escape); the last component is not followed, so a symlink inside the home
    that points outside is itself inside (removing it removes only the link).
    """
    p = Path(os.path.abspath(os.fspath(path)))
    if p.name in ("", ".", ".."):
        return False
    real_home = Path(os.path.realpath(home))
    parent = Path(os.path.realpath(p.parent))
    candidate = parent / p.name
    return candidate != real_home and real_home in candidate.parents


def require_inside(path: str | os.PathLike[str], home: str | os.PathLike[str]) -> Path:
    if not is_inside(path, home):
        raise PathOutsideHome(
            f"refusing {os.fspath(path)!r}: it is not inside the lab home {os.fspath(home)}"
        )
    return Path(os.path.abspath(os.fspath(path)))
